"""Domain errors, and the one place each for turning them into HTML and JSON."""

import logging
import time

from flask import jsonify, render_template, request
from flask_limiter.errors import RateLimitExceeded
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from mobilize.extensions import limiter

log = logging.getLogger(__name__)


def retry_after() -> dict[str, str]:
    """Retry-After for a 429: when the breached limit's window ends (X-RateLimit-* headers are off)."""
    limit = limiter.current_limit
    try:
        return {"Retry-After": str(max(1, limit.reset_at - int(time.time())))} if limit else {}
    except Exception:  # noqa: BLE001 - the limit store went away since the hit: a 429 without the hint
        log.warning("could not read the rate limit's window", exc_info=True)
        return {}


class DomainError(Exception):
    status = 400
    code = "invalid"

    def __init__(self, message: str, fields: dict[str, str] | None = None):
        super().__init__(message)
        self.message = message
        self.fields = fields or {}


class Invalid(DomainError):
    status = 422
    code = "invalid"


class NotFound(DomainError):
    status = 404
    code = "not_found"


class Forbidden(DomainError):
    status = 403
    code = "forbidden"


class Conflict(DomainError):
    status = 409
    code = "conflict"


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def error_response(status: int, code: str, message: str, fields: dict | None = None, headers=None):
    if wants_json():
        body = {"error": {"code": code, "message": message}}
        if fields:
            body["error"]["fields"] = fields
        response = jsonify(body)
    else:
        response = render_template("errors/error.html", status=status, message=message, fields=fields or {})
    return response, status, headers or {}


HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    429: "rate_limited",
}


def register_error_handlers(app) -> None:
    @app.errorhandler(DomainError)
    def domain_error(error: DomainError):
        return error_response(error.status, error.code, error.message, error.fields)

    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError):
        message = "The form expired or was not sent from this site. Reload the page and try again."
        return error_response(400, "csrf", message)

    @app.errorhandler(RateLimitExceeded)
    def rate_limited(error: RateLimitExceeded):
        message = "Too many requests from your connection. Please wait a minute and try again."
        return error_response(429, "rate_limited", message, headers=retry_after())

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        status = error.code or 500
        messages = {
            404: "We could not find that page.",
            413: "What you sent is too large.",
        }
        message = messages.get(status, error.description)
        return error_response(status, HTTP_CODES.get(status, "error"), message)

    @app.errorhandler(Exception)
    def unexpected(error: Exception):
        if isinstance(error, HTTPException):
            return http_error(error)
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(500, "server_error", "Something went wrong on our side. It has been logged.")
