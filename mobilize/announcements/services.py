"""Scheduling announcements, choosing who gets them, and sending them exactly once.

Sending is a chain of batches over the audience in person-id order. Each batch
is one transaction: it writes its recipients' mail to the outbox (one
``dedupe_key`` per announcement and person) and moves the announcement's
cursor with a conditional UPDATE, so a batch that runs twice, or a chain that
the sweeper restarts, writes nobody twice.
"""

import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import formataddr, parseaddr
from functools import lru_cache

import zipcodes
from flask import current_app
from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import selectinload

from mobilize.accounts.services import require_member
from mobilize.core.dispatch import after_commit
from mobilize.core.errors import Conflict, Invalid, NotFound
from mobilize.core.mail import queue_mail
from mobilize.core.markdown import render_markdown
from mobilize.core.models import utcnow
from mobilize.core.transaction import Abandon, unit_of_work
from mobilize.core.urls import external_url
from mobilize.events import access, times
from mobilize.events.listing import managed_events
from mobilize.events.models import Event, Timeslot
from mobilize.events.search import zip_location
from mobilize.extensions import db
from mobilize.people.models import Person, Subscription
from mobilize.petitions.models import Petition, Signature
from mobilize.petitions.services import organization_petitions
from mobilize.rsvps.models import Attendance, Place

from .models import EDITABLE, Announcement

MAX_BODY = 50_000
MAX_RADIUS_MILES = 500
DEFAULT_RADIUS_MILES = 25


@dataclass
class Draft:
    """What the organizer entered; ``send_local`` is wall-clock time in ``timezone``."""

    subject: str
    body: str
    timezone: str
    send_local: datetime | None = None
    about: str = ""  # "event:<uuid>", "petition:<uuid>" or ""
    near_postal_code: str = ""
    radius_miles: int | None = None
    attended_event: str = ""  # an event's uuid
    signed_petition: str = ""  # a petition's uuid


# Reading.

def organization_announcements(user_id: int | None, organization_id: int) -> list[Announcement]:
    require_member(user_id, organization_id)
    return list(db.session.scalars(
        select(Announcement).where(Announcement.organization_id == organization_id)
        .options(selectinload(Announcement.event), selectinload(Announcement.petition))
        .order_by(Announcement.created_at.desc(), Announcement.id.desc())
    ))


def managed_announcement(user_id: int | None, organization_id: int, announcement_uuid) -> Announcement:
    require_member(user_id, organization_id)
    announcement = db.session.scalar(select(Announcement).where(
        Announcement.uuid == announcement_uuid, Announcement.organization_id == organization_id))
    if announcement is None:
        raise NotFound("No such announcement in this organization.")
    return announcement


def choices(user_id: int | None, organization_id: int) -> dict:
    """The organization's events (upcoming, past) and petitions, for the form's menus."""
    upcoming, past = managed_events(user_id, organization_id)
    return {"upcoming": [event for event, _ in upcoming], "past": [event for event, _ in past],
            "petitions": organization_petitions(user_id, organization_id)}


def last_timezone(organization_id: int) -> str | None:
    """The zone of the organization's latest announcement: the likely default for the next."""
    return db.session.scalar(select(Announcement.timezone).where(Announcement.organization_id == organization_id)
                             .order_by(Announcement.id.desc()).limit(1))


# Writing.

def _org_event(organization_id: int, event_uuid) -> Event | None:
    return db.session.scalar(select(Event).where(
        Event.uuid == event_uuid, Event.deleted_at.is_(None), access.of_organizations(organization_id)))


def _org_petition(organization_id: int, petition_uuid) -> Petition | None:
    return db.session.scalar(select(Petition).where(
        Petition.uuid == petition_uuid, Petition.organization_id == organization_id))


def _uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except (ValueError, AttributeError, TypeError):
        return None


def _columns(organization_id: int, draft: Draft, schedule: bool, now: datetime) -> dict:
    """Validated column values, or Invalid naming every field that is wrong."""
    errors: dict[str, str] = {}
    subject = " ".join((draft.subject or "").split())
    body = (draft.body or "").strip()
    if not subject:
        errors["subject"] = "Write a subject line."
    elif len(subject) > 200:
        errors["subject"] = "Keep the subject under 200 characters."
    if not body:
        errors["body"] = "Write the message."
    elif len(body) > MAX_BODY:
        errors["body"] = f"Keep the message under {MAX_BODY:,} characters."

    send_at = None
    try:
        zone = times.zone(draft.timezone)
        if draft.send_local is not None:
            send_at = times.to_utc(draft.send_local.replace(second=0, microsecond=0), zone, field="send_at")
    except Invalid as error:
        errors.update(error.fields)
    if schedule and "send_at" not in errors and "timezone" not in errors:
        if send_at is None:
            errors["send_at"] = "Choose when to send it."
        elif send_at <= now:
            errors["send_at"] = "Choose a time in the future."

    values = {"event_id": None, "petition_id": None, "attended_event_id": None, "signed_petition_id": None}
    kind, _, about = (draft.about or "").partition(":")
    linked = {"event": _org_event, "petition": _org_petition}.get(kind)
    if kind and linked is None:
        errors["about"] = "Choose one of your events or petitions."
    elif linked is not None:
        record = linked(organization_id, _uuid(about))
        if record is None:
            errors["about"] = f"Choose one of your {kind}s."
        else:
            values[f"{kind}_id"] = record.id

    postal_code = (draft.near_postal_code or "").strip()
    radius = None
    if postal_code:
        if zip_location(postal_code) is None:
            errors["near_postal_code"] = "Enter a US ZIP code, like 62701."
        radius = draft.radius_miles or DEFAULT_RADIUS_MILES
        if not 1 <= radius <= MAX_RADIUS_MILES:
            errors["radius_miles"] = f"Choose between 1 and {MAX_RADIUS_MILES} miles."

    if draft.attended_event:
        event = _org_event(organization_id, _uuid(draft.attended_event))
        if event is None or not _has_ended(event.id, now):
            errors["attended_event"] = "Choose one of your past events."
        else:
            values["attended_event_id"] = event.id
    if draft.signed_petition:
        petition = _org_petition(organization_id, _uuid(draft.signed_petition))
        if petition is None:
            errors["signed_petition"] = "Choose one of your petitions."
        else:
            values["signed_petition_id"] = petition.id

    if errors:
        raise Invalid("Check the highlighted fields.", errors)
    return {**values, "subject": subject, "body": body, "body_html": render_markdown(body),
            "timezone": zone.key, "send_at": send_at, "near_postal_code": postal_code[:5], "radius_miles": radius}


def _has_ended(event_id: int, now: datetime) -> bool:
    last_end = db.session.scalar(select(func.max(Timeslot.end_at)).where(
        Timeslot.event_id == event_id, Timeslot.deleted_at.is_(None)))
    return last_end is not None and last_end < now


def create_announcement(user_id: int | None, organization_id: int, draft: Draft, schedule: bool) -> Announcement:
    """A draft, or (``schedule``) an announcement the sweeper sends at its time."""
    require_member(user_id, organization_id)
    values = _columns(organization_id, draft, schedule, utcnow())
    announcement = Announcement(organization_id=organization_id, created_by_id=user_id,
                                status="scheduled" if schedule else "draft", **values)
    with unit_of_work():
        db.session.add(announcement)
    return announcement


def update_announcement(user_id: int | None, organization_id: int, announcement_uuid, draft: Draft,
                        schedule: bool) -> Announcement:
    """Change it while it is a draft or scheduled; Conflict once the sweeper has claimed it."""
    announcement = managed_announcement(user_id, organization_id, announcement_uuid)
    values = _columns(organization_id, draft, schedule, utcnow())
    with unit_of_work():
        changed = db.session.execute(
            update(Announcement)
            .where(Announcement.id == announcement.id, Announcement.status.in_(EDITABLE))
            .values(status="scheduled" if schedule else "draft", **values)
            .execution_options(synchronize_session=False)
        ).rowcount
        if not changed:
            raise Conflict("This announcement has started sending or was cancelled, so it can no longer be changed.")
    db.session.refresh(announcement)
    return announcement


def cancel_announcement(user_id: int | None, organization_id: int, announcement_uuid) -> Announcement:
    announcement = managed_announcement(user_id, organization_id, announcement_uuid)
    with unit_of_work():
        cancelled = db.session.execute(
            update(Announcement)
            .where(Announcement.id == announcement.id, Announcement.status.in_(EDITABLE))
            .values(status="cancelled", cancelled_at=utcnow())
            .execution_options(synchronize_session=False)
        ).rowcount
    db.session.refresh(announcement)
    if not cancelled and announcement.status != "cancelled":
        raise Conflict("This announcement has already started sending, so it can no longer be cancelled.")
    return announcement


# The audience.

@lru_cache(maxsize=128)
def zips_near(postal_code: str, radius_miles: int) -> tuple[str, ...]:
    """Every US ZIP code whose centre is within the radius (offline, from the zipcodes data)."""
    centre = zip_location(postal_code)
    if centre is None:
        return ()
    found = zipcodes.filter_by_coordinates(centre["latitude"], centre["longitude"], radius_miles)
    return tuple(sorted({z["zip_code"] for z in found} | {postal_code[:5]}))


def audience(announcement: Announcement):
    """The recipients as a select in person-id order: opted in now, and matching every filter."""
    query = (
        select(Person.id, Person.uuid, Person.email, Subscription.id.label("subscription_id"))
        .join(Subscription, Subscription.person_id == Person.id)
        .where(Subscription.organization_id == announcement.organization_id, Subscription.unsubscribed_at.is_(None))
    )
    if announcement.near_postal_code:
        zips = zips_near(announcement.near_postal_code, announcement.radius_miles or DEFAULT_RADIUS_MILES)
        query = query.where(func.substr(Person.postal_code, 1, 5).in_(zips))
    if announcement.attended_event_id:
        # Confirmed for the event, and not marked a no-show.
        query = query.where(Person.id.in_(
            select(Attendance.person_id).join(Place, Place.attendance_id == Attendance.id)
            .where(Attendance.event_id == announcement.attended_event_id, Place.status == "confirmed",
                   or_(Attendance.attended.is_(None), Attendance.attended.is_(True)))
        ))
    if announcement.signed_petition_id:
        query = query.where(Person.id.in_(
            select(Signature.person_id)
            .where(Signature.petition_id == announcement.signed_petition_id, Signature.counted)
        ))
    return query.order_by(Person.id)


def audience_size(announcement: Announcement) -> int:
    return db.session.scalar(select(func.count()).select_from(audience(announcement).order_by(None).subquery()))


def describe_audience(announcement: Announcement) -> list[str]:
    """The filters in words, for the organizer's pages."""
    parts = [f"Supporters who opted in to hear from {announcement.organization.name}"]
    if announcement.near_postal_code:
        parts.append(f"within {announcement.radius_miles} miles of ZIP {announcement.near_postal_code}")
    if announcement.attended_event_id:
        parts.append(f"who attended “{announcement.attended_event.title}”")
    if announcement.signed_petition_id:
        parts.append(f"who signed “{announcement.signed_petition.title}”")
    return parts


# Sending.

def _queue_batch(announcement_id: int, cursor: int, countdown: float = 0) -> None:
    from mobilize.announcements.tasks import send_announcement_batch

    after_commit(db.session, send_announcement_batch.s(announcement_id, cursor).set(countdown=countdown))


def start_due_announcements(now: datetime | None = None) -> int:
    """Claim each due announcement (scheduled -> sending) and start its batches; resume stalled sends.

    Both steps are conditional UPDATEs, so two sweeps at once start each chain once.
    """
    now = now or utcnow()
    started = 0
    due = db.session.scalars(
        select(Announcement.id)
        .where(Announcement.status == "scheduled", Announcement.send_at <= now)
        .order_by(Announcement.send_at).limit(100)
    ).all()
    for announcement_id in due:
        with unit_of_work():
            if db.session.execute(
                update(Announcement)
                .where(Announcement.id == announcement_id, Announcement.status == "scheduled",
                       Announcement.send_at <= now)
                .values(status="sending", next_batch_at=now)
            ).rowcount:
                _queue_batch(announcement_id, 0)
                started += 1

    stale_before = now - timedelta(seconds=current_app.config["ANNOUNCEMENT_STALE_AFTER"])
    stalled = db.session.execute(
        select(Announcement.id, Announcement.cursor)
        .where(Announcement.status == "sending", Announcement.next_batch_at < stale_before).limit(100)
    ).all()
    for announcement_id, cursor in stalled:
        with unit_of_work():
            if db.session.execute(
                update(Announcement)
                .where(Announcement.id == announcement_id, Announcement.status == "sending",
                       Announcement.cursor == cursor, Announcement.next_batch_at < stale_before)
                .values(next_batch_at=now)
            ).rowcount:
                _queue_batch(announcement_id, cursor)
                started += 1
    return started


def _pause(started: float, sent: int) -> float:
    """Seconds to wait before the next batch so the send keeps to the per-minute rate."""
    interval = 60.0 * sent / current_app.config["ANNOUNCEMENT_RATE_PER_MINUTE"]
    return max(0.0, interval - (time.monotonic() - started))


def _mail_context(announcement: Announcement) -> dict:
    about_url = about_title = about_action = None
    if announcement.event is not None:
        event = announcement.event
        about_url, about_title, about_action = external_url("events.show", event_id=event.uuid), event.title, "RSVP"
    elif announcement.petition is not None:
        petition = announcement.petition
        about_url = external_url("petitions.show", slug=petition.slug)
        about_title, about_action = petition.title, "Sign the petition"
    return {"announcement": announcement, "organization": announcement.organization,
            "about_url": about_url, "about_title": about_title, "about_action": about_action}


def sender(organization_name: str) -> str:
    """'<Organization> via <site>' at the site's own address, so supporters see who writes."""
    _, address = parseaddr(current_app.config["MAIL_DEFAULT_SENDER"])
    return formataddr((f"{organization_name} via {current_app.config['SITE_NAME']}", address))


def send_batch(announcement_id: int, cursor: int) -> bool:
    """Write the next batch after ``cursor`` to the outbox; False when that batch was already done.

    The announcement row is locked for the batch, and the cursor only moves
    from the value the task was given, so a repeated or overlapping task
    finds it moved and does nothing.
    """
    started = time.monotonic()
    try:
        with unit_of_work():
            _write_batch(announcement_id, cursor, started)
    except Abandon:  # already done, by an earlier or overlapping run of this task
        return False
    return True


def _write_batch(announcement_id: int, cursor: int, started: float) -> None:
    """``send_batch``'s work, inside its unit of work; Abandon when the announcement is no longer at ``cursor``."""
    announcement = db.session.scalar(
        select(Announcement).where(Announcement.id == announcement_id).with_for_update())
    if announcement is None or announcement.status != "sending" or announcement.cursor != cursor:
        raise Abandon
    size = current_app.config["ANNOUNCEMENT_BATCH_SIZE"]
    rows = db.session.execute(audience(announcement).where(Person.id > cursor).limit(size)).all()
    context = _mail_context(announcement)
    headers = {"From": sender(announcement.organization.name)}
    for row in rows:
        queue_mail(  # None when an earlier, interrupted run of this batch already wrote it
            row.email, "announcement", dedupe_key=f"announcement:{announcement.id}:{row.id}",
            subscription_id=row.subscription_id, headers=headers, **context,
        )
    now = utcnow()
    done = len(rows) < size
    pause = _pause(started, len(rows))
    values = {"recipients": Announcement.recipients + len(rows), "next_batch_at": now + timedelta(seconds=pause),
              "cursor": rows[-1].id if rows else cursor}
    if done:
        values.update(status="sent", sent_at=now, next_batch_at=None)
    moved = db.session.execute(
        update(Announcement)
        .where(Announcement.id == announcement_id, Announcement.status == "sending", Announcement.cursor == cursor)
        .values(**values)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not moved:
        raise Abandon
    if not done:
        _queue_batch(announcement_id, values["cursor"], pause)
