"""Redis stops while supporters RSVP and sign: the web app keeps taking them (the database commit comes first),
and once Redis is back the worker's outbox sweep sends every confirmation, each once.

A Redis of the test's own, on its own port, is stopped and started again; gunicorn, the Celery worker and its
beat are real processes pointed at it, sharing the test database and SMTP sink. Redis keeps nothing on disk,
so queue messages published before it stopped are lost too, as they would be on a crash.
"""

import re
import time
from collections import Counter
from email.header import decode_header, make_header

import pytest
import requests
from sqlalchemy import func, select

from mobilize.core.models import OutboundMail
from mobilize.extensions import db
from mobilize.petitions.models import Signature
from mobilize.rsvps.models import Attendance
from tests.petitions.conftest import PetitionFactories
from tests.support import infra
from tests.support.web import csrf_token_from

STARTED = re.compile(r'name="started" type="hidden" value="([^"]+)"')
PATIENCE = 5  # seconds a supporter's request may take while Redis is down
# Mail still queued after this many seconds is handed to the worker again (the sweep runs twice as often).
REQUEUE_AFTER = 1


class Stack:
    """A private Redis, and a gunicorn using it for Celery, the rate limiter and the feed cache."""

    def __init__(self, process_env: dict, beat_schedule):
        self.redis = infra.RedisServer().start()
        self.env = {
            **process_env,
            "REDIS_URL": self.redis.url,
            "MAIL_REQUEUE_AFTER": str(REQUEUE_AFTER),
            "PETITION_MIN_FILL_SECONDS": "0",
        }
        self.beat_schedule = beat_schedule
        self.processes = []
        self.base = self.start_gunicorn()

    def start_gunicorn(self, workers: int = 2) -> str:
        server, base = infra.start_gunicorn(self.env, workers=workers)
        self.processes.append(server)
        return base

    def start_worker_and_beat(self) -> None:
        self.processes.append(
            infra.start_celery_worker(self.env, extra=("--beat", "--schedule", str(self.beat_schedule)))
        )

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.stop()
        self.redis.stop()


@pytest.fixture
def stack(process_env, database_url, tmp_path):
    if not database_url.startswith("postgresql"):
        pytest.skip("gunicorn and the worker share the test database on PostgreSQL")
    stack = Stack(process_env, tmp_path / "beat")
    yield stack
    stack.stop()


@pytest.fixture
def campaign(make):
    """An organization's open event with one timeslot and its open petition, committed for gunicorn to read."""
    user, org = make.organizer()
    petition = PetitionFactories(make).petition(org, user, title="Flexible hours now")
    return org, make.event(org, title="Flex Friday meetup"), petition


def timed(call, *args, **kwargs) -> requests.Response:
    """A request that must be answered, and not with a 500, within PATIENCE seconds."""
    response = call(*args, timeout=PATIENCE, **kwargs)
    assert response.status_code < 500, response.text[:500]
    return response


def rsvp(base: str, event, email: str) -> None:
    """RSVP as a browser does: the form page for its CSRF token, the post, the thanks page."""
    session = requests.Session()
    url = f"{base}/events/{event.uuid}/rsvp"
    page = timed(session.get, url)
    data = {
        "csrf_token": csrf_token_from(page.text),
        "given_name": "River",
        "family_name": "Song",
        "email": email,
        "postal_code": "62701",
        "timeslots": str(event.timeslots[0].uuid),
        "guests": "0",
    }
    posted = timed(session.post, url, data=data, allow_redirects=False)
    assert posted.status_code == 302 and posted.headers["Location"] == f"/events/{event.uuid}/rsvp/thanks"
    thanks = timed(session.get, base + posted.headers["Location"])
    assert thanks.status_code == 200 and "You’re going" in thanks.text


def sign(base: str, petition, email: str) -> None:
    """Sign as a browser does: the petition page for its tokens, the post, the check-your-email page."""
    session = requests.Session()
    url = f"{base}/petitions/{petition.slug}"
    page = timed(session.get, url)
    data = {
        "csrf_token": csrf_token_from(page.text),
        "started": STARTED.search(page.text).group(1),
        "given_name": "Sam",
        "family_name": "Signer",
        "email": email,
        "postal_code": "62701",
        "country": "US",
    }
    posted = timed(session.post, url + "/sign", data=data, allow_redirects=False)
    assert posted.status_code == 302 and posted.headers["Location"] == f"/petitions/{petition.slug}/check-email"
    assert timed(session.get, base + posted.headers["Location"]).status_code == 200


def assert_stored(event, petition, attendees: list[str], signers: list[str]) -> None:
    db.session.expire_all()
    stored = db.session.scalars(select(Attendance).where(Attendance.event_id == event.id)).all()
    assert sorted(a.person.email for a in stored) == sorted(attendees)
    assert {a.status for a in stored} == {"confirmed"}
    signed = db.session.scalar(select(func.count()).where(Signature.petition_id == petition.id))
    assert signed == len(signers)


def confirmations(smtp_server) -> Counter:
    """(recipient, subject) of every message the SMTP sink received."""
    return Counter((m["X-Envelope-To"], str(make_header(decode_header(m["Subject"])))) for m in smtp_server.messages)


def assert_each_confirmed_once(smtp_server, event, petition, attendees: list[str], signers: list[str]) -> None:
    expected = Counter(
        [(a, f"You’re going to {event.title}") for a in attendees]
        + [(s, f"Confirm your signature: {petition.title}") for s in signers]
    )
    infra.wait_until(lambda: len(smtp_server.messages) >= len(expected), timeout=60, what="every confirmation")
    time.sleep(4 * REQUEUE_AFTER)  # several more sweeps: a duplicate would arrive by now
    assert confirmations(smtp_server) == expected
    db.session.expire_all()
    assert set(db.session.scalars(select(OutboundMail.status))) == {"sent"}


def test_rsvps_and_signatures_taken_while_redis_is_down_are_each_confirmed_once_when_it_is_back(
    stack, campaign, smtp_server
):
    _, event, petition = campaign
    stack.redis.stop()
    attendees = [f"outage-rsvp{n}@example.net" for n in range(4)]
    signers = [f"outage-sign{n}@example.org" for n in range(4)]
    for attendee, signer in zip(attendees, signers, strict=True):
        rsvp(stack.base, event, attendee)
        sign(stack.base, petition, signer)
    assert_stored(event, petition, attendees, signers)
    assert smtp_server.messages == []

    stack.redis.start()
    stack.start_worker_and_beat()
    assert_each_confirmed_once(smtp_server, event, petition, attendees, signers)


def test_redis_dying_under_a_running_app_degrades_limits_and_feeds_and_loses_no_confirmation(
    stack, campaign, smtp_server
):
    """The limiter has counted in Redis, feeds are cached there and queue messages wait there when it dies."""
    org, event, petition = campaign
    feeds = ["/events.ics", f"/orgs/{org.slug}/events.ics", f"/events/{event.uuid}.ics"]
    rsvp(stack.base, event, "before-rsvp@example.net")
    sign(stack.base, petition, "before-sign@example.org")
    etags = {path: timed(requests.get, stack.base + path).headers["ETag"] for path in feeds}
    # A second web process that has only answered If-None-Match: it trusts the cached feed without its body.
    reader = stack.start_gunicorn(workers=1)
    for path, etag in etags.items():
        assert timed(requests.get, reader + path, headers={"If-None-Match": etag}).status_code == 304

    stack.redis.stop()
    for base in (reader, stack.base):
        for path in feeds:
            feed = timed(requests.get, base + path)
            assert feed.status_code == 200 and "Flex Friday meetup" in feed.text
    attendees = ["before-rsvp@example.net", *(f"outage-rsvp{n}@example.net" for n in range(3))]
    signers = ["before-sign@example.org", *(f"outage-sign{n}@example.org" for n in range(3))]
    for attendee, signer in zip(attendees[1:], signers[1:], strict=True):
        rsvp(stack.base, event, attendee)
        sign(stack.base, petition, signer)
    session = requests.Session()
    login = timed(session.get, stack.base + "/login")
    refused = timed(
        session.post,
        stack.base + "/login",
        data={"csrf_token": csrf_token_from(login.text), "email": "nobody@example.org", "password": "wrong password"},
    )
    assert refused.status_code == 200 and "do not match an account" in refused.text
    assert timed(requests.get, stack.base + "/").status_code == 200
    assert_stored(event, petition, attendees, signers)

    stack.redis.start()
    stack.start_worker_and_beat()
    assert_each_confirmed_once(smtp_server, event, petition, attendees, signers)
