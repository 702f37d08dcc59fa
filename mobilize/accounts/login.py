"""Who is acting, as accounts knows them: the organizer of a session (Flask-Login) or of an API token.

Imported with the package (accounts/__init__.py), so every app that has accounts has its user loader.
"""

from flask import request

from mobilize.accounts.services import user_for_session, user_for_token
from mobilize.extensions import login_manager

TOKEN_HEADER = "OSDI-API-Token"

login_manager.user_loader(user_for_session)
login_manager.login_view = "accounts.login"
login_manager.login_message = "Log in to continue."
login_manager.login_message_category = "info"
login_manager.session_protection = "strong"


def api_user():
    """The organizer whose token came with this API request, or None."""
    raw = request.headers.get(TOKEN_HEADER, "").strip()
    return user_for_token(raw) if raw else None
