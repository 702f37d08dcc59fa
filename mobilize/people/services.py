"""Finding people by email, and their opt-ins (and leaving them)."""

import uuid

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from itsdangerous import BadData, URLSafeSerializer
from sqlalchemy import select, union_all, update
from sqlalchemy.exc import IntegrityError

from mobilize.core.errors import Invalid, NotFound
from mobilize.core.mail import subscription_id_for_token
from mobilize.core.models import utcnow
from mobilize.core.signals import people_of_organizations
from mobilize.core.sql import insert_loaded, insert_or_nothing
from mobilize.core.transaction import unit_of_work
from mobilize.extensions import db
from mobilize.people.models import Person, Subscription

# Providers that ignore dots in the local part; all of these ignore +tags.
DOTLESS_DOMAINS = {"gmail.com", "googlemail.com"}
PLUS_TAG_DOMAINS = DOTLESS_DOMAINS | {
    "outlook.com", "hotmail.com", "live.com", "icloud.com", "me.com", "fastmail.com", "protonmail.com", "proton.me",
}
DOMAIN_ALIASES = {"googlemail.com": "gmail.com"}
PERSON_FIELDS = ("given_name", "family_name", "phone", "postal_code", "locality", "country")


def clean_email(email: str) -> str:
    """A syntactically valid address, lower-cased, or Invalid (no DNS look-up)."""
    try:
        result = validate_email((email or "").strip(), check_deliverability=False)
    except EmailNotValidError as error:
        raise Invalid("Enter a valid email address.", {"email": str(error)}) from None
    return result.normalized.lower()


def normalize_email(email: str) -> str:
    """One key per mailbox: case, and the dots and +tags that providers ignore."""
    return _mailbox_key(clean_email(email))


def _mailbox_key(address: str) -> str:
    local, _, domain = address.rpartition("@")
    domain = DOMAIN_ALIASES.get(domain, domain)
    if domain in PLUS_TAG_DOMAINS:
        local = local.split("+", 1)[0]
    if domain in DOTLESS_DOMAINS:
        local = local.replace(".", "")
    return f"{local}@{domain}"


def find_or_create_person(email: str, **fields) -> Person:
    """The one person for this mailbox, created race-free; blank fields are filled in.

    An INSERT ... ON CONFLICT DO NOTHING, so two requests at once end with one
    row, never an error. Where only the id is needed, person_id_for() is cheaper.
    """
    return person_for(email, **fields)[0]


def person_for(email: str, **fields) -> tuple[Person, bool]:
    """find_or_create_person(), and whether the person is new: nothing of theirs can be cached yet."""
    address = clean_email(email)
    key, values = _mailbox_key(address), _person_values(fields)
    created = insert_loaded(Person, ("email_normalized",), {"email": address, "email_normalized": key, **values})
    return (created, True) if created is not None else (_fill_blanks(key, values), False)


def person_id_for(address: str, **fields) -> int:
    """find_or_create_person() for an address already through clean_email(), returning only the id:
    one statement without the ORM, on the signature path."""
    key, values = _mailbox_key(address), _person_values(fields)
    created = db.session.connection().execute(insert_or_nothing(Person, ("email_normalized",)), {
        "email": address, "email_normalized": key, **values}).first()
    return created.id if created is not None else _fill_blanks(key, values).id


def _person_values(fields: dict) -> dict:
    return {k: (fields.get(k) or "").strip() for k in PERSON_FIELDS}


def _fill_blanks(key: str, values: dict) -> Person:
    person = db.session.scalar(select(Person).where(Person.email_normalized == key))
    for name, value in values.items():
        if value and not getattr(person, name):  # an unverified submission never rewrites what is there
            setattr(person, name, value)
    return person


def subscribe(person: Person, organization_id: int, wording: str, source: str = "") -> Subscription:
    """Record an explicit opt-in (again after an unsubscribe), with when and what it said."""
    sub = db.session.scalar(
        select(Subscription).where(Subscription.person_id == person.id, Subscription.organization_id == organization_id)
    )
    if sub is None:
        sub = Subscription(person_id=person.id, organization_id=organization_id, opted_in_at=utcnow(),
                           wording=wording, source=source[:200])
        try:
            with db.session.begin_nested():
                db.session.add(sub)
        except IntegrityError:  # opted in at the same moment elsewhere
            return subscribe(person, organization_id, wording, source)
    elif sub.unsubscribed_at is not None:
        sub.unsubscribed_at = None
        sub.opted_in_at = utcnow()
        sub.wording = wording
        sub.source = source[:200]
    return sub


def get_person_by_uuid(person_uuid) -> Person | None:
    return db.session.scalar(select(Person).where(Person.uuid == person_uuid))


# Which people an organizer may see: each feature that ties people to an organization (opt-ins here,
# attendances, signatures) answers core.signals.people_of_organizations with a select of person ids.

@people_of_organizations.connect
def _opted_in(org_ids):
    return select(Subscription.person_id).where(Subscription.organization_id.in_(org_ids))


def people_visible_to(user_id: int):
    from mobilize.accounts.services import organization_ids_for

    org_ids = organization_ids_for(user_id)
    ids = union_all(*(linked for _, linked in people_of_organizations.send(org_ids))).subquery()
    return select(Person).where(Person.id.in_(select(ids.c[0]))).order_by(Person.id)


def person_visible_to(user_id: int, person_uuid) -> Person | None:
    return db.session.scalar(people_visible_to(user_id).where(Person.uuid == person_uuid))


# Unsubscribing: the link in every bulk mail (see core.mail.queue_mail).

BAD_LINK = "This unsubscribe link is not valid. Copy the whole link from the email."


def _legacy_subscription_id(token: str) -> int | None:
    """Links mailed before every bulk mail carried one: [person uuid, organization id], signed.

    They never expire (RFC 8058), so they keep working.
    """
    try:
        person_hex, organization_id = URLSafeSerializer(
            current_app.config["SECRET_KEY"], salt="announcement-unsubscribe").loads(token)
        person_uuid = uuid.UUID(person_hex)
    except (BadData, ValueError, TypeError):
        return None
    return db.session.scalar(select(Subscription.id).join(Person, Person.id == Subscription.person_id).where(
        Person.uuid == person_uuid, Subscription.organization_id == organization_id))


def subscription_for_token(token: str) -> Subscription:
    """The opt-in an unsubscribe link is for; NotFound for a bad link."""
    subscription_id = subscription_id_for_token(token) or _legacy_subscription_id(token)
    subscription = db.session.get(Subscription, subscription_id) if subscription_id else None
    if subscription is None:
        raise NotFound(BAD_LINK)
    return subscription


def unsubscribe(token: str) -> Subscription:
    """Stop the organization's mail to this person at once, including mail already in the outbox."""
    subscription = subscription_for_token(token)
    with unit_of_work():
        db.session.execute(
            update(Subscription)
            .where(Subscription.id == subscription.id, Subscription.unsubscribed_at.is_(None))
            .values(unsubscribed_at=utcnow())
            .execution_options(synchronize_session=False)
        )
    db.session.refresh(subscription)
    return subscription
