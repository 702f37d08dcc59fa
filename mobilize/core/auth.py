"""Who is acting: the logged-in organizer (session) or an API token."""

from flask import request
from flask_login import current_user

from mobilize.extensions import login_manager

TOKEN_HEADER = "OSDI-API-Token"


@login_manager.user_loader
def load_user(session_id: str):
    from mobilize.accounts.services import user_for_session

    return user_for_session(session_id)


login_manager.login_view = "accounts.login"
login_manager.login_message = "Log in to continue."
login_manager.login_message_category = "info"
login_manager.session_protection = "strong"


def current_user_id() -> int | None:
    """The organizer's id for service calls, or None for a supporter."""
    return current_user.id if current_user.is_authenticated else None


def api_user():
    """The organizer whose token came with this API request, or None."""
    from mobilize.accounts.services import user_for_token

    raw = request.headers.get(TOKEN_HEADER, "").strip()
    return user_for_token(raw) if raw else None
