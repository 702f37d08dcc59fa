"""Links to an RSVP: the supporter's manage link (signed, revocable) and the event page."""

import uuid
from hmac import compare_digest

from flask import current_app, url_for
from itsdangerous import BadSignature, Signer
from sqlalchemy import select

from mobilize.core.errors import NotFound
from mobilize.core.urls import external_url
from mobilize.events.models import Event
from mobilize.extensions import db
from mobilize.rsvps.models import Attendance

INVALID_LINK = "This link is not valid any more. Use the newest link we emailed you, or RSVP again."


def _signer() -> Signer:
    return Signer(current_app.config["SECRET_KEY"], salt="rsvp-manage")


def manage_token(attendance: Attendance) -> str:
    """The attendance's uuid and its current random key, signed with the app's secret.

    Forging one needs the secret; guessing one needs the key; replacing the
    key (``services.replace_manage_link``) revokes every earlier link.
    """
    return _signer().sign(f"{attendance.uuid.hex}.{attendance.manage_key}").decode()


def manage_url(attendance: Attendance) -> str:
    """The absolute manage link, for mail (reminders use it too)."""
    return external_url("rsvps.manage", token=manage_token(attendance))


def attendance_for_token(token: str) -> Attendance:
    """The attendance a manage link is for; NotFound for forged, mangled or revoked links."""
    try:
        uuid_hex, key = _signer().unsign(token or "").decode().split(".", 1)
        attendance_uuid = uuid.UUID(hex=uuid_hex)
    except (BadSignature, ValueError, UnicodeDecodeError):
        raise NotFound(INVALID_LINK) from None
    attendance = db.session.scalar(select(Attendance).where(Attendance.uuid == attendance_uuid))
    if attendance is None or not compare_digest(attendance.manage_key, key):
        raise NotFound(INVALID_LINK)
    return attendance


def event_url(event: Event, external: bool = True) -> str:
    """The event's page, where its RSVP form is."""
    if external:
        return external_url("events.show", event_id=event.uuid)
    return url_for("events.show", event_id=event.uuid)
