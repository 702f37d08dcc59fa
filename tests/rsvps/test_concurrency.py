"""A rush on the last seats, against a real gunicorn on PostgreSQL: the database keeps the count right."""

import os
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from sqlalchemy import func, select

from mobilize.core.models import OutboundMail
from mobilize.extensions import db
from mobilize.people.models import Person
from mobilize.rsvps import links
from mobilize.rsvps.models import Attendance, Place, waitlist_positions
from tests.support import infra
from tests.support.factories import PASSWORD
from tests.support.web import csrf_token_from

pytestmark = [
    pytest.mark.skipif(os.environ.get("TEST_DATABASE") == "sqlite", reason="row locks under load need PostgreSQL"),
    pytest.mark.slow,
]


@pytest.fixture(scope="module")
def rush_server(process_env):
    """gunicorn with enough threads for a rush, and the RSVP rate limit raised (one IP sends everything)."""
    server, base = infra.start_gunicorn({**process_env, "RSVP_RATE_LIMIT": "100000/minute"}, workers=2, threads=16)
    yield base
    server.stop()


def prepared(base: str, page: str) -> tuple[requests.Session, str]:
    """A browser-like session holding the page's CSRF token."""
    session = requests.Session()
    response = session.get(base + page, timeout=30)
    assert response.status_code == 200, response.text[:300]
    session.close()  # the server drops idle keep-alive connections; the POST opens a fresh one
    return session, csrf_token_from(response.text)


def all_at_once(calls) -> list:
    """Run the calls in parallel threads released together by a barrier."""
    barrier = threading.Barrier(len(calls))

    def run(call):
        barrier.wait()
        return call()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))


def rsvp_call(base, event, session, token, email, guests=0):
    data = {"csrf_token": token, "given_name": "Rush", "family_name": "Hour", "email": email,
            "postal_code": "62701", "timeslots": str(event.timeslots[0].uuid), "guests": str(guests)}
    return lambda: session.post(f"{base}/events/{event.uuid}/rsvp", data=data, allow_redirects=False, timeout=120)


def places_of(slot_id):
    db.session.expire_all()
    return db.session.execute(
        select(Place, Attendance.guests).join(Attendance).where(Place.timeslot_id == slot_id)
        .order_by(Place.queued_at, Place.id)
    ).all()


def assert_slot_consistent(slot, capacity):
    """seats_taken equals the confirmed seats, never above capacity, and no waitlisted party would fit."""
    rows = places_of(slot.id)
    confirmed = sum(1 + guests for place, guests in rows if place.status == "confirmed")
    db.session.refresh(slot)
    assert slot.seats_taken == confirmed <= capacity
    waiting = [1 + guests for place, guests in rows if place.status == "waitlisted"]
    assert all(size > capacity - confirmed for size in waiting)
    return rows


def test_200_concurrent_rsvps_fill_50_seats_exactly_and_waitlist_the_rest_in_order(rush_server, make):
    _, org = make.organizer()
    event = make.event(org, capacity=50, max_guests=2)
    page = f"/events/{event.uuid}/rsvp"
    with ThreadPoolExecutor(max_workers=8) as pool:
        sessions = list(pool.map(lambda _: prepared(rush_server, page), range(200)))
    calls = [rsvp_call(rush_server, event, s, t, f"rush{n}@example.net", guests=n % 3)
             for n, (s, t) in enumerate(sessions)]
    responses = all_at_once(calls)
    assert [r.status_code for r in responses] == [302] * 200
    assert all(r.headers["Location"].endswith("/rsvp/thanks") for r in responses)

    rows = assert_slot_consistent(event.timeslots[0], 50)
    assert event.timeslots[0].seats_taken == 50
    assert len(rows) == 200 and db.session.scalar(select(func.count()).select_from(Attendance)) == 200
    confirmed = [(p, 1 + g) for p, g in rows if p.status == "confirmed"]
    waiting = [(p, 1 + g) for p, g in rows if p.status == "waitlisted"]
    assert len(confirmed) + len(waiting) == 200
    # Arrival order: nobody confirmed later than a party no bigger that was turned to the waitlist.
    for w, w_size in waiting:
        assert all(c.queued_at < w.queued_at for c, c_size in confirmed if c_size >= w_size)
    mails = db.session.scalars(select(OutboundMail.dedupe_key)).all()
    assert len(mails) == len(set(mails)) == 200

    # One more, after the rush, goes to the back of the line.
    session, token = prepared(rush_server, page)
    assert rsvp_call(rush_server, event, session, token, "late@example.net")().status_code == 302
    late = db.session.scalar(select(Attendance).join(Person).where(Person.email == "late@example.net"))
    assert waitlist_positions(late) == {event.timeslots[0].id: len(waiting) + 1}


def test_same_email_20_times_at_once_yields_one_rsvp(rush_server, make):
    _, org = make.organizer()
    event = make.event(org, capacity=50)
    page = f"/events/{event.uuid}/rsvp"
    sessions = [prepared(rush_server, page) for _ in range(20)]
    responses = all_at_once([rsvp_call(rush_server, event, s, t, "Twin.Email@Example.net", guests=1)
                             for s, t in sessions])
    assert [r.status_code for r in responses] == [302] * 20
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(Person)) == 1
    assert db.session.scalar(select(func.count()).select_from(Attendance)) == 1
    assert db.session.scalar(select(func.count()).select_from(Place)) == 1
    db.session.refresh(event.timeslots[0])
    assert event.timeslots[0].seats_taken == 2
    assert db.session.scalar(select(func.count()).select_from(OutboundMail)) == 1


def test_concurrent_cancellations_changes_and_promotions_never_overfill(rush_server, make, rsvp_to):
    user, org = make.organizer()
    event = make.event(org, capacity=20, max_guests=2)
    slot = event.timeslots[0]
    holders = [rsvp_to(event, guests=1) for _ in range(10)]
    waiting = [rsvp_to(event, guests=n % 3) for n in range(30)]
    assert_slot_consistent(slot, 20)

    organizer = requests.Session()
    login_token = csrf_token_from(organizer.get(rush_server + "/login", timeout=30).text)
    organizer.post(rush_server + "/login", data={"csrf_token": login_token, "email": user.email,
                                                 "password": PASSWORD}, timeout=30)
    attendees_page = f"/orgs/{org.slug}/events/{event.uuid}/attendees"
    capacity_token = csrf_token_from(organizer.get(rush_server + attendees_page, timeout=30).text)
    organizer.close()  # as prepared() does: its POST must not reuse a connection the server dropped meanwhile

    def manage(attendance, action, data=None):
        path = f"/rsvp/{links.manage_token(attendance)}"
        session, token = prepared(rush_server, path)
        return lambda: session.post(rush_server + path + action, data={"csrf_token": token, **(data or {})},
                                    allow_redirects=False, timeout=120)

    calls = [manage(a, "/cancel") for a in holders[:8]]
    calls += [manage(a, "", {"timeslots": str(slot.uuid), "guests": "0"}) for a in waiting[::3]]
    calls += [manage(a, "/cancel") for a in waiting[1::6]]
    page = f"/events/{event.uuid}/rsvp"
    calls += [rsvp_call(rush_server, event, *prepared(rush_server, page), f"new{n}@example.net", n % 2)
              for n in range(10)]
    calls.append(lambda: organizer.post(
        f"{rush_server}/orgs/{org.slug}/events/{event.uuid}/timeslots/{slot.uuid}/capacity",
        data={"csrf_token": capacity_token, f"s{slot.id}-capacity": "24"}, allow_redirects=False, timeout=120))
    responses = all_at_once(calls)
    assert [r.status_code for r in responses] == [302] * len(calls), [r.text[:200] for r in responses
                                                                      if r.status_code != 302]

    rows = assert_slot_consistent(slot, 24)
    assert slot.capacity == 24
    # Everyone promoted off the waitlist is told once; those who promoted themselves (fewer guests) get
    # their own confirmation instead.
    shrunk = {a.id for a in waiting[::3]}
    promoted = {p.id for p, _ in rows if p.confirmed_at and p.confirmed_at > p.queued_at}
    told = {int(key.split(":")[1]) for key in db.session.scalars(select(OutboundMail.dedupe_key))
            if key.startswith("rsvp-promoted:")}
    assert told and told <= promoted
    assert {p.id for p, _ in rows if p.id in promoted and p.attendance_id not in shrunk} <= told
