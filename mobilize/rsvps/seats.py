"""Seats: the one place that decides who holds one, under the timeslot locks.

Lock order, always:

1. the person's row, when their details change (``people.services.person_for``);
2. the attendance (``lock_attendance``; a newcomer's is ours alone until commit);
3. its timeslots, by id (FOR UPDATE; a newcomer joining a full one's waitlist: FOR SHARE).

Seats change only with the timeslot rows locked (SELECT ... FOR UPDATE, or the
UPDATE that takes them), so a rush is serialized by PostgreSQL, not by Python.
A promotion, which runs while holding a timeslot, writes only other
attendances' places in that timeslot, and those are written nowhere else
without that same lock: no two transactions can wait on each other in a cycle.
For the same reason a place's status is only trusted once its timeslot is locked.

Words:

rush
    Many supporters RSVPing to one timeslot at once, for its last seats above all.
    Its lock is held for a few short statements: what else a change writes (the
    attendance, the mail) is written before it is taken.
guess
    The plan made on the seat counts loaded without a lock (as the page showed
    them). It decides what to write before the lock; under the lock the plan is
    made again, and the mail rewritten in the rare case the guess was wrong.
newcomer
    An attendance this very RSVP inserted, with no places yet. It takes its
    places by Core statements; on PostgreSQL one newcomer to one timeslot is
    seated by one statement sent with the COMMIT, so the rush waits only on the
    server's own work. Joining a full timeslot's waitlist moves no seat, so such
    newcomers take its lock shared and do not queue behind each other.
"""

from dataclasses import dataclass, field
from functools import cache

from sqlalchemy import bindparam, or_, select, update
from sqlalchemy.orm.attributes import set_committed_value

from mobilize.core.errors import Conflict, Invalid, NotFound
from mobilize.core.mail import discard_mail
from mobilize.core.models import utcnow
from mobilize.core.sql import as_loaded, commit_with, insert_loaded
from mobilize.events.models import Timeslot
from mobilize.events.times import format_range
from mobilize.extensions import db
from mobilize.rsvps import mail
from mobilize.rsvps.models import Attendance, Place


def slot_label(slot: Timeslot, tz_name: str) -> str:
    return format_range(slot.start_at, slot.end_at, tz_name)


def lock_attendance(attendance_id: int) -> Attendance:
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


def _tell_promoted(places: list[Place]) -> None:
    """Mail each promoted supporter; their attendance row is not written (see the lock order)."""
    for place in places:
        mail.queue_promotion(place)


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


def change_places(attendance: Attendance, wanted: set[int], guests: int, *, may_waitlist: bool = True,
                  notify: bool = True, new: bool = False) -> bool:
    """Give the attendance (its lock held) places in the ``wanted`` timeslots for itself and ``guests``, and
    queue the mail it calls for; True when anything changed.

    Everything but the seats is written first, from the guess; the seats under
    the timeslots' locks. A ``new`` attendance (a newcomer) was inserted with its
    guests and first revision already; once it is seated the transaction may be
    committed, and the session then refuses any further write (``core.sql.commit_with``).
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
    """A newcomer's places in Core statements, without the unit of work's ORM: the rush's path.

    Where the party fits, one conditional UPDATE takes the seats and holds the
    timeslot's row lock to commit, as SELECT ... FOR UPDATE would; no waitlisted
    party fits (see ``_promote``), so none is jumped. Where it does not fit (or
    the guess said so), the timeslot is locked and its counts read before
    joining its waitlist, so a seat freed in between is not missed.
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
    when it took some; None, with nothing written, when the guess is wrong once the timeslot is locked."""
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


def change_capacity(timeslot_id: int, capacity: int | None, field_name: str = "capacity") -> Timeslot:
    """Set a capacity inside the caller's unit of work (the events editor's too); the caller commits.

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
