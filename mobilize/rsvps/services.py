"""What supporters and organizers do with RSVPs: each public call is one unit of work.

Who gets a seat is decided in ``rsvps.seats``, under its locks; what is read
about attendees (lists, counts, the CSV) is in ``rsvps.attendees``.
"""

import secrets
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.attributes import set_committed_value

from mobilize.core.errors import Conflict, Invalid, NotFound
from mobilize.core.models import utcnow
from mobilize.core.sql import insert_loaded
from mobilize.core.transaction import unit_of_work
from mobilize.events import access
from mobilize.events.models import Event, Timeslot
from mobilize.extensions import db
from mobilize.feeds.invalidation import note_stale
from mobilize.people.services import person_for, subscribe
from mobilize.rsvps import mail
from mobilize.rsvps.attendees import has_started
from mobilize.rsvps.models import UTM_FIELDS, Attendance
from mobilize.rsvps.seats import change_capacity, change_places, lock_attendance


def opt_in_wording(organization_name: str) -> str:
    """What the opt-in box says; stored word for word with the opt-in."""
    return f"Yes, {organization_name} may email me about its events and campaigns. I can unsubscribe at any time."


def open_timeslots(event: Event) -> list[Timeslot]:
    """Timeslots a supporter may still choose: not deleted and not over."""
    now = utcnow()
    return [slot for slot in event.timeslots if slot.deleted_at is None and slot.end_at > now]


# ------------------------------------------------------------------ events as RSVPs see them

def get_event(event_uuid, user_id: int | None = None) -> Event:
    """The event as its RSVP page shows it (a private one to its organizers only), with what the
    form and the mail need loaded up front."""
    event = db.session.execute(
        select(Event).where(Event.uuid == event_uuid, Event.deleted_at.is_(None))
        .options(joinedload(Event.organization), joinedload(Event.timeslots))
    ).unique().scalar_one_or_none()
    if event is None or (event.visibility == "private" and not access.can_manage(user_id, event)):
        raise NotFound("We could not find that event.")
    return event


def _open_event(event_id: int) -> Event:
    event = db.session.get(Event, event_id)
    if event is None or event.deleted_at is not None:
        raise NotFound("We could not find that event.")
    if event.status == "cancelled":
        raise Conflict("This event was cancelled, so it takes no RSVPs or changes.")
    return event


def _chosen_timeslots(event: Event, timeslot_ids: Iterable) -> set[int]:
    """Ids of the event's open timeslots named by uuid (or "mobilize:<uuid>"); Invalid otherwise."""
    by_uuid = {str(slot.uuid): slot for slot in event.timeslots if slot.deleted_at is None}
    chosen = set()
    for raw in timeslot_ids:
        slot = by_uuid.get(str(raw).removeprefix("mobilize:").strip().lower())
        if slot is None:
            raise Invalid("Choose a time from this event.", {"timeslots": "That time is not part of this event."})
        if slot.end_at <= utcnow():
            raise Invalid("That time has passed.", {"timeslots": "Choose a time that has not passed."})
        chosen.add(slot.id)
    if not chosen:
        raise Invalid("Choose at least one time.", {"timeslots": "Choose at least one time."})
    return chosen


def _checked_guests(event: Event, guests) -> int:
    try:
        guests = int(guests or 0)
    except (TypeError, ValueError):
        raise Invalid("Guests must be a whole number.", {"guests": "Enter a number."}) from None
    if guests < 0 or guests > event.max_guests:
        message = "This event takes no guests." if event.max_guests == 0 else \
            f"You can bring up to {event.max_guests} guest{'s' if event.max_guests != 1 else ''}."
        raise Invalid(message, {"guests": message})
    return guests


# ------------------------------------------------------------------ supporters

def rsvp(event_id: int, *, email: str, given_name: str, family_name: str = "", phone: str = "",
         postal_code: str = "", timeslot_ids: Iterable = (), guests=0, opt_in: bool = False,
         referrer: str = "", utm: dict | None = None, source: str = "form", notify: bool = True) -> Attendance:
    """RSVP a person (found or created by email) to the chosen timeslots.

    RSVPing again with the same email changes that person's one attendance:
    its timeslots and guests become what was sent this time. ``notify=False``
    sends no confirmation (records imported or seeded on someone's behalf).
    """
    with unit_of_work(keep_loaded=True):
        event = _open_event(event_id)
        wanted = _chosen_timeslots(event, timeslot_ids)
        guests = _checked_guests(event, guests)
        if not (given_name or "").strip():
            raise Invalid("Tell us your first name.", {"given_name": "Required."})
        person, new_person = person_for(email, given_name=given_name, family_name=family_name, phone=phone,
                                        postal_code=postal_code)
        if opt_in:
            wording = opt_in_wording(event.organization.name)
            if source == "api":
                wording = f"Recorded as subscribed through the API by an organizer of {event.organization.name}."
            subscribe(person, event.organization_id, wording, f"{source}:rsvp:{event.uuid}")
        attendance, new = _attendance_for(person.id, event.id, guests, source, referrer, utm or {})
        change_places(attendance, wanted, guests, notify=notify, new=new)
        if new and not new_person:  # a new person has no personal feed to refresh yet
            note_stale(db.session(), f"person:{person.id}")
    return attendance


def _attendance_for(person_id: int, event_id: int, guests: int, source: str, referrer: str,
                    utm: dict) -> tuple[Attendance, bool]:
    """The person's attendance at the event, locked, and whether it is new: created race-free (INSERT ...
    ON CONFLICT DO NOTHING, with these guests as its first revision), so a new row is ours alone until
    commit, or else the existing one locked."""
    tracking = {name: (utm.get(name) or "").strip()[:200] for name in UTM_FIELDS}
    created = insert_loaded(Attendance, ("person_id", "event_id"), {
        "event_id": event_id, "person_id": person_id, "guests": guests, "source": source,
        "referrer": (referrer or "").strip()[:1000], "revision": 1, "manage_key": secrets.token_urlsafe(16),
        **tracking})
    if created is not None:
        set_committed_value(created, "places", [])
        return created, True
    return lock_attendance(db.session.scalar(
        select(Attendance.id).where(Attendance.person_id == person_id, Attendance.event_id == event_id)
    )), False


def change_rsvp(attendance_id: int, *, timeslot_ids: Iterable, guests) -> Attendance:
    """The supporter's own change from the manage page."""
    with unit_of_work(keep_loaded=True):
        attendance = lock_attendance(attendance_id)
        event = _open_event(attendance.event_id)
        change_places(attendance, _chosen_timeslots(event, timeslot_ids), _checked_guests(event, guests))
    return attendance


def cancel_rsvp(attendance_id: int) -> Attendance:
    """The supporter cancels every place; their seats go to the waitlist."""
    with unit_of_work(keep_loaded=True):
        attendance = lock_attendance(attendance_id)
        if change_places(attendance, set(), attendance.guests, notify=False):
            mail.queue_cancelled(attendance, by_organizer=False)
    return attendance


def replace_manage_link(attendance_id: int) -> Attendance:
    """Revoke every earlier manage link and mail the supporter a new one."""
    with unit_of_work(keep_loaded=True):
        attendance = lock_attendance(attendance_id)
        attendance.manage_key = secrets.token_urlsafe(16)
        mail.queue_new_link(attendance)
    return attendance


# ------------------------------------------------------------------ organizers

def _organizer_attendance(user_id: int | None, attendance_id: int) -> Attendance:
    attendance = lock_attendance(attendance_id)
    access.require_organizer(user_id, attendance.event)
    return attendance


def cancel_place(user_id: int | None, attendance_id: int, timeslot_id: int | None = None) -> Attendance:
    """An organizer cancels an attendee in one timeslot (or all); the attendee is told."""
    with unit_of_work(keep_loaded=True):
        attendance = _organizer_attendance(user_id, attendance_id)
        keep = {p.timeslot_id for p in attendance.active_places() if timeslot_id and p.timeslot_id != timeslot_id}
        if change_places(attendance, keep, attendance.guests, notify=bool(keep)) and not keep:
            mail.queue_cancelled(attendance, by_organizer=True)
    return attendance


def move_attendee(user_id: int | None, attendance_id: int, from_timeslot_id: int, to_timeslot_id: int) -> Attendance:
    """Move an attendee to another timeslot of the event; refused when it has no room for their party."""
    with unit_of_work(keep_loaded=True):
        attendance = _organizer_attendance(user_id, attendance_id)
        event = _open_event(attendance.event_id)
        target = next((s for s in open_timeslots(event) if s.id == to_timeslot_id), None)
        if target is None:
            raise Invalid("Choose an upcoming time of this event.", {"timeslot": "Not a time of this event."})
        active = {p.timeslot_id for p in attendance.active_places()}
        if from_timeslot_id not in active:
            raise Conflict("That attendee holds no place in that time.")
        if to_timeslot_id in active:
            raise Conflict("That attendee is already signed up for that time.")
        change_places(attendance, (active - {from_timeslot_id}) | {to_timeslot_id}, attendance.guests,
                      may_waitlist=False)
    return attendance


def _mark(attendance: Attendance, attended: bool | None) -> None:
    if attended is not None and not has_started(attendance.event):
        raise Invalid("You can mark who came once the event has started.", {"attended": "Not yet."})
    attendance.attended = attended


def mark_attended(user_id: int | None, attendance_id: int, attended: bool | None) -> Attendance:
    """Attended (True), no-show (False) or not marked (None), once the event has begun."""
    with unit_of_work(keep_loaded=True):
        attendance = _organizer_attendance(user_id, attendance_id)
        _mark(attendance, attended)
    return attendance


def set_capacity(user_id: int | None, timeslot_id: int, capacity: int | None) -> Timeslot:
    """An organizer changes a timeslot's capacity (None: unlimited); see ``seats.change_capacity``."""
    with unit_of_work(keep_loaded=True):
        slot = db.session.get(Timeslot, timeslot_id)
        if slot is None:
            raise NotFound("We could not find that time.")
        access.require_organizer(user_id, slot.event)
        slot = change_capacity(timeslot_id, capacity)
    return slot


def set_status(user_id: int, attendance_id: int, *, status: str | None = None,
               attended: bool | None = None, set_attended: bool = False) -> Attendance:
    """The API's PUT. "declined" cancels every place; "accepted" rejoins a cancelled attendance's upcoming
    timeslots, with capacity and waitlist as for the form; ``attended`` is written when ``set_attended``."""
    if status is not None and status not in ("accepted", "declined", "cancelled"):
        raise Invalid("status must be accepted or declined.", {"status": f"{status!r} is not allowed."})
    with unit_of_work(keep_loaded=True):
        attendance = _organizer_attendance(user_id, attendance_id)
        if status in ("declined", "cancelled"):
            if change_places(attendance, set(), attendance.guests, notify=False):
                mail.queue_cancelled(attendance, by_organizer=True)
        elif status == "accepted" and attendance.status == "cancelled":
            event = _open_event(attendance.event_id)
            rejoin = {p.timeslot_id for p in attendance.places} & {slot.id for slot in open_timeslots(event)}
            if not rejoin:
                raise Conflict("This attendance has no upcoming time to accept.")
            change_places(attendance, rejoin, attendance.guests)
        if set_attended:
            _mark(attendance, attended)
    return attendance
