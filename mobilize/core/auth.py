"""Who is acting, for service calls: the logged-in organizer's id (accounts.login loads them)."""

from flask_login import current_user


def current_user_id() -> int | None:
    """The organizer's id for service calls, or None for a supporter."""
    return current_user.id if current_user.is_authenticated else None
