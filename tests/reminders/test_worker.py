"""Real worker processes sweep reminders and notices through Redis to the SMTP server, each message once.

Two beats running by mistake, or a sweep overlapping the next, amount to several sweep
messages at once: here four of them race on two worker processes.
"""

import time
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import update

from mobilize.core.models import utcnow
from mobilize.events import services as events
from mobilize.extensions import db
from mobilize.reminders.models import EventNotice
from mobilize.reminders.tasks import send_due_notices, send_due_reminders
from tests.support.factories import outbox
from tests.support.infra import VENV_BIN, Process, body_text, start_celery_worker, wait_until

JOIN = "https://meet.example.org/flex-friday"


@pytest.fixture(scope="module")
def second_worker(process_env):
    worker = start_celery_worker(process_env)
    yield worker
    worker.stop()


def sent(smtp_server, subject_prefix: str) -> list:
    return [m for m in smtp_server.messages if m["Subject"].startswith(subject_prefix)]


def _virtual_event(make, org, capacity: int):
    return make.event(org, title="Flex Friday online", capacity=capacity,
                      start=(utcnow() + timedelta(minutes=40)).replace(microsecond=0),
                      is_virtual=True, virtual_action_url=JOIN, venue="", address_line1="")


def test_overlapping_sweeps_on_two_workers_send_each_confirmed_attendee_one_reminder(
        celery_worker, second_worker, make, rsvp_to, smtp_server, process_env):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("worker processes share the test database on PostgreSQL")
    _, org = make.organizer()
    event = _virtual_event(make, org, capacity=3)
    confirmed = [rsvp_to(event) for _ in range(3)]
    waitlisted = [rsvp_to(event) for _ in range(2)]
    assert {a.status for a in waitlisted} == {"waitlisted"}

    for _ in range(4):
        send_due_reminders.delay()
    wait_until(lambda: len(sent(smtp_server, "Reminder:")) >= 3, what="three reminders")
    time.sleep(3)  # long enough for a duplicate to arrive, were there one

    reminders = sent(smtp_server, "Reminder:")
    assert Counter(m["X-Envelope-To"] for m in reminders) == Counter(a.person.email for a in confirmed)
    assert len(outbox("reminder:")) == 3
    message = reminders[0]
    assert message["Subject"] == "Reminder: Flex Friday online is in 1 hour"
    text = body_text(message)
    assert JOIN in text and process_env["PUBLIC_URL"] + "/rsvp/" in text and "calendar.google.com" in text


def test_a_change_notice_from_the_worker_carries_the_join_link_only_for_confirmed_attendees(
        celery_worker, second_worker, make, rsvp_to, smtp_server):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("worker processes share the test database on PostgreSQL")
    user, org = make.organizer()
    event = _virtual_event(make, org, capacity=1)
    confirmed, waitlisted = rsvp_to(event), rsvp_to(event)
    start = event.timeslots[0].start_at + timedelta(days=1)
    events.update_event(user.id, event.uuid, {"timeslots": [
        {"uuid": event.timeslots[0].uuid, "start_at": start, "end_at": start + timedelta(hours=1), "capacity": 1}]})
    db.session.execute(update(EventNotice).values(due_at=utcnow() - timedelta(seconds=1)))  # the window passed
    db.session.commit()

    send_due_notices.delay()
    send_due_notices.delay()
    wait_until(lambda: len(sent(smtp_server, "Changed:")) >= 2, what="two notices")
    time.sleep(2)

    notices = {m["X-Envelope-To"]: m for m in sent(smtp_server, "Changed:")}
    assert len(sent(smtp_server, "Changed:")) == 2
    assert JOIN in body_text(notices[confirmed.person.email])
    assert JOIN not in notices[waitlisted.person.email].as_string()


@pytest.mark.slow
def test_two_beat_schedulers_running_by_mistake_send_each_reminder_once(
        celery_worker, make, rsvp_to, smtp_server, process_env, tmp_path):
    """Two real ``celery beat`` processes each fire the minute sweep; the supporter still gets one reminder."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("worker processes share the test database on PostgreSQL")
    _, org = make.organizer()
    event = _virtual_event(make, org, capacity=5)
    attendance = rsvp_to(event)
    beats = [Process([str(VENV_BIN / "celery"), "-A", "worker", "beat", "--loglevel", "INFO",
                      "--schedule", str(tmp_path / f"beat-{n}")], process_env, f"beat-{n}") for n in range(2)]
    try:
        # Each beat fires the sweep a minute after it starts, and again a minute later.
        wait_until(lambda: all(b.output().count("send-due-reminders") >= 2 for b in beats), timeout=200,
                   interval=1, what="two sweeps from each beat")
        wait_until(lambda: sent(smtp_server, "Reminder:"), what="the reminder")
        time.sleep(3)
    finally:
        for beat in beats:
            beat.stop()

    assert [m["X-Envelope-To"] for m in sent(smtp_server, "Reminder:")] == [attendance.person.email]
