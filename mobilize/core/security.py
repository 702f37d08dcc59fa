"""Security headers on every response."""

from flask import Flask, g

CSP = (
    "default-src 'self'; img-src 'self' https: data:; style-src 'self'; script-src 'self'; "
    "form-action 'self'; base-uri 'self'; object-src 'none'; frame-ancestors {ancestors}"
)


def embeddable() -> None:
    """Let the current response be framed by other sites (embed widgets)."""
    g.embeddable = True


def register_security_headers(app: Flask) -> None:
    production = app.config.get("SESSION_COOKIE_SECURE", False)

    @app.after_request
    def headers(response):
        framed = g.get("embeddable", False)
        response.headers.setdefault("Content-Security-Policy", CSP.format(ancestors="*" if framed else "'none'"))
        if not framed:
            response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        if production:
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        return response
