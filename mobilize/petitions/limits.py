"""Rate limits on signing (Flask-Limiter, on Redis in production), shared by the page and the widget.

Two limits: per IP address per petition, and one for all signing together so
a flood cannot take the database down. Both are read from the config on each
request (PETITION_SIGN_RATE_LIMIT, PETITION_SIGN_GLOBAL_RATE_LIMIT).
"""

from flask import current_app, request
from flask_limiter.util import get_remote_address

from mobilize.extensions import limiter

PER_IP_MESSAGE = ("Too many signatures from your connection in a short time. "
                  "Please wait a few minutes, then try again.")
GLOBAL_MESSAGE = ("So many people are signing right now that we need a moment to catch up. "
                  "Please try again in a minute: your signature matters.")


def _ip_and_petition() -> str:
    petition = request.view_args.get("slug") or request.view_args.get("petition_id")
    return f"{get_remote_address()}|{petition}"


def _everyone() -> str:
    return "all"


def sign_limits():
    """Both limits, on POST, for a view that signs."""

    def decorator(view):
        view = limiter.shared_limit(lambda: current_app.config["PETITION_SIGN_RATE_LIMIT"], "petition-sign-ip",
                                    key_func=_ip_and_petition, methods=["POST"], error_message=PER_IP_MESSAGE)(view)
        return limiter.shared_limit(lambda: current_app.config["PETITION_SIGN_GLOBAL_RATE_LIMIT"], "petition-sign",
                                    key_func=_everyone, methods=["POST"], error_message=GLOBAL_MESSAGE)(view)

    return decorator
