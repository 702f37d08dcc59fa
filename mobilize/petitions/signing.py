"""Signing and confirming: what a supporter does, from the page, the embed widget or the API.

A signature counts only once its email is confirmed (double opt-in). One
person signs a petition once: ``(petition_id, person_id)`` is unique and the
insert is an INSERT ... ON CONFLICT DO NOTHING, so fifty submissions of the
same address at once leave one row. Nothing the supporter sees tells whether
an address had signed before.
"""

import re
import threading
import uuid
from dataclasses import dataclass
from datetime import timedelta

import pycountry
import zipcodes
from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import Row, delete, select, update

from mobilize.accounts.models import Organization
from mobilize.accounts.services import require_member
from mobilize.core.checks import FieldErrors
from mobilize.core.errors import Conflict, Invalid, NotFound
from mobilize.core.mail import queue_composed_later
from mobilize.core.memo import SecondsMemo
from mobilize.core.models import utcnow
from mobilize.core.sql import insert_or_nothing
from mobilize.core.transaction import unit_of_work
from mobilize.extensions import db
from mobilize.people.services import clean_email, person_id_for, subscribe
from mobilize.petitions.models import COMMENT_MAX, CountDelta, Petition, Signature, taking_signatures

MAX_CONFIRMATION_MAILS = 5
US_ZIP = re.compile(r"^\d{5}(-\d{4})?$")


@dataclass(frozen=True)
class Signer:
    """What a supporter gives when signing."""

    email: str
    given_name: str
    family_name: str = ""
    postal_code: str = ""
    country: str = ""
    comment: str = ""
    public: bool = False
    opt_in: bool = False


def opt_in_wording(organization_name: str) -> str:
    """The exact words of the opt-in box, kept with the signature as the record of consent."""
    return f"Email me about this petition and other campaigns from {organization_name}."


def _clean(signer: Signer) -> tuple[str, dict]:
    """The signer's address and fields, trimmed and checked; Invalid names every field that is wrong."""
    errors = FieldErrors()
    values = {
        "given_name": errors.text(signer.given_name, "given_name", 100, label="First name",
                                  required="Enter your first name."),
        "family_name": errors.text(signer.family_name, "family_name", 100, label="Last name"),
        "postal_code": errors.text(signer.postal_code, "postal_code", 20, label="Postal code").upper(),
        "country": (signer.country or "").strip().upper(),
        "comment": errors.text(signer.comment, "comment", COMMENT_MAX, label="Your comment", multiline=True),
    }
    if values["country"] and pycountry.countries.get(alpha_2=values["country"]) is None:
        errors.add("country", "Choose a country from the list.")
    try:
        address = clean_email(signer.email)
    except Invalid as error:
        errors.absorb(error)
    errors.raise_if_any("Please correct the highlighted fields.")
    values["locality"] = _locality(values["postal_code"], values["country"])
    return address, values


def _locality(postal_code: str, country: str) -> str:
    """"Springfield, IL" for a US ZIP code; elsewhere the public list shows the country."""
    if country != "US" or not US_ZIP.match(postal_code):
        return ""
    return _us_localities().get(postal_code[:5], "")


_localities: dict[str, str] = {}
_localities_lock = threading.Lock()


def _us_localities() -> dict[str, str]:
    """ZIP code to "City, ST", built once per process by one thread (it takes a couple of seconds):
    zipcodes.matching() would scan all 42,000 codes on every signature."""
    with _localities_lock:
        if not _localities:
            _localities.update((z["zip_code"], f"{z['city']}, {z['state']}") for z in zipcodes.list_all())
    return _localities


_signing_facts = SecondsMemo("PETITION_FACTS_MEMO_SECONDS")


def signable(petition: int | str | uuid.UUID) -> Row:
    """What signing needs of a published petition, by id, slug or uuid: one light query, no ORM objects.

    Each process keeps the answer for PETITION_FACTS_MEMO_SECONDS (a second): a
    surge then reads it once a second per process, not once a signature. A
    signature taken in the second after a petition closes is never counted, as
    confirming checks the petition again.
    """
    row = _signing_facts.get((type(petition), petition), lambda: _signing_facts_row(petition))
    if row is None or row.status == "draft":
        raise NotFound("No such petition.")
    return row


def _signing_facts_row(petition: int | str | uuid.UUID) -> Row | None:
    column = {str: Petition.slug, uuid.UUID: Petition.uuid}.get(type(petition), Petition.id)
    return db.session.connection().execute(
        select(Petition.id, Petition.slug, Petition.title, Petition.status, Petition.closes_at,
               Petition.organization_id, Organization.name.label("organization_name"))
        .join(Organization, Organization.id == Petition.organization_id)
        .where(column == petition)
    ).first()


def sign(petition: int | Row, signer: Signer, *, source: str = "web", ip_address: str | None = None,
         confirmed_by: int | None = None) -> tuple[int, bool]:
    """Record a signature and mail its confirmation link; (the signature's id, whether it is new).

    ``petition`` is an id or what signable() read. Signing again sends the link
    again, at most every PETITION_CONFIRM_RESEND_AFTER seconds. ``confirmed_by``,
    an organizer of the petition's organization, vouches that the email was
    confirmed elsewhere: the signature counts at once, recorded so. A signature
    costs four statements written without the ORM: it is the path a surge takes.
    """
    if not isinstance(petition, Row):
        petition = signable(petition)
    if not taking_signatures(petition.status, petition.closes_at):
        raise Conflict("This petition is closed and no longer takes signatures.")
    if confirmed_by is not None:
        require_member(confirmed_by, petition.organization_id)
    address, values = _clean(signer)
    now = utcnow()
    confirmed = confirmed_by is not None
    insert = insert_or_nothing(Signature, ("petition_id", "person_id"), ("id", "uuid"))
    with unit_of_work():
        person_id = person_id_for(
            address, **{k: values[k] for k in ("given_name", "family_name", "postal_code", "country", "locality")}
        )
        created = db.session.connection().execute(insert, {
            "petition_id": petition.id, "person_id": person_id, "public": bool(signer.public),
            "opt_in_wording": opt_in_wording(petition.organization_name) if signer.opt_in else None,
            "source": source, "ip_address": ip_address, **values,
            "confirmation_sent_at": None if confirmed else now, "confirmations_sent": 0 if confirmed else 1,
            "confirmed_at": now if confirmed else None, "confirmed_via": "organization" if confirmed else None,
        }).first()
        if created is not None:
            signature_id = created.id
            if confirmed:
                _counted(db.session.get(Signature, signature_id))
            else:
                _queue_confirmation(petition, created.uuid, values["given_name"], address, 1)
        else:
            signature_id = db.session.scalar(
                select(Signature.id).where(Signature.petition_id == petition.id, Signature.person_id == person_id)
            )
            if confirmed:
                _mark_confirmed(db.session.get(Signature, signature_id), "organization")
            else:
                _resend_confirmation(petition, signature_id, address)
    return signature_id, created is not None


def _queue_confirmation(petition: Row, signature_uuid: uuid.UUID, given_name: str, address: str,
                        number: int) -> None:
    """Queue link number ``number``; the first needs no dedupe key, as its signature row is new."""
    max_age = current_app.config["PETITION_CONFIRM_MAX_AGE"]
    dedupe_key = f"petition-confirm:{signature_uuid}:{number}" if number > 1 else None
    queue_composed_later(address, "petition_confirm", dedupe_key=dedupe_key, given_name=given_name,
                         petition={"title": petition.title, "organization_name": petition.organization_name},
                         token=confirmation_token(signature_uuid), valid_days=max(1, max_age // 86400))


def _resend_confirmation(petition: Row, signature_id: int, address: str) -> None:
    """Send the link again if the last one is old enough; a conditional UPDATE lets one of many resends through."""
    wait = timedelta(seconds=current_app.config["PETITION_CONFIRM_RESEND_AFTER"])
    now = utcnow()
    resent = db.session.execute(
        update(Signature)
        .where(
            Signature.id == signature_id,
            Signature.confirmed_at.is_(None),
            Signature.invalidated_at.is_(None),
            Signature.confirmation_sent_at < now - wait,
            Signature.confirmations_sent < MAX_CONFIRMATION_MAILS,
        )
        .values(confirmation_sent_at=now, confirmations_sent=Signature.confirmations_sent + 1)
        .returning(Signature.confirmations_sent, Signature.uuid, Signature.given_name)
        .execution_options(synchronize_session=False)
    ).first()
    if resent is not None:
        _queue_confirmation(petition, resent.uuid, resent.given_name, address, resent.confirmations_sent)


def _mark_confirmed(signature: Signature, via: str) -> bool:
    """Confirm once: of two confirmations at once only one counts."""
    confirmed = db.session.execute(
        update(Signature)
        .where(Signature.id == signature.id, Signature.confirmed_at.is_(None), Signature.invalidated_at.is_(None))
        .values(confirmed_at=utcnow(), confirmed_via=via)
        .execution_options(synchronize_session=False)
    ).rowcount
    if confirmed:
        db.session.refresh(signature)
        _counted(signature)
    return bool(confirmed)


def _counted(signature: Signature) -> None:
    """What follows a confirmation: +1 for the counting worker, and the opt-in, now that the email is proven."""
    db.session.add(CountDelta(petition_id=signature.petition_id, delta=1))
    if signature.opt_in_wording:
        subscribe(signature.person, signature.petition.organization_id, signature.opt_in_wording,
                  source=f"petition:{signature.petition.slug}")


# Confirmation links: signed, so unguessable; they expire with the unconfirmed signature.

def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="petition-signature-confirm")


def confirmation_token(signature_uuid: uuid.UUID) -> str:
    return _serializer().dumps(str(signature_uuid))


def signature_for_token(token: str) -> Signature:
    """The signature a confirmation link is for, or Invalid with what to do."""
    try:
        value = _serializer().loads(token, max_age=current_app.config["PETITION_CONFIRM_MAX_AGE"])
        signature_uuid = uuid.UUID(value)
    except SignatureExpired:
        raise Invalid("This confirmation link has expired. Sign the petition again to get a new one.") from None
    except (BadSignature, ValueError, TypeError):
        raise Invalid("This confirmation link is not valid. Check that you copied all of it.") from None
    signature = db.session.scalar(select(Signature).where(Signature.uuid == signature_uuid))
    if signature is None:
        raise Invalid("This confirmation link has expired. Sign the petition again to get a new one.")
    return signature


def confirm(token: str) -> Signature:
    """Confirm the signature a link is for; confirming twice is harmless."""
    signature = signature_for_token(token)
    if signature.invalidated_at is not None:
        raise Conflict("This signature was withdrawn by the petition's organizers and cannot be confirmed.")
    if signature.confirmed_at is None:
        if not signature.petition.is_open:
            raise Conflict("This petition closed before your signature was confirmed.")
        with unit_of_work():
            _mark_confirmed(signature, "email")
    return signature


def expire_unconfirmed(batch: int = 5000, max_batches: int = 20) -> int:
    """Delete signatures never confirmed within PETITION_CONFIRM_MAX_AGE of their last link; how many."""
    cutoff = utcnow() - timedelta(seconds=current_app.config["PETITION_CONFIRM_MAX_AGE"])
    total = 0
    for _ in range(max_batches):
        ids = select(Signature.id).where(
            Signature.confirmed_at.is_(None), Signature.invalidated_at.is_(None),
            Signature.confirmation_sent_at < cutoff,
        ).limit(batch)
        with unit_of_work():
            deleted = db.session.execute(
                delete(Signature).where(Signature.id.in_(ids)).execution_options(synchronize_session=False)
            ).rowcount
        total += deleted
        if deleted < batch:
            break
    return total
