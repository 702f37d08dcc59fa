"""Reminders: each confirmed place gets each reminder once, on time, and never when cancelled."""

import threading
from datetime import timedelta

import pytest

from mobilize.core.models import utcnow
from mobilize.events import reminder_offsets as offsets
from mobilize.events import services as events
from mobilize.extensions import db
from mobilize.reminders import services
from mobilize.rsvps import services as rsvps
from tests.support.factories import outbox


def test_each_reminder_is_queued_once_however_often_the_sweep_runs(make, rsvp_to):
    _, org = make.organizer()
    event = make.event(org)
    start = event.timeslots[0].start_at
    attendance = rsvp_to(event)

    assert services.send_due_reminders(now=start - timedelta(hours=25)) == 0
    assert services.send_due_reminders(now=start - timedelta(hours=23, minutes=59)) == 1
    assert services.send_due_reminders(now=start - timedelta(hours=23, minutes=58)) == 0
    assert services.send_due_reminders(now=start - timedelta(minutes=59)) == 1
    assert services.send_due_reminders(now=start - timedelta(minutes=30)) == 0

    mails = outbox("reminder:", to=attendance.person.email)
    assert [m.subject for m in mails] == [f"Reminder: {event.title} is tomorrow",
                                          f"Reminder: {event.title} is in 1 hour"]


def test_the_sweep_reads_due_reminders_a_page_at_a_time(make, rsvp_to, monkeypatch):
    _, org = make.organizer()
    event = make.event(org)
    start = event.timeslots[0].start_at
    attendees = [rsvp_to(event) for _ in range(5)]
    now = start - timedelta(minutes=59)

    first, after = services.due_reminders(60, now, limit=2)
    second, after_second = services.due_reminders(60, now, after, limit=2)
    third, end = services.due_reminders(60, now, after_second, limit=2)
    assert len(first) == len(second) == 2 and len(third) == 1 and end is None
    assert len({*first, *second, *third}) == 5

    monkeypatch.setattr(services, "BATCH", 2)  # the sweep walks the same pages
    assert services.send_due_reminders(now=now) == 5
    assert {m.to for m in outbox("reminder:")} == {a.person.email for a in attendees}


def test_rescheduling_moves_the_reminder(make, rsvp_to):
    user, org = make.organizer()
    event = make.event(org)
    slot = event.timeslots[0]
    old_start = slot.start_at
    rsvp_to(event)
    new_start = old_start + timedelta(days=2)
    events.update_event(user.id, event.uuid, {"timeslots": [
        {"uuid": slot.uuid, "start_at": new_start, "end_at": new_start + timedelta(hours=2), "capacity": 50}]})

    assert services.send_due_reminders(now=old_start - timedelta(minutes=30)) == 0
    assert services.send_due_reminders(now=new_start - timedelta(minutes=30)) == 1


def test_late_rsvp_gets_only_the_reminders_still_ahead(make, rsvp_to):
    _, org = make.organizer()
    event = make.event(org, start=(utcnow() + timedelta(hours=3)).replace(microsecond=0))
    start = event.timeslots[0].start_at
    three_hours_before = rsvp_to(event, days_ago=0)
    half_hour_before = rsvp_to(event, days_ago=0)
    for place in half_hour_before.places:
        place.confirmed_at = start - timedelta(minutes=30)
    db.session.commit()

    services.send_due_reminders(now=start - timedelta(minutes=30))

    assert [m.dedupe_key.split(":")[2] for m in outbox("reminder:", to=three_hours_before.person.email)] == ["60"]
    assert outbox("reminder:", to=half_hour_before.person.email) == []


def test_cancelled_waitlisted_and_cancelled_event_attendances_get_no_reminder(make, rsvp_to):
    user, org = make.organizer()
    event = make.event(org, capacity=1)
    start = event.timeslots[0].start_at
    confirmed = rsvp_to(event)
    waitlisted = rsvp_to(event)
    assert waitlisted.status == "waitlisted"
    other = make.event(org, title="Cancelled rally")
    going = rsvp_to(other)
    events.cancel_event(user.id, other.uuid)
    rsvps.cancel_rsvp(confirmed.id)  # its seat goes to the waitlisted supporter, who is now confirmed

    services.send_due_reminders(now=start - timedelta(minutes=30))

    assert outbox("reminder:", to=confirmed.person.email) == []
    assert outbox("reminder:", to=going.person.email) == []
    assert len(outbox("reminder:", to=waitlisted.person.email)) == 1


def test_organizers_choose_the_offsets_and_can_turn_reminders_off(make, rsvp_to):
    user, org = make.organizer()
    event = make.event(org)
    start = event.timeslots[0].start_at
    rsvp_to(event)
    assert offsets.set_reminder_offsets(user.id, event.id, [180, 15]) == [180, 15]

    assert services.send_due_reminders(now=start - timedelta(hours=2)) == 1  # 3 hours, not 1 hour
    assert services.send_due_reminders(now=start - timedelta(minutes=59)) == 0
    assert services.send_due_reminders(now=start - timedelta(minutes=10)) == 1
    assert offsets.reminder_offsets(event.id) == [180, 15]

    offsets.set_reminder_offsets(user.id, event.id, [])
    assert offsets.reminder_offsets(event.id) == []
    assert services.send_due_reminders(now=start - timedelta(minutes=1)) == 0


def test_only_the_events_organizers_change_its_offsets_and_bad_values_are_refused(make):
    from mobilize.core.errors import Forbidden, Invalid

    user, org = make.organizer()
    stranger, _ = make.organizer()
    event = make.event(org)
    with pytest.raises(Forbidden):
        offsets.set_reminder_offsets(stranger.id, event.id, [60])
    with pytest.raises(Invalid):
        offsets.set_reminder_offsets(user.id, event.id, [0])
    with pytest.raises(Invalid):
        offsets.set_reminder_offsets(user.id, event.id, ["soon"])
    assert offsets.reminder_offsets(event.id) == list(offsets.DEFAULT_OFFSETS)


def test_overlapping_sweeps_queue_each_reminder_once(app, make, rsvp_to):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("concurrent writers need PostgreSQL")
    _, org = make.organizer()
    event = make.event(org, capacity=None)
    start = event.timeslots[0].start_at
    for _ in range(60):
        rsvp_to(event)
    now = start - timedelta(minutes=30)
    counts, errors = [], []
    barrier = threading.Barrier(4)

    def sweep():
        with app.app_context():
            try:
                barrier.wait()
                counts.append(services.send_due_reminders(now=now))
            except Exception as error:  # noqa: BLE001 - reported below
                errors.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=sweep) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert sum(counts) == 60
    assert len(outbox("reminder:")) == 60


def test_a_timeslot_postponed_after_its_reminder_gets_reminders_for_its_new_time_once(make, rsvp_to):
    user, org = make.organizer()
    event = make.event(org)
    slot = event.timeslots[0]
    first_start = slot.start_at
    attendance = rsvp_to(event)
    assert services.send_due_reminders(now=first_start - timedelta(hours=23)) == 1

    later = first_start + timedelta(days=7)
    events.update_event(user.id, event.uuid, {"timeslots": [
        {"uuid": slot.uuid, "start_at": later, "end_at": later + timedelta(hours=2), "capacity": 50}]})
    assert services.send_due_reminders(now=later - timedelta(hours=23)) == 1
    assert services.send_due_reminders(now=later - timedelta(hours=22)) == 0

    keys = [m.dedupe_key for m in outbox("reminder:", to=attendance.person.email)]
    assert keys == [services.reminder_key(attendance.places[0].id, 1440, first_start),
                    services.reminder_key(attendance.places[0].id, 1440, later)]
    assert [m.subject for m in outbox("reminder:", to=attendance.person.email)] == \
        [f"Reminder: {event.title} is tomorrow"] * 2
