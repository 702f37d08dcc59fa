"""RSVPs: the one place that decides who holds a seat.

Seats change only with the timeslot rows locked (SELECT ... FOR UPDATE, or
the UPDATE that takes them), so a rush on the last seats is serialized by
PostgreSQL, not by Python; what else a change writes (the person, the
attendance, the mail) is written before that lock, so the lock is held for a
few short statements (on PostgreSQL a newcomer's one statement travels with
its COMMIT). Joining a full timeslot's waitlist moves no seat: it takes the
lock shared, so such newcomers do not queue behind each other.

Locks are always taken in one order: the person's row (when their details
change), the attendance, then its timeslots by id. A promotion, which runs
while holding a timeslot, writes only other attendances' places in that
timeslot, and those are written nowhere else without that same lock: no two
transactions can wait on each other in a cycle. For the same reason a
place's status is only trusted once its timeslot is locked.
"""

import csv
import io
import secrets
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache

from sqlalchemy import bindparam, case, func, or_, select, update
from sqlalchemy.orm import aliased, joinedload
from sqlalchemy.orm.attributes import set_committed_value

from mobilize.accounts.services import organization_ids_for, require_member
from mobilize.core.errors import Conflict, Invalid, NotFound
from mobilize.core.mail import discard_mail
from mobilize.core.models import utcnow
from mobilize.core.sql import as_loaded, commit_with, insert_loaded, upsert
from mobilize.events.models import Event, Timeslot, event_cohosts
from mobilize.events.times import format_range
from mobilize.extensions import db
from mobilize.feeds.invalidation import note_stale
from mobilize.people.models import Person
from mobilize.people.services import PERSON_LINKS, person_for, subscribe
from mobilize.rsvps import mail
from mobilize.rsvps.models import UTM_FIELDS, Attendance, PersonalFeed, Place


@contextmanager
def _unit_of_work():
    """Commit what the block wrote, or roll all of it back when it raises.

    What the block loaded stays loaded: it is what was just committed, and the
    page or API answer that follows would otherwise read it all again.
    """
    session = db.session()
    try:
        yield
        session.expire_on_commit = False
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.expire_on_commit = True


def opt_in_wording(organization_name: str) -> str:
    """What the opt-in box says; stored word for word with the opt-in."""
    return f"Yes, {organization_name} may email me about its events and campaigns. I can unsubscribe at any time."


def slot_label(slot: Timeslot, tz_name: str) -> str:
    return format_range(slot.start_at, slot.end_at, tz_name)


def going_count(event: Event) -> int:
    """Seats taken across the event's timeslots: the only attendee figure public pages show."""
    return sum(slot.seats_taken for slot in event.timeslots if slot.deleted_at is None)


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
    if event is None or (event.visibility == "private" and not _organizes(user_id, event)):
        raise NotFound("We could not find that event.")
    return event


def _organizes(user_id: int | None, event: Event) -> bool:
    hosts = {event.organization_id, *(org.id for org in event.cohosts)}
    return user_id is not None and bool(hosts.intersection(organization_ids_for(user_id)))


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


# ------------------------------------------------------------------ seats, under the timeslot locks

def _lock_attendance(attendance_id: int) -> Attendance:
    """The attendance, locked, with its places read afresh."""
    attendance = db.session.scalar(
        select(Attendance).where(Attendance.id == attendance_id).with_for_update()
        .execution_options(populate_existing=True)
    )
    if attendance is None:
        raise NotFound("We could not find that RSVP.")
    _reload_places(attendance)
    return attendance


def _reload_places(attendance: Attendance) -> None:
    """Read the attendance's places again: ones loaded earlier (by the page, or before a lock) may be stale.

    Which timeslots an attendance holds changes only under its own lock; a
    waitlisted place can turn confirmed under its timeslot's lock alone.
    """
    places = db.session.scalars(
        select(Place).where(Place.attendance_id == attendance.id).order_by(Place.timeslot_id)
        .execution_options(populate_existing=True)
    ).all()
    set_committed_value(attendance, "places", places)


def _lock_timeslots(ids: set[int]) -> dict[int, Timeslot]:
    slots = db.session.scalars(
        select(Timeslot).where(Timeslot.id.in_(sorted(ids))).order_by(Timeslot.id).with_for_update()
        .execution_options(populate_existing=True)
    )
    return {slot.id: slot for slot in slots}


def _fits(slot: Timeslot, seats: int) -> bool:
    return slot.capacity is None or slot.seats_taken + seats <= slot.capacity


def _promote(slot: Timeslot) -> list[Place]:
    """Confirm waitlisted places in order while seats are free, skipping parties too big for them.

    The caller holds the timeslot's lock; afterwards no waitlisted place fits,
    which is why a newcomer who fits may take a free seat without jumping anyone.
    """
    promoted = []
    if not (slot.capacity is None or slot.seats_taken < slot.capacity):
        return promoted
    queue = db.session.execute(
        select(Place, Attendance.guests).join(Attendance)
        .where(Place.timeslot_id == slot.id, Place.status == "waitlisted")
        .order_by(Place.queued_at, Place.id).execution_options(populate_existing=True)
    ).all()
    now = utcnow()
    for place, guests in queue:
        if _fits(slot, 1 + guests):
            place.status, place.confirmed_at = "confirmed", now
            slot.seats_taken += 1 + guests
            promoted.append(place)
        if slot.capacity is not None and slot.seats_taken >= slot.capacity:
            break
    return promoted


@dataclass
class Plan:
    """What a change does: each timeslot's status after it, and the seats it takes (or frees) in each."""

    statuses: dict[int, str]
    seats: dict[int, int] = field(default_factory=dict)
    freed: set[int] = field(default_factory=set)


def _plan(attendance: Attendance, slots: dict[int, Timeslot], wanted: set[int], old_guests: int, guests: int,
          may_waitlist: bool) -> Plan:
    """Decide the change against these seat counts: places kept stay as they are, new ones are
    confirmed when they fit, else waitlisted (or Conflict). Writes nothing."""
    plan = Plan({place.timeslot_id: place.status for place in attendance.places})
    old_seats, new_seats, tz = 1 + old_guests, 1 + guests, attendance.event.timezone
    for slot_id, status in list(plan.statuses.items()):
        slot = slots[slot_id]
        if status == "cancelled":
            continue
        if slot_id not in wanted:
            plan.statuses[slot_id] = "cancelled"
            plan.seats[slot_id] = -old_seats if status == "confirmed" else 0
            plan.freed.add(slot_id)
        elif status == "confirmed" and new_seats != old_seats:
            if not _fits(slot, new_seats - old_seats):
                left = slot.capacity - slot.seats_taken + old_seats
                message = f"Only {left} seat{'s' if left != 1 else ''} left for you at {slot_label(slot, tz)}."
                raise Conflict(message, {"guests": f"You can bring at most {left - 1} guest(s) to that time."})
            plan.seats[slot_id] = new_seats - old_seats
            if new_seats < old_seats:
                plan.freed.add(slot_id)
        elif status == "waitlisted" and new_seats < old_seats:
            plan.freed.add(slot_id)
    for slot_id in sorted(wanted):
        if plan.statuses.get(slot_id, "cancelled") != "cancelled":
            continue
        slot = slots[slot_id]
        if _fits(slot, new_seats):
            plan.statuses[slot_id], plan.seats[slot_id] = "confirmed", new_seats
        elif may_waitlist and attendance.event.allow_waitlist:
            plan.statuses[slot_id] = "waitlisted"
        else:
            label = slot_label(slot, tz)
            raise Conflict(f"{label} is full.", {"timeslots": f"{label} is full. Choose another time."})
    return plan


def _carry_out(attendance: Attendance, slots: dict[int, Timeslot], plan: Plan) -> list[Place]:
    """Write the plan (the caller holds the timeslots' locks); returns the places promoted in freed timeslots."""
    now = utcnow()
    places = {place.timeslot_id: place for place in attendance.places}
    for slot_id, delta in plan.seats.items():
        slots[slot_id].seats_taken += delta
    for slot_id, status in plan.statuses.items():
        place = places.get(slot_id)
        if place is not None and place.status == status:
            continue
        if place is None:
            place = Place(attendance=attendance, timeslot=slots[slot_id])
            db.session.add(place)
        if status == "cancelled":
            place.cancelled_at = now
        else:  # joining: its place in line is taken now, under the lock
            place.queued_at, place.cancelled_at = now, None
            place.confirmed_at = now if status == "confirmed" else None
        place.status = status
    return [place for slot_id in sorted(plan.freed) for place in _promote(slots[slot_id])]


def _apply(attendance: Attendance, wanted: set[int], guests: int, *, may_waitlist: bool = True,
           notify: bool = True, new: bool = False) -> bool:
    """Change the attendance (its lock held) and queue the mail it calls for; True when anything changed.

    Everything but the seats (the attendance, the mail) is written before the
    timeslots are locked, from a plan made on their unlocked counts, so a rush
    on one timeslot holds its lock only for a few short statements. Under the
    lock the plan is made again; when the counts moved the other way (rare:
    the last seats) the mail is rewritten. A ``new`` attendance was inserted with
    its guests and first revision already, and takes its places by ``_seat_newcomer``.
    """
    old_guests, revision = (0, 0) if new else (attendance.guests, attendance.revision)
    before = {place.timeslot_id: place.status for place in attendance.places}
    loaded = {slot.id: slot for slot in attendance.event.timeslots}  # a guess needs no fresh read
    try:
        guessed = _plan(attendance, loaded, wanted, old_guests, guests, may_waitlist)
    except Conflict:  # maybe not once locked: decide there
        guessed = Plan(before)
    mail_id = None
    if (guests, guessed.statuses) != (old_guests, before):
        if not new:
            attendance.guests, attendance.revision = guests, revision + 1
        if notify:
            mail_id = mail.queue_update(attendance, guessed.statuses, guests, revision + 1)
    if new:
        after, promoted = _seat_newcomer(attendance, wanted, 1 + guests, may_waitlist, guessed.statuses), []
    else:
        db.session.flush()
        slots = _lock_timeslots({place.timeslot_id for place in attendance.places} | wanted)
        if "waitlisted" in before.values():
            _reload_places(attendance)  # a promotion may have confirmed one since
            before = {place.timeslot_id: place.status for place in attendance.places}
        final = _plan(attendance, slots, wanted, old_guests, guests, may_waitlist)
        promoted = _carry_out(attendance, slots, final)
        after = {**final.statuses, **{p.timeslot_id: p.status for p in promoted if p.attendance_id == attendance.id}}
    changed = new or (guests, after) != (old_guests, before)
    if not new:
        attendance.guests, attendance.revision = (guests, revision + 1) if changed else (old_guests, revision)
    if mail_id is not None and not changed:
        discard_mail(mail_id)
    elif mail_id is not None and after != guessed.statuses:
        mail.rewrite_update(mail_id, attendance, after, guests)
    elif mail_id is None and changed and notify:
        mail.queue_update(attendance, after, guests, revision + 1)
    _tell_promoted([p for p in promoted if p.attendance_id != attendance.id])
    return changed


def _seat_newcomer(attendance: Attendance, wanted: set[int], seats: int, may_waitlist: bool,
                   guessed: dict[int, str]) -> dict[int, str]:
    """A new attendance's places in Core statements, without the unit of work: the rush's path.

    Where the party fits, one conditional UPDATE takes the seats and holds the
    timeslot's row lock to commit, as SELECT ... FOR UPDATE would; no waitlisted
    party fits (see ``_promote``), so none is jumped. Where it does not fit (or
    the unlocked counts ``guessed`` so), the timeslot is locked and its counts read
    before joining its waitlist, so a seat freed in between is not missed.

    On PostgreSQL a newcomer to one timeslot whose guess holds under the lock is
    seated by one statement sent with the COMMIT (``_seat_and_commit``): the rush
    on a hot timeslot then waits only on the server's own work.
    """
    loaded = {slot.id: slot for slot in attendance.event.timeslots}
    if len(wanted) == 1 and db.engine.dialect.name == "postgresql":
        [slot_id] = wanted
        if guessed.get(slot_id) in ("confirmed", "waitlisted"):
            seated = _seat_and_commit(attendance.id, slot_id, seats, guessed[slot_id])
            if seated is not None:
                place, seats_taken = seated
                set_committed_value(attendance, "places", [place])
                if seats_taken is not None:
                    set_committed_value(loaded[slot_id], "seats_taken", seats_taken)
                return {slot_id: place.status}
    connection = db.session.connection()
    statuses, places = {}, []
    for slot_id in sorted(wanted):
        taken = None
        if guessed.get(slot_id) == "confirmed":
            taken = connection.execute(_take_seats(), {"slot_id": slot_id, "seats": seats}).scalar()
        if taken is None:
            capacity, now_taken = connection.execute(
                select(Timeslot.capacity, Timeslot.seats_taken).where(Timeslot.id == slot_id).with_for_update()
            ).one()
            if capacity is None or now_taken + seats <= capacity:
                taken = connection.execute(_take_seats(), {"slot_id": slot_id, "seats": seats}).scalar()
        if taken is not None:
            set_committed_value(loaded[slot_id], "seats_taken", taken)
        elif not (may_waitlist and attendance.event.allow_waitlist):
            label = slot_label(loaded[slot_id], attendance.event.timezone)
            raise Conflict(f"{label} is full.", {"timeslots": f"{label} is full. Choose another time."})
        statuses[slot_id], now = "confirmed" if taken is not None else "waitlisted", utcnow()  # in line, locked
        places.append(insert_loaded(Place, ("attendance_id", "timeslot_id"), {
            "attendance_id": attendance.id, "timeslot_id": slot_id, "status": statuses[slot_id], "queued_at": now,
            "confirmed_at": now if taken is not None else None}))
    set_committed_value(attendance, "places", places)
    return statuses


# The rush's last statement on PostgreSQL: the place, as guessed, stamped in line under the timeslot's lock.
# When the guess no longer holds its status is NULL, which the NOT NULL constraint refuses (see commit_with).
# Joining the waitlist changes no seat, so it takes the lock shared (FOR SHARE): a rush of newcomers to a
# full timeslot joins its line side by side, while whatever moves seats (taking one, a cancellation and
# its promotions) waits for them, and they for it; so no newcomer is waitlisted beside a free seat.
_SEAT_CONFIRMED = """
    WITH taken AS (
        UPDATE timeslots SET seats_taken = seats_taken + %(seats)s, modified_at = %(now)s
        WHERE id = %(slot_id)s AND (capacity IS NULL OR seats_taken + %(seats)s <= capacity)
        RETURNING seats_taken, clock_timestamp() AS at)
    INSERT INTO attendance_timeslots (attendance_id, timeslot_id, status, queued_at, confirmed_at, created_at,
                                      modified_at)
    VALUES (%(attendance_id)s, %(slot_id)s, (SELECT 'confirmed' FROM taken), (SELECT at FROM taken),
            (SELECT at FROM taken), %(now)s, %(now)s)
    RETURNING *, (SELECT seats_taken FROM taken) AS seats_taken"""
_SEAT_WAITLISTED = """
    WITH slot AS (
        SELECT capacity IS NOT NULL AND seats_taken + %(seats)s > capacity AS no_room
        FROM timeslots WHERE id = %(slot_id)s FOR SHARE),
    queued AS (SELECT 'waitlisted' AS status, clock_timestamp() AS at FROM slot WHERE no_room)
    INSERT INTO attendance_timeslots (attendance_id, timeslot_id, status, queued_at, confirmed_at, created_at,
                                      modified_at)
    VALUES (%(attendance_id)s, %(slot_id)s, (SELECT status FROM queued), (SELECT at FROM queued), NULL,
            %(now)s, %(now)s)
    RETURNING *, NULL AS seats_taken"""


def _seat_and_commit(attendance_id: int, slot_id: int, seats: int, guessed: str) -> tuple[Place, int | None] | None:
    """A newcomer's one place, as guessed, written and committed in one round trip, with the seats now taken
    when it took some; None, with nothing written, when the guess is wrong once the timeslot is locked.
    rsvp() writes nothing after it."""
    row = commit_with(_SEAT_CONFIRMED if guessed == "confirmed" else _SEAT_WAITLISTED,
                      {"attendance_id": attendance_id, "slot_id": slot_id, "seats": seats, "now": utcnow()})
    if row is None:
        return None
    seats_taken = row.pop("seats_taken")
    return as_loaded(Place, row), seats_taken


@cache
def _take_seats():
    """UPDATE timeslots SET seats_taken = seats_taken + :seats WHERE id = :slot_id AND the seats fit
    RETURNING seats_taken (built once per process)."""
    table = Timeslot.__table__
    fits = or_(table.c.capacity.is_(None), table.c.seats_taken + bindparam("seats") <= table.c.capacity)
    return (update(table).where(table.c.id == bindparam("slot_id"), fits)
            .values(seats_taken=table.c.seats_taken + bindparam("seats")).returning(table.c.seats_taken))


def _tell_promoted(places: list[Place]) -> None:
    """Mail each promoted supporter; their attendance row is not written (see the module's lock order)."""
    for place in places:
        mail.queue_promotion(place)


# ------------------------------------------------------------------ supporters

def rsvp(event_id: int, *, email: str, given_name: str, family_name: str = "", phone: str = "",
         postal_code: str = "", timeslot_ids: Iterable = (), guests=0, opt_in: bool = False,
         referrer: str = "", utm: dict | None = None, source: str = "form", notify: bool = True) -> Attendance:
    """RSVP a person (found or created by email) to the chosen timeslots.

    RSVPing again with the same email changes that person's one attendance:
    its timeslots and guests become what was sent this time. ``notify=False``
    sends no confirmation (records imported or seeded on someone's behalf).
    """
    with _unit_of_work():
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
        _apply(attendance, wanted, guests, notify=notify, new=new)
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
    return _lock_attendance(db.session.scalar(
        select(Attendance.id).where(Attendance.person_id == person_id, Attendance.event_id == event_id)
    )), False


def change_rsvp(attendance_id: int, *, timeslot_ids: Iterable, guests) -> Attendance:
    """The supporter's own change from the manage page."""
    with _unit_of_work():
        attendance = _lock_attendance(attendance_id)
        event = _open_event(attendance.event_id)
        _apply(attendance, _chosen_timeslots(event, timeslot_ids), _checked_guests(event, guests))
    return attendance


def cancel_rsvp(attendance_id: int) -> Attendance:
    """The supporter cancels every place; their seats go to the waitlist."""
    with _unit_of_work():
        attendance = _lock_attendance(attendance_id)
        if _apply(attendance, set(), attendance.guests, notify=False):
            mail.queue_cancelled(attendance, by_organizer=False)
    return attendance


# ------------------------------------------------------------------ the manage link

def replace_manage_link(attendance_id: int) -> Attendance:
    """Revoke every earlier manage link and mail the supporter a new one."""
    with _unit_of_work():
        attendance = _lock_attendance(attendance_id)
        attendance.manage_key = secrets.token_urlsafe(16)
        mail.queue_new_link(attendance)
    return attendance


# ------------------------------------------------------------------ the personal calendar feed

def feed_token_for(person_id: int) -> str:
    """The secret of the person's calendar feed ("Subscribe to your events"), made on first use."""
    with _unit_of_work():
        db.session.execute(
            upsert(PersonalFeed).values(person_id=person_id, token=secrets.token_urlsafe(24), created_at=utcnow())
            .on_conflict_do_nothing(index_elements=["person_id"])
        )
        token = db.session.scalar(select(PersonalFeed.token).where(PersonalFeed.person_id == person_id))
    return token


def rotate_feed_token(person_id: int) -> str:
    """Replace the feed secret: calendars subscribed with the old URL stop updating."""
    feed_token_for(person_id)
    with _unit_of_work():
        feed = db.session.get(PersonalFeed, person_id, with_for_update=True)
        feed.token, feed.created_at = secrets.token_urlsafe(24), utcnow()
        token = feed.token
    return token


def person_for_feed_token(token: str) -> Person | None:
    if not token:
        return None
    return db.session.scalar(select(Person).join(PersonalFeed).where(PersonalFeed.token == token))


def attendances_of(person_id: int) -> list[Attendance]:
    """A person's attendances at events that still exist, soonest first (for the personal feed)."""
    first_start = (select(func.min(Timeslot.start_at)).where(Timeslot.event_id == Attendance.event_id)
                   .correlate(Attendance).scalar_subquery())
    return list(db.session.scalars(
        select(Attendance).join(Event).where(Attendance.person_id == person_id, Event.deleted_at.is_(None))
        .order_by(first_start, Attendance.id)
    ))


# ------------------------------------------------------------------ organizers

def require_event_organizer(user_id: int | None, event: Event) -> None:
    """Organizers of the event's organization or of a co-hosting one; Forbidden otherwise."""
    if not _organizes(user_id, event):
        require_member(user_id, event.organization_id)


def event_for_organizer(user_id: int | None, slug: str, event_uuid) -> Event:
    """The event at /orgs/<slug>/events/<uuid>, when the org hosts it and the user organizes for it."""
    event = db.session.scalar(select(Event).where(Event.uuid == event_uuid))
    hosts = {event.organization.slug, *(org.slug for org in event.cohosts)} if event else set()
    if slug not in hosts:
        raise NotFound("We could not find that event.")
    require_event_organizer(user_id, event)
    return event


def _organizer_attendance(user_id: int | None, attendance_id: int) -> Attendance:
    attendance = _lock_attendance(attendance_id)
    require_event_organizer(user_id, attendance.event)
    return attendance


def attendance_by_uuid(event: Event, attendance_uuid) -> Attendance:
    attendance = db.session.scalar(
        select(Attendance).where(Attendance.uuid == attendance_uuid, Attendance.event_id == event.id)
    )
    if attendance is None:
        raise NotFound("We could not find that attendee.")
    return attendance


def cancel_place(user_id: int | None, attendance_id: int, timeslot_id: int | None = None) -> Attendance:
    """An organizer cancels an attendee in one timeslot (or all); the attendee is told."""
    with _unit_of_work():
        attendance = _organizer_attendance(user_id, attendance_id)
        keep = {p.timeslot_id for p in attendance.active_places() if timeslot_id and p.timeslot_id != timeslot_id}
        if _apply(attendance, keep, attendance.guests, notify=bool(keep)) and not keep:
            mail.queue_cancelled(attendance, by_organizer=True)
    return attendance


def move_attendee(user_id: int | None, attendance_id: int, from_timeslot_id: int, to_timeslot_id: int) -> Attendance:
    """Move an attendee to another timeslot of the event; refused when it has no room for their party."""
    with _unit_of_work():
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
        _apply(attendance, (active - {from_timeslot_id}) | {to_timeslot_id}, attendance.guests, may_waitlist=False)
    return attendance


def has_started(event: Event) -> bool:
    return any(slot.start_at <= utcnow() for slot in event.timeslots if slot.deleted_at is None)


def _mark(attendance: Attendance, attended: bool | None) -> None:
    if attended is not None and not has_started(attendance.event):
        raise Invalid("You can mark who came once the event has started.", {"attended": "Not yet."})
    attendance.attended = attended


def mark_attended(user_id: int | None, attendance_id: int, attended: bool | None) -> Attendance:
    """Attended (True), no-show (False) or not marked (None), once the event has begun."""
    with _unit_of_work():
        attendance = _organizer_attendance(user_id, attendance_id)
        _mark(attendance, attended)
    return attendance


def set_capacity(user_id: int | None, timeslot_id: int, capacity: int | None) -> Timeslot:
    """An organizer changes a timeslot's capacity (None: unlimited); see ``change_capacity``."""
    with _unit_of_work():
        slot = db.session.get(Timeslot, timeslot_id)
        if slot is None:
            raise NotFound("We could not find that time.")
        require_event_organizer(user_id, slot.event)
        slot = change_capacity(timeslot_id, capacity)
    return slot


def change_capacity(timeslot_id: int, capacity: int | None, field_name: str = "capacity") -> Timeslot:
    """Set a capacity inside the caller's unit of work (an events editor may call it too); the caller commits.

    Lowering it below the seats confirmed attendees hold is refused, so nobody
    is cancelled silently; raising it promotes from the waitlist and tells them.
    """
    if capacity is not None and capacity < 0:
        raise Invalid("Capacity cannot be negative.", {field_name: "Enter 0 or more, or leave it empty."})
    slot = _lock_timeslots({timeslot_id})[timeslot_id]
    if capacity is not None and capacity < slot.seats_taken:
        raise Conflict(
            f"{slot.seats_taken} seats are already taken by confirmed attendees and their guests, so the "
            f"capacity cannot go below {slot.seats_taken}. Cancel or move attendees first.",
            {field_name: f"At least {slot.seats_taken}."},
        )
    slot.capacity = capacity
    _tell_promoted(_promote(slot))
    return slot


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
        pattern = "%" + search.strip().lower().replace("\\", "\\\\").replace("%", r"\%").replace("_", r"\_") + "%"
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
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value) -> str:
    """A CSV cell that spreadsheets will not run as a formula."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return value.isoformat()
    text = str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def attendee_csv(event: Event, batch: int = 500, **filters) -> Iterator[str]:
    """The attendee list as CSV text chunks, streamed from a server-side cursor in constant memory.

    The caller has checked the organizer (``event_for_organizer``) and keeps an app context open.
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

def _hosted_by(org_ids):
    cohosted = select(event_cohosts.c.event_id).where(event_cohosts.c.organization_id.in_(org_ids))
    return or_(Event.organization_id.in_(org_ids), Event.id.in_(cohosted))


def attendances_visible_to(user_id: int):
    """A select of the attendances at events the user's organizations host or co-host."""
    return select(Attendance).join(Event).where(_hosted_by(organization_ids_for(user_id))).order_by(Attendance.id)


def event_for_api(user_id: int, event_uuid) -> Event:
    event = db.session.scalar(select(Event).where(Event.uuid == event_uuid))
    if event is None:
        raise NotFound("No such event.")
    require_event_organizer(user_id, event)
    return event


def set_status(user_id: int, attendance_id: int, *, status: str | None = None,
               attended: bool | None = None, set_attended: bool = False) -> Attendance:
    """The API's PUT. "declined" cancels every place; "accepted" rejoins a cancelled attendance's upcoming
    timeslots, with capacity and waitlist as for the form; ``attended`` is written when ``set_attended``."""
    if status is not None and status not in ("accepted", "declined", "cancelled"):
        raise Invalid("status must be accepted or declined.", {"status": f"{status!r} is not allowed."})
    with _unit_of_work():
        attendance = _organizer_attendance(user_id, attendance_id)
        if status in ("declined", "cancelled"):
            if _apply(attendance, set(), attendance.guests, notify=False):
                mail.queue_cancelled(attendance, by_organizer=True)
        elif status == "accepted" and attendance.status == "cancelled":
            event = _open_event(attendance.event_id)
            rejoin = {p.timeslot_id for p in attendance.places} & {slot.id for slot in open_timeslots(event)}
            if not rejoin:
                raise Conflict("This attendance has no upcoming time to accept.")
            _apply(attendance, rejoin, attendance.guests)
        if set_attended:
            _mark(attendance, attended)
    return attendance


def _people_at_hosted_events(org_ids):
    return select(Attendance.person_id).join(Event).where(_hosted_by(org_ids))


PERSON_LINKS.append(_people_at_hosted_events)
