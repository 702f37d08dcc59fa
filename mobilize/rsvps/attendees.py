"""Who comes to an event, as organizers (and the API) read it: the attendee list, its counts and its CSV.

Everything here reads; what changes a place goes through ``rsvps.services``.
"""

import csv
import io
from collections.abc import Iterator
from datetime import datetime

from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import aliased

from mobilize.accounts.services import organization_ids_for
from mobilize.core.errors import NotFound
from mobilize.core.models import utcnow
from mobilize.core.signals import people_of_organizations
from mobilize.core.text import csv_cell, like_containing
from mobilize.events import access
from mobilize.events.models import Event, Timeslot
from mobilize.extensions import db
from mobilize.people.models import Person
from mobilize.rsvps.models import UTM_FIELDS, Attendance, Place


def going_count(event: Event) -> int:
    """Seats taken across the event's timeslots: the only attendee figure public pages show."""
    return sum(slot.seats_taken for slot in event.timeslots if slot.deleted_at is None)


def has_started(event: Event) -> bool:
    return any(slot.start_at <= utcnow() for slot in event.timeslots if slot.deleted_at is None)


def attendance_by_uuid(event: Event, attendance_uuid) -> Attendance:
    attendance = db.session.scalar(
        select(Attendance).where(Attendance.uuid == attendance_uuid, Attendance.event_id == event.id)
    )
    if attendance is None:
        raise NotFound("We could not find that attendee.")
    return attendance


# ------------------------------------------------------------------ the attendee list and its export

def _event_places(event: Event):
    """The event's places, each with ``position``: a waitlisted place's 1-based place in its timeslot's line.

    Numbered before any filter applies, in one pass (a window), so a search
    still shows true positions and a big list costs one sort.
    """
    line = func.row_number().over(partition_by=(Place.timeslot_id, Place.status), order_by=(Place.queued_at, Place.id))
    ranked = (
        select(Place, case((Place.status == "waitlisted", line), else_=None).label("position"))
        .where(Place.timeslot_id.in_(select(Timeslot.id).where(Timeslot.event_id == event.id)))
        .subquery()
    )
    return aliased(Place, ranked, name="Place"), ranked.c.position


def _attendee_select(event: Event, *, timeslot_id: int | None = None, status: str | None = None,
                     search: str | None = None, attended: str | None = None, columns=None):
    """Places at the event with their attendance, person, timeslot and waitlist position, filtered."""
    place, position = _event_places(event)
    status_order = case({"confirmed": 0, "waitlisted": 1, "cancelled": 2}, value=place.status)
    query = (
        select(*(columns(place, position) if columns else (place, Attendance, Person, Timeslot, position)))
        .select_from(place).join(Attendance, Attendance.id == place.attendance_id).join(Person)
        .join(Timeslot, Timeslot.id == place.timeslot_id)
        .order_by(Timeslot.start_at, Timeslot.id, status_order, place.queued_at, place.id)
    )
    if timeslot_id:
        query = query.where(place.timeslot_id == timeslot_id)
    if status:
        query = query.where(place.status == status)
    if attended in ("yes", "no", "unmarked"):
        query = query.where({"yes": Attendance.attended.is_(True), "no": Attendance.attended.is_(False),
                             "unmarked": Attendance.attended.is_(None)}[attended])
    if search and search.strip():
        pattern = like_containing(search.strip().lower())
        name = func.lower(Person.given_name + " " + Person.family_name)
        query = query.where(or_(name.like(pattern, escape="\\"), func.lower(Person.email).like(pattern, escape="\\")))
    return query


def attendee_page(event: Event, *, page: int = 1, per_page: int = 50, **filters) -> tuple[list, int]:
    """One page of (place, attendance, person, timeslot, position) rows and the total matching."""
    query = _attendee_select(event, **filters)
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    rows = db.session.execute(query.limit(per_page).offset((max(1, page) - 1) * per_page)).all()
    return rows, total


def status_counts(event: Event) -> dict[int, dict[str, int]]:
    """{timeslot id: {status: places}} for the organizer's summary."""
    counts: dict[int, dict[str, int]] = {}
    rows = db.session.execute(
        select(Place.timeslot_id, Place.status, func.count()).join(Attendance)
        .where(Attendance.event_id == event.id).group_by(Place.timeslot_id, Place.status)
    )
    for slot_id, status, n in rows:
        counts.setdefault(slot_id, {})[status] = n
    return counts


CSV_HEADER = ("timeslot_start_utc", "status", "waitlist_position", "given_name", "family_name", "email", "phone",
              "postal_code", "guests", "attended", "signed_up_utc", "referrer", *UTM_FIELDS, "attendance_id")
def _cell(value) -> str:
    """A CSV cell: yes/no, ISO times, and text that spreadsheets will not run as a formula."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return value.isoformat()
    return csv_cell(value)


def attendee_csv(event: Event, batch: int = 500, **filters) -> Iterator[str]:
    """The attendee list as CSV text chunks, streamed from a server-side cursor in constant memory.

    The caller has checked the organizer (``access.event_for_organizer``) and keeps an app context open.
    """
    def columns(place, position):
        return (Timeslot.start_at, place.status, position, Person.given_name, Person.family_name,
                Person.email, Person.phone, Person.postal_code, Attendance.guests, Attendance.attended,
                Attendance.created_at, Attendance.referrer, *(getattr(Attendance, f) for f in UTM_FIELDS),
                Attendance.uuid)

    query = _attendee_select(event, columns=columns, **filters)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_HEADER)
    result = db.session.execute(query.execution_options(yield_per=batch))
    for rows in result.partitions():
        writer.writerows([_cell(v) for v in row] for row in rows)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()


# ------------------------------------------------------------------ the API's view of attendances

def attendances_visible_to(user_id: int):
    """A select of the attendances at events the user's organizations host or co-host."""
    return (select(Attendance).join(Event).where(access.of_organizations(organization_ids_for(user_id)))
            .order_by(Attendance.id))


def event_for_api(user_id: int, event_uuid) -> Event:
    """The event whose attendances the API lists, deleted ones too (see ``events.access``); Forbidden to others."""
    event = access.event_by_uuid(event_uuid)
    if event is None:
        raise NotFound("No such event.")
    access.require_organizer(user_id, event)
    return event


@people_of_organizations.connect
def _people_at_hosted_events(org_ids):
    return select(Attendance.person_id).join(Event).where(access.of_organizations(org_ids))


