"""Sending in batches: each recipient exactly once, whatever repeats, overlaps or stops."""

import threading
import time
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import update

from mobilize.announcements import services
from mobilize.announcements.models import Announcement
from mobilize.core.models import utcnow
from mobilize.extensions import db
from mobilize.people import services as people
from tests.announcements.conftest import unsubscribe_token


def recipients_of(announcements, announcement) -> Counter:
    return Counter(mail.to for mail in announcements.outbox(announcement))


def test_batches_walk_the_audience_and_the_last_marks_it_sent(make, announcements, batches_of):
    batches_of(3)
    user, org = make.organizer()
    fans = announcements.supporters(org, 7)
    announcement = announcements.start(announcements.announcement(user, org))

    assert services.send_batch(announcement.id, 0)
    db.session.refresh(announcement)
    assert (announcement.status, announcement.cursor, announcement.recipients) == ("sending", fans[2].id, 3)

    announcements.send_all(announcement)
    assert (announcement.status, announcement.recipients) == ("sent", 7)
    assert announcement.sent_at is not None
    assert recipients_of(announcements, announcement) == Counter(fan.email for fan in fans)


def test_a_batch_task_run_twice_writes_each_recipient_once(make, announcements, batches_of):
    batches_of(3)
    user, org = make.organizer()
    fans = announcements.supporters(org, 7)
    announcement = announcements.start(announcements.announcement(user, org))

    assert services.send_batch(announcement.id, 0) is True
    assert services.send_batch(announcement.id, 0) is False  # the broker delivered it again
    db.session.refresh(announcement)
    cursor = announcement.cursor
    assert services.send_batch(announcement.id, cursor) is True
    assert services.send_batch(announcement.id, cursor) is False
    announcements.send_all(announcement)

    assert recipients_of(announcements, announcement) == Counter(fan.email for fan in fans)
    assert announcement.recipients == 7


def test_two_copies_of_a_batch_running_at_once_write_each_recipient_once(app, make, announcements, batches_of):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("row locks are PostgreSQL's; SQLite serializes writers")
    batches_of(50)
    user, org = make.organizer()
    fans = announcements.supporters(org, 120)
    announcement = announcements.start(announcements.announcement(user, org))
    barrier = threading.Barrier(2)
    results = []

    def run():
        with app.app_context():
            barrier.wait()
            results.append(services.send_batch(announcement.id, 0))
            db.session.remove()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert sorted(results) == [False, True]
    announcements.send_all(announcement)
    assert recipients_of(announcements, announcement) == Counter(fan.email for fan in fans)
    assert announcement.recipients == 120


def test_two_sweeps_at_once_start_the_send_once(app, make, announcements, org_with_supporters):
    user, org, fans = org_with_supporters
    announcement = announcements.due(announcements.announcement(user, org))
    barrier = threading.Barrier(2)
    started = []

    def sweep():
        with app.app_context():
            barrier.wait()
            started.append(services.start_due_announcements())
            db.session.remove()

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert sorted(started) == [0, 1]
    announcements.send_all(announcement)
    assert recipients_of(announcements, announcement) == Counter(fan.email for fan in fans)


def test_a_stalled_send_is_resumed_from_its_cursor_by_the_sweeper(app, make, announcements, batches_of):
    """A worker killed mid-batch rolls that batch back; the sweeper restarts from the stored cursor."""
    batches_of(4)
    user, org = make.organizer()
    fans = announcements.supporters(org, 10)
    announcement = announcements.start(announcements.announcement(user, org))
    services.send_batch(announcement.id, 0)
    assert services.start_due_announcements() == 0  # its next batch is not overdue: nothing to resume

    stale = utcnow() - timedelta(seconds=app.config["ANNOUNCEMENT_STALE_AFTER"] + 1)
    db.session.execute(update(Announcement).where(Announcement.id == announcement.id).values(next_batch_at=stale))
    db.session.commit()
    assert services.start_due_announcements() == 1
    assert services.start_due_announcements() == 0  # the resume set when its next batch is due

    announcements.send_all(announcement)
    assert recipients_of(announcements, announcement) == Counter(fan.email for fan in fans)
    assert (announcement.status, announcement.recipients) == ("sent", 10)


def test_an_unsubscribe_between_batches_stops_the_later_mail(make, announcements, batches_of, send_queued_mail,
                                                             smtp_server):
    batches_of(3)
    user, org = make.organizer()
    fans = announcements.supporters(org, 7)
    announcement = announcements.start(announcements.announcement(user, org))
    services.send_batch(announcement.id, 0)
    already_queued, not_yet = fans[0], fans[5]

    for fan in (already_queued, not_yet):
        people.unsubscribe(unsubscribe_token(fan, org))
    announcements.send_all(announcement)
    send_queued_mail()

    assert set(recipients_of(announcements, announcement)) == {fan.email for fan in fans} - {not_yet.email}
    skipped = [mail for mail in announcements.outbox(announcement) if mail.status == "skipped"]
    assert [mail.to for mail in skipped] == [already_queued.email]
    delivered = {message["X-Envelope-To"] for message in smtp_server.messages}
    assert delivered == {fan.email for fan in fans} - {already_queued.email, not_yet.email}
    assert announcement.recipients == 6


def test_the_next_batch_waits_long_enough_to_keep_to_the_rate(app, monkeypatch):
    monkeypatch.setitem(app.config, "ANNOUNCEMENT_RATE_PER_MINUTE", 600)  # 10 a second
    now = time.monotonic()
    assert services._pause(started=now, sent=10) == pytest.approx(1.0, abs=0.05)
    assert services._pause(started=now - 5, sent=10) == 0.0  # a slow batch: go on at once


def test_a_batchs_mail_is_handed_to_the_worker_only_when_the_batch_commits(make, announcements):
    """Each message is written in its own SAVEPOINT; releasing one must not publish the others' tasks early."""
    from mobilize.core.dispatch import PENDING
    from mobilize.core.mail import queue_mail

    _, org = make.organizer()
    first, second = announcements.supporters(org, 2)
    for fan in (first, second):
        queue_mail(fan.email, "password_reset", dedupe_key=f"test:{fan.id}", user=fan, token="t")
    queue_mail(first.email, "password_reset", dedupe_key=f"test:{first.id}", user=first, token="t")  # a duplicate

    assert len(db.session.info[PENDING]) == 2
    db.session.commit()
    assert PENDING not in db.session.info


def test_a_send_paced_slower_than_the_stale_age_is_not_resumed_early(app, make, announcements, batches_of):
    batches_of(3)  # and one recipient a minute: the next batch is due in three minutes
    user, org = make.organizer()
    announcements.supporters(org, 7)
    announcement = announcements.start(announcements.announcement(user, org))
    services.send_batch(announcement.id, 0)
    stale_after = timedelta(seconds=app.config["ANNOUNCEMENT_STALE_AFTER"])

    assert services.start_due_announcements(now=utcnow() + stale_after + timedelta(seconds=30)) == 0
    assert services.start_due_announcements(now=utcnow() + timedelta(minutes=3) + stale_after
                                            + timedelta(seconds=5)) == 1
