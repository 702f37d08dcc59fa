"""Reminders, change notices and after-event mails.

Each sweep is idempotent and safe to overlap with another (two beats, a slow
run): every message goes through ``queue_mail`` with a ``dedupe_key``, and
the outbox's unique index on it is the ledger that makes a second sweep, on
the same or another process, add nothing.
"""

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import String, cast, exists, func, literal, select, text
from sqlalchemy.orm import joinedload, selectinload

from mobilize.accounts.services import active_organizers
from mobilize.core.mail import queue_mail
from mobilize.core.models import OutboundMail, utcnow
from mobilize.core.signals import event_changed_significantly
from mobilize.core.sql import epoch_seconds, plan_for_these_values, upsert
from mobilize.core.transaction import unit_of_work
from mobilize.core.urls import external_url
from mobilize.events import calendar_links
from mobilize.events import services as events
from mobilize.events.models import Event, Timeslot
from mobilize.events.reminder_offsets import DEFAULT_OFFSETS, ReminderOffset
from mobilize.events.times import format_range, format_when
from mobilize.extensions import db
from mobilize.reminders.models import EventNotice
from mobilize.rsvps.links import event_url, manage_url
from mobilize.rsvps.mail import calendar_attachment, details
from mobilize.rsvps.models import Attendance, Place

BATCH = 500
FOLLOWUP_WINDOW = timedelta(days=1)  # events that ended longer ago than this get no after-event mail


def _sent_before(key):
    """Whether the outbox already holds the message with this dedupe key (a SQL expression)."""
    return exists().where(OutboundMail.dedupe_key == key)


def _sql_key(prefix: str, column, suffix: str = ""):
    return literal(prefix, String) + cast(column, String) + literal(suffix, String)


def reminder_key(place_id: int, minutes: int, start_at: datetime) -> str:
    """Once per place, offset and start time: a timeslot moved after its reminder went gets one for its new time."""
    return f"reminder:{place_id}:{minutes}:{int(start_at.timestamp())}"


# ------------------------------------------------------------------ reminders

def _offsets_in_use() -> list[int]:
    stored = db.session.scalars(select(ReminderOffset.minutes).distinct()).all()
    return sorted({*DEFAULT_OFFSETS, *(m for m in stored if m > 0)}, reverse=True)


def _uses_offset(minutes: int):
    own = exists().where(ReminderOffset.event_id == Event.id)
    chosen = exists().where(ReminderOffset.event_id == Event.id, ReminderOffset.minutes == minutes)
    return chosen | ~own if minutes in DEFAULT_OFFSETS else chosen


def due_reminders(minutes: int, now: datetime, after: int = 0, limit: int = BATCH) -> tuple[list[int], int | None]:
    """Confirmed places whose reminder ``minutes`` before the start is due and not yet queued:
    (their ids, the place id to continue after, or None at the end), a page at a time so a
    sweep holds one page in memory however many are due.

    A place confirmed after its reminder's moment (plus one sweep interval of slack)
    gets none: an RSVP 30 minutes before the start is not "reminded" of it a day ahead.
    Nor does a reminder go once a shorter one is due (after a reschedule or an outage).
    """
    offset = timedelta(minutes=minutes)
    grace = timedelta(seconds=current_app.config["REMINDER_SWEEP_SECONDS"])
    plan_for_these_values()
    rows = db.session.execute(
        select(Place.id, Event.id, Timeslot.start_at, func.coalesce(Place.confirmed_at, Place.queued_at))
        .join(Timeslot, Timeslot.id == Place.timeslot_id)
        .join(Event, Event.id == Timeslot.event_id)
        .where(Place.status == "confirmed", Timeslot.deleted_at.is_(None),
               Timeslot.start_at > now, Timeslot.start_at <= now + offset,
               Event.status == "confirmed", Event.deleted_at.is_(None), _uses_offset(minutes),
               ~_sent_before(_sql_key("reminder:", Place.id, f":{minutes}:")
                              + cast(epoch_seconds(Timeslot.start_at), String)),
               Place.id > after)
        .order_by(Place.id).limit(limit)
    ).all()
    shorter = _next_shorter(minutes, {event_id for _, event_id, _, _ in rows})
    due = [place_id for place_id, event_id, start, since in rows
           if since <= start - offset + grace and now < start - timedelta(minutes=shorter.get(event_id, 0))]
    return due, (rows[-1][0] if len(rows) == limit else None)


def _next_shorter(minutes: int, event_ids: set[int]) -> dict[int, int]:
    """{event id: its next offset shorter than ``minutes``} (absent: none shorter)."""
    stored: dict[int, list[int]] = {}
    for event_id, m in db.session.execute(select(ReminderOffset.event_id, ReminderOffset.minutes)
                                          .where(ReminderOffset.event_id.in_(event_ids))):
        stored.setdefault(event_id, []).append(m)
    shorter = {}
    for event_id in event_ids:
        below = [m for m in stored.get(event_id, DEFAULT_OFFSETS) if 0 < m < minutes]
        if below:
            shorter[event_id] = max(below)
    return shorter


def queue_reminder(place: Place, minutes: int) -> bool:
    """The reminder for one place, once; False when it was queued before."""
    attendance, slot = place.attendance, place.timeslot
    event = attendance.event
    context = {
        "attendance": attendance, "event": event, "person": attendance.person, "organization": event.organization,
        "when": _ahead(minutes), "label": format_range(slot.start_at, slot.end_at, event.timezone),
        "guests": attendance.guests, "manage_url": manage_url(attendance), "event_url": event_url(event),
        "google_url": calendar_links.google(event, slot), "outlook_url": calendar_links.outlook(event, slot),
        **details(attendance, {place.timeslot_id: place.status}),
    }
    return queue_mail(attendance.person.email, "reminder", dedupe_key=reminder_key(place.id, minutes, slot.start_at),
                      **context) is not None


def _ahead(minutes: int) -> str:
    if minutes % 1440 == 0:
        days = minutes // 1440
        return "tomorrow" if days == 1 else f"in {days} days"
    if minutes % 60 == 0:
        hours = minutes // 60
        return "in 1 hour" if hours == 1 else f"in {hours} hours"
    return f"in {minutes} minutes"


def _places(ids: list[int]) -> list[Place]:
    return db.session.scalars(
        select(Place).where(Place.id.in_(ids)).order_by(Place.id).options(
            joinedload(Place.timeslot),
            joinedload(Place.attendance).options(
                joinedload(Attendance.person), selectinload(Attendance.places),
                joinedload(Attendance.event).options(joinedload(Event.organization), selectinload(Event.timeslots)),
            ),
        )
    ).unique().all()


def send_due_reminders(now: datetime | None = None) -> int:
    """Queue every reminder that is due; commits per batch. Returns how many were queued."""
    now = now or utcnow()
    queued = 0
    for minutes in _offsets_in_use():
        after = 0
        while after is not None:
            with unit_of_work():
                ids, after = due_reminders(minutes, now, after, BATCH)
                for place in _places(ids):
                    queued += queue_reminder(place, minutes)
    return queued


# ------------------------------------------------------------------ change and cancellation notices

@event_changed_significantly.connect
def record_significant_change(event_id: int) -> None:
    """Open a notice due after the coalescing window, or join the open one."""
    now = utcnow()
    window = timedelta(minutes=current_app.config["NOTICE_COALESCE_MINUTES"])
    db.session.execute(
        upsert(EventNotice).values(event_id=event_id, created_at=now, due_at=now + window)
        .on_conflict_do_nothing(index_elements=["event_id"], index_where=text("sent_at IS NULL"))
    )



def send_due_notices(now: datetime | None = None) -> int:
    """Tell each attendance of each event with a due notice what stands now, once per notice."""
    now = now or utcnow()
    queued = 0
    while True:
        notice = db.session.scalars(
            select(EventNotice).where(EventNotice.sent_at.is_(None), EventNotice.due_at <= now)
            .order_by(EventNotice.id).limit(1).with_for_update(skip_locked=True)
        ).first()
        if notice is None:
            return queued
        with unit_of_work():  # the notice's lock is held until this commits
            event = db.session.get(Event, notice.event_id)
            attendances = db.session.scalars(
                select(Attendance).where(Attendance.event_id == event.id,
                                         exists().where(Place.attendance_id == Attendance.id,
                                                        Place.status != "cancelled"))
                .order_by(Attendance.id).options(joinedload(Attendance.person), selectinload(Attendance.places))
            ).all()
            for attendance in attendances:
                queued += queue_notice(notice, event, attendance)
            notice.sent_at = now


def queue_notice(notice: EventNotice, event: Event, attendance: Attendance) -> bool:
    cancelled = event.status == "cancelled" or event.deleted_at is not None
    places = {p.timeslot_id: p.status for p in attendance.places if p.status != "cancelled"}
    slots = [slot for slot in events.active_timeslots(event) if slot.id in places]
    confirmed = [slot for slot in slots if places[slot.id] == "confirmed"]
    context = {
        "event": event, "person": attendance.person, "organization": event.organization, "cancelled": cancelled,
        "places": [{"label": format_range(s.start_at, s.end_at, event.timezone), "status": places[s.id]}
                   for s in slots],
        "guests": attendance.guests, "manage_url": manage_url(attendance), "event_url": event_url(event),
        "attachments": [] if cancelled else calendar_attachment(event, confirmed),
        **details(attendance, places),
    }
    return queue_mail(attendance.person.email, "notice_cancelled" if cancelled else "notice_changed",
                      dedupe_key=f"notice:{notice.id}:{attendance.id}", **context) is not None


# ------------------------------------------------------------------ after the event

def _next_events(organization_id: int, now: datetime, but: int) -> list[dict]:
    first = (select(Timeslot.event_id, func.min(Timeslot.start_at).label("start"))
             .where(Timeslot.start_at > now, Timeslot.deleted_at.is_(None)).group_by(Timeslot.event_id).subquery())
    rows = db.session.execute(
        select(Event, first.c.start).join(first, first.c.event_id == Event.id)
        .where(Event.organization_id == organization_id, Event.id != but, Event.status == "confirmed",
               Event.deleted_at.is_(None), Event.visibility == "public")
        .order_by(first.c.start).limit(3)
    ).all()
    return [{"title": e.title, "url": event_url(e), "when": format_when(start, e.timezone)}
            for e, start in rows]


def send_followups(now: datetime | None = None) -> int:
    """After each timeslot ends: thank its confirmed attendees, ask the organizers to mark attendance."""
    now = now or utcnow()
    plan_for_these_values()
    ended = db.session.scalars(
        select(Timeslot).join(Event, Event.id == Timeslot.event_id)
        .where(Timeslot.end_at <= now, Timeslot.end_at > now - FOLLOWUP_WINDOW, Timeslot.deleted_at.is_(None),
               Event.status == "confirmed", Event.deleted_at.is_(None),
               exists().where(Place.timeslot_id == Timeslot.id, Place.status == "confirmed",
                              ~_sent_before(_sql_key("followup:", Place.id))))
        .order_by(Timeslot.id)
    ).all()
    queued = 0
    for slot in ended:
        with unit_of_work():  # each timeslot's mails on their own
            event = slot.event
            label = format_range(slot.start_at, slot.end_at, event.timezone)
            next_events = _next_events(event.organization_id, now, event.id)
            places = db.session.scalars(
                select(Place).where(Place.timeslot_id == slot.id, Place.status == "confirmed").order_by(Place.id)
                .options(joinedload(Place.attendance).joinedload(Attendance.person))
            ).all()
            for place in places:
                queued += queue_mail(
                    place.attendance.person.email, "followup_attendee", dedupe_key=f"followup:{place.id}",
                    event=event, organization=event.organization, person=place.attendance.person, label=label,
                    next_events=next_events, more_url=external_url("events.index", org=event.organization.slug),
                ) is not None
            attendees_url = external_url("rsvps.attendees", slug=event.organization.slug, event_uuid=event.uuid)
            for user in active_organizers(event.organization_id):
                queued += queue_mail(
                    user.email, "followup_organizer", dedupe_key=f"followup-organizer:{slot.id}:{user.id}",
                    user=user, event=event, organization=event.organization, label=label, going=len(places),
                    attendees_url=attendees_url,
                ) is not None
    return queued

