"""Site administrators: the people who run the whole site, beyond any one organization."""

from sqlalchemy import select

from mobilize.accounts.models import User
from mobilize.core.errors import Forbidden, NotFound
from mobilize.core.transaction import unit_of_work
from mobilize.extensions import db


def require_site_admin(user_id: int | None) -> User:
    """The user, if they run the site; Forbidden otherwise."""
    user = db.session.get(User, user_id) if user_id is not None else None
    if user is None or not user.active or not user.is_site_admin:
        raise Forbidden("Only the site's administrators may see this page.")
    return user


def set_site_admin(email: str, value: bool = True) -> User:
    """Make an organizer a site administrator, or stop them being one (from the command line)."""
    user = db.session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise NotFound(f"No organizer with the email {email}.")
    with unit_of_work():
        user.is_site_admin = value
    return user
