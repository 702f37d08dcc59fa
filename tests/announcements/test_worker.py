"""Real worker processes send announcements through Redis to the SMTP server, each supporter once."""

import re
import time
from collections import Counter

import pytest
from sqlalchemy import func, select

from mobilize.announcements.models import Announcement
from mobilize.announcements.tasks import send_due_announcements
from mobilize.core.models import OutboundMail
from mobilize.extensions import db
from mobilize.people.models import Subscription
from tests.support.infra import body_text, start_celery_worker, wait_until

# Small batches, no pause between them, and a send is "stalled" after a second without a batch.
FAST = {"ANNOUNCEMENT_BATCH_SIZE": "4", "ANNOUNCEMENT_RATE_PER_MINUTE": "1000000", "ANNOUNCEMENT_STALE_AFTER": "1"}


@pytest.fixture(scope="module")
def fast_worker(process_env):
    worker = start_celery_worker({**process_env, **FAST})
    yield worker
    worker.stop()


def status_of(announcement) -> tuple[str, int]:
    db.session.expire_all()
    row = db.session.get(Announcement, announcement.id)
    return row.status, row.recipients


def wait_until_sent(announcement, timeout: float = 60):
    wait_until(lambda: status_of(announcement)[0] == "sent", timeout=timeout, what="the announcement sent")


def test_a_worker_process_sends_it_to_smtp_with_one_click_unsubscribe(fast_worker, make, announcements,
                                                                     smtp_server, client, process_env):
    user, org = make.organizer()
    fans = announcements.supporters(org, 6)
    event = make.event(org, title="Flex Friday")
    announcement = announcements.due(announcements.announcement(user, org, about=f"event:{event.uuid}"))

    send_due_announcements.delay()

    messages = smtp_server.wait_for(6)
    wait_until_sent(announcement)
    assert sorted(m["X-Envelope-To"] for m in messages) == sorted(fan.email for fan in fans)
    message = smtp_server.to(fans[0].email)[0]
    assert message["Subject"] == "Flex Friday is back"
    assert message["From"] == f"{org.name} via Mobilize <noreply@mobilize.test>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    unfolded = "".join(message["List-Unsubscribe"].split())
    site = process_env["PUBLIC_URL"]  # the worker's, which is the site's
    link = re.fullmatch(rf"<({re.escape(site)}/unsubscribe/[\w.-]+)>", unfolded).group(1)
    text = body_text(message)
    assert "Join us **this Friday**." in text and f"/events/{event.uuid}" in text and link in text
    html = next(p for p in message.walk() if p.get_content_type() == "text/html").get_payload(decode=True).decode()
    assert "<strong>this Friday</strong>" in html and link in html
    assert status_of(announcement) == ("sent", 6)

    # The mail client's one-click POST, to the exact URL in the header.
    response = client.post(link.removeprefix(site), data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    assert db.session.scalar(select(Subscription.unsubscribed_at).where(
        Subscription.person_id == fans[0].id)) is not None


def test_two_workers_and_overlapping_sweeps_send_each_supporter_once(fast_worker, process_env, make, announcements,
                                                                     smtp_server):
    second_worker = start_celery_worker({**process_env, **FAST})
    try:
        user, org = make.organizer()
        fans = announcements.supporters(org, 30)
        announcement = announcements.due(announcements.announcement(user, org))

        for _ in range(4):  # two beat schedulers running by mistake, each sweep overlapping the next
            send_due_announcements.delay()

        smtp_server.wait_for(30)
        wait_until_sent(announcement)
        time.sleep(1.5)  # anything sent twice would arrive now
    finally:
        second_worker.stop()
    assert Counter(m["X-Envelope-To"] for m in smtp_server.messages) == Counter(fan.email for fan in fans)
    assert status_of(announcement) == ("sent", 30)


def test_a_worker_killed_mid_send_is_resumed_by_the_sweeper_without_duplicates(process_env, make, announcements):
    killed = start_celery_worker({**process_env, "ANNOUNCEMENT_BATCH_SIZE": "25",
                                  "ANNOUNCEMENT_RATE_PER_MINUTE": "3000"})  # a batch every half second
    user, org = make.organizer()
    fans = announcements.supporters(org, 200)
    announcement = announcements.due(announcements.announcement(user, org))
    send_due_announcements.delay()

    def some_batches_done():
        db.session.expire_all()
        return db.session.get(Announcement, announcement.id).cursor > 0

    wait_until(some_batches_done, what="the first batches")
    killed.kill()  # SIGKILL: whatever batch it was in is rolled back with its connection
    assert status_of(announcement)[0] == "sending"

    replacement = start_celery_worker({**process_env, **FAST, "ANNOUNCEMENT_BATCH_SIZE": "500"})
    try:
        deadline = time.monotonic() + 60
        while status_of(announcement)[0] != "sent" and time.monotonic() < deadline:
            send_due_announcements.delay()  # the beat
            time.sleep(1)
    finally:
        replacement.stop()

    assert status_of(announcement) == ("sent", 200)
    written = db.session.execute(
        select(OutboundMail.to, func.count()).where(OutboundMail.dedupe_key.like(f"announcement:{announcement.id}:%"))
        .group_by(OutboundMail.to)).all()
    assert dict(written) == {fan.email: 1 for fan in fans}
