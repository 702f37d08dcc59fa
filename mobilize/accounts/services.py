"""Organizer accounts, organizations, memberships and API tokens.

Every feature asks ``require_member`` before touching an organization's data:
authorization lives here, not in views.

Nothing a stranger can do here tells whether an email has an account: sign-up
answers the same and mails the address, log-in fails and is throttled the same
(see ``throttle``), and a reset link is mailed only to the address itself.
"""

import hashlib
import hmac
import math
import secrets
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from mobilize.accounts import throttle
from mobilize.accounts.models import ROLES, ApiToken, Membership, Organization, User, password_fingerprint
from mobilize.core.errors import Conflict, DomainError, Forbidden, Invalid, NotFound
from mobilize.core.mail import queue_mail
from mobilize.core.models import utcnow
from mobilize.core.text import slugify
from mobilize.core.transaction import unit_of_work
from mobilize.core.zones import zone
from mobilize.extensions import db

hasher = PasswordHasher()
MIN_PASSWORD = 10
TOKEN_PREFIX = "mbz_"
SIGN_UP_MAX_AGE = 24 * 3600  # seconds a sign-up link works; its mail says a day
# Verified against when the email is unknown, so timing does not tell who has an account.
_DUMMY_HASH = hasher.hash("not-a-real-password")


class TooManyAttempts(DomainError):
    """Log-in attempts with one email come too fast; ``retry_after`` is in seconds."""

    status = 429
    code = "rate_limited"

    def __init__(self, retry_after: int):
        if retry_after < 120:
            wait = f"{retry_after} second{'s' if retry_after != 1 else ''}"
        else:
            wait = f"{math.ceil(retry_after / 60)} minutes"
        super().__init__(f"Too many failed log-ins with this email. Try again in {wait}.")
        self.retry_after = retry_after


def normalize_login_email(email: str) -> str:
    return email.strip().lower()


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise Invalid("Choose a longer password.", {"password": f"Use at least {MIN_PASSWORD} characters."})


def _user_by_login_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == normalize_login_email(email)))


def sign_up(email: str, name: str, password: str, organization_name: str | None = None) -> User:
    """Create an organizer at once, and their organization (as its owner) when named.

    For the CLI and the last step of the sign-up by mail; strangers go through ``request_sign_up``.
    """
    _check_password(password)
    user = User(email=normalize_login_email(email), name=name.strip(), password_hash=hasher.hash(password))
    with unit_of_work():
        db.session.add(user)
        try:
            db.session.flush()
        except IntegrityError:
            raise Conflict("An account with this email already exists.",
                           {"email": "Log in instead, or reset your password."})
        if organization_name:
            _new_organization(user, organization_name)
    return user


# Sign-up by mail: the link proves the address is theirs before an account exists, and whoever holds
# it chooses the password, so nobody can sign up in someone else's name or learn that an email is taken.

def _sign_up_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="sign-up")


def request_sign_up(email: str, name: str, organization_name: str) -> None:
    """Mail the address a link to finish signing up or, when it has an account, how to get into it.

    The caller must answer the same either way.
    """
    email, name = normalize_login_email(email), name.strip()
    with unit_of_work():
        user = _user_by_login_email(email)
        if user is None:
            token = _sign_up_serializer().dumps({"email": email, "name": name, "org": organization_name.strip()})
            queue_mail(email, "sign_up_confirm", name=name, token=token)
        else:
            queue_mail(user.email, "sign_up_existing", user=user, token=_reset_token(user))


def pending_sign_up(token: str) -> dict:
    """The email, name and organization a sign-up link was mailed for; Invalid or Conflict when it cannot finish."""
    try:
        details = _sign_up_serializer().loads(token, max_age=SIGN_UP_MAX_AGE)
    except SignatureExpired:
        raise Invalid("This sign-up link has expired. Sign up again for a new one.")
    except BadSignature:
        raise Invalid("This sign-up link is not valid. Sign up again for a new one.")
    if _user_by_login_email(details["email"]) is not None:
        raise Conflict("This email already has an account. Log in, or reset your password.")
    return details


def finish_sign_up(token: str, password: str) -> User:
    """Create the account a sign-up link was mailed for, with the password chosen now."""
    details = pending_sign_up(token)
    return sign_up(details["email"], details["name"], password, details["org"])


def authenticate(email: str, password: str) -> User:
    """The user with this email and password; Invalid, or TooManyAttempts while this email must wait."""
    email = normalize_login_email(email)
    wait = throttle.wait_seconds(email)
    if wait:
        raise TooManyAttempts(wait)
    user = _user_by_login_email(email)
    try:
        hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
        verified = user is not None and user.active
    except (VerificationError, InvalidHashError):
        verified = False
    if not verified:
        if throttle.record_failure(email) and user is not None:
            _mail_lock(user)
        raise Invalid("That email and password do not match an account.")
    throttle.clear(email)
    with unit_of_work():
        if hasher.check_needs_rehash(user.password_hash):
            user.password_hash = hasher.hash(password)
        user.last_login_at = utcnow()
    return user


def _mail_lock(user: User) -> None:
    """Tell the owner their account is locked, once per lock whatever the processes counting did."""
    with unit_of_work():
        queue_mail(user.email, "login_locked", dedupe_key=f"login-locked:{user.id}:{throttle.lock_period()}",
                   user=user, token=_reset_token(user), minutes=throttle.LOCK_SECONDS // 60)


def user_for_session(session_id: str) -> User | None:
    """The user a session or remember-me cookie names (``User.get_id``), unless their password changed since."""
    user_id, _, _ = session_id.partition(":")
    user = db.session.get(User, int(user_id)) if user_id.isdigit() else None
    return user if user is not None and hmac.compare_digest(user.get_id(), session_id) else None


def user_by_email(email: str) -> User:
    user = _user_by_login_email(email)
    if user is None:
        raise NotFound(f"No organizer with the email {email}.")
    return user


# Passwords. A reset token carries the password's fingerprint, so it works once; a new password
# changes ``User.get_id``, which ends every session and remember-me cookie made with the old one.

def _reset_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="password-reset")


def _reset_token(user: User) -> str:
    return _reset_serializer().dumps({"uid": user.id, "h": password_fingerprint(user.password_hash)})


def request_password_reset(email: str) -> None:
    """Mail a reset link if the account exists; say nothing either way."""
    user = _user_by_login_email(email)
    if user is None or not user.active:
        return
    with unit_of_work():
        queue_mail(user.email, "password_reset", user=user, token=_reset_token(user))


def reset_password(token: str, password: str) -> User:
    """Set a new password from a mailed link; it also lifts a log-in lock, as the link proves the mailbox."""
    max_age = current_app.config["PASSWORD_RESET_MAX_AGE"]
    try:
        data = _reset_serializer().loads(token, max_age=max_age)
    except SignatureExpired:
        raise Invalid("This reset link has expired. Ask for a new one.")
    except BadSignature:
        raise Invalid("This reset link is not valid. Ask for a new one.")
    user = db.session.get(User, data.get("uid"))
    if user is None or password_fingerprint(user.password_hash) != data.get("h"):
        raise Invalid("This reset link was already used. Ask for a new one.")
    _check_password(password)
    with unit_of_work():
        user.password_hash = hasher.hash(password)
    throttle.clear(user.email)
    return user


def change_password(user_id: int, current_password: str, new_password: str) -> User:
    """Replace the password of a logged-in organizer who knows the current one."""
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound("No such organizer.")
    try:
        hasher.verify(user.password_hash, current_password)
    except (VerificationError, InvalidHashError):
        raise Invalid("Your current password is not right.", {"current_password": "Not your current password."})
    _check_password(new_password)
    with unit_of_work():
        user.password_hash = hasher.hash(new_password)
    return user


# Organizations and memberships.

def _unique_slug(name: str) -> str:
    base = slugify(name)
    taken = set(db.session.scalars(select(Organization.slug).where(Organization.slug.like(f"{base}%"))))
    slug, n = base, 2
    while slug in taken:
        slug, n = f"{base}-{n}", n + 1
    return slug


def _new_organization(owner: User, name: str, description: str = "", website: str = "") -> Organization:
    name = name.strip()
    if not name:
        raise Invalid("Give the organization a name.", {"name": "Required."})
    org = Organization(name=name, slug=_unique_slug(name), description=description, website=website)
    db.session.add(org)
    db.session.add(Membership(user=owner, organization=org, role="owner"))
    db.session.flush()
    return org


def create_organization(user_id: int, name: str, description: str = "", website: str = "") -> Organization:
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound("No such organizer.")
    with unit_of_work():
        org = _new_organization(user, name, description, website)
    return org


def get_organization(slug: str) -> Organization:
    org = db.session.scalar(select(Organization).where(Organization.slug == slug))
    if org is None:
        raise NotFound("No such organization.")
    return org


def require_member(user_id: int | None, organization_id: int, roles=ROLES) -> Membership:
    """The user's membership of the organization, or Forbidden."""
    if user_id is None:
        raise Forbidden("Log in as an organizer of this organization.")
    membership = db.session.scalar(
        select(Membership).where(Membership.user_id == user_id, Membership.organization_id == organization_id)
    )
    if membership is None:
        raise Forbidden("You are not an organizer of this organization.")
    if membership.role not in roles:
        raise Forbidden("Only an owner of this organization can do that.")
    return membership


def organization_ids_for(user_id: int) -> list[int]:
    return list(db.session.scalars(select(Membership.organization_id).where(Membership.user_id == user_id)))


def organizations_for(user_id: int) -> list[Organization]:
    return list(
        db.session.scalars(
            select(Organization).join(Membership).where(Membership.user_id == user_id).order_by(Organization.name)
        )
    )


def active_organizers(organization_id: int) -> list[User]:
    """The organization's members who can still log in, by id: whom its events' and petitions' news is for."""
    return list(db.session.scalars(
        select(User).join(Membership, Membership.user_id == User.id)
        .where(Membership.organization_id == organization_id, User.active.is_(True)).order_by(User.id)
    ))


def update_organization(user_id: int, organization_id: int, **fields) -> Organization:
    require_member(user_id, organization_id, roles=("owner",))
    org = db.session.get(Organization, organization_id)
    with unit_of_work():
        for key in ("name", "description", "website"):
            if key in fields and fields[key] is not None:
                setattr(org, key, fields[key].strip())
        if fields.get("timezone"):
            org.timezone = zone(fields["timezone"]).key
        if not org.name:
            raise Invalid("Give the organization a name.", {"name": "Required."})
    return org


def add_member(actor_id: int, organization_id: int, email: str, role: str = "organizer") -> Membership:
    require_member(actor_id, organization_id, roles=("owner",))
    if role not in ROLES:
        raise Invalid(f"Role must be one of {', '.join(ROLES)}.", {"role": "Unknown role."})
    user = user_by_email(email)
    membership = Membership(user_id=user.id, organization_id=organization_id, role=role)
    try:
        with unit_of_work():
            db.session.add(membership)
    except IntegrityError:
        raise Conflict(f"{email} is already a member.")
    return membership


def remove_member(actor_id: int, organization_id: int, user_id: int) -> None:
    require_member(actor_id, organization_id, roles=("owner",))
    membership = require_member(user_id, organization_id)
    owners = db.session.scalar(
        select(func.count()).where(Membership.organization_id == organization_id, Membership.role == "owner")
    )
    if membership.role == "owner" and owners <= 1:
        raise Conflict("An organization needs at least one owner.")
    with unit_of_work():
        db.session.delete(membership)


# API tokens.

def _token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def create_api_token(user_id: int, name: str) -> tuple[ApiToken, str]:
    """A new token; the raw value is returned once and never stored."""
    name = (name or "").strip()[:100] or "API token"
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user_id=user_id, name=name, prefix=raw[:12], token_hash=_token_hash(raw))
    with unit_of_work():
        db.session.add(token)
    return token, raw


def api_tokens_for(user_id: int) -> list[ApiToken]:
    return list(
        db.session.scalars(
            select(ApiToken).where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None)).order_by(ApiToken.id)
        )
    )


def revoke_api_token(user_id: int, token_id: int) -> None:
    token = db.session.get(ApiToken, token_id)
    if token is None or token.user_id != user_id:
        raise NotFound("No such token.")
    with unit_of_work():
        token.revoked_at = token.revoked_at or utcnow()


def user_for_token(raw: str) -> User | None:
    if not raw or not raw.startswith(TOKEN_PREFIX):
        return None
    token = db.session.scalar(
        select(ApiToken).where(ApiToken.token_hash == _token_hash(raw), ApiToken.revoked_at.is_(None))
    )
    if token is None or not token.user.active:
        return None
    now = utcnow()
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=5):
        with unit_of_work():
            token.last_used_at = now
    return token.user
