"""RSVP throughput under wrk: every request on one hot timeslot, then spread over many events,
beside the floor's POST /sign (one INSERT and commit) measured in the same session; then a check
that no timeslot is overbooked.

    .venv/bin/python -m bench.rsvps
"""

import re
import tempfile
import uuid
from datetime import timedelta
from pathlib import Path

import requests
from sqlalchemy import insert, text

from bench import lib

HOT_CAPACITY = 250  # fills early in the run, so confirmations and the waitlist are both measured
SPREAD_EVENTS = 500


def seed(session, organization_id: int) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """One hot event and SPREAD_EVENTS others, one timeslot each; returns their (event, timeslot) uuids."""
    from mobilize.core.models import utcnow
    from mobilize.events.models import Event, Timeslot

    now = utcnow().replace(microsecond=0)
    events, slots = [], []
    for n in range(1 + SPREAD_EVENTS):
        events.append({"uuid": uuid.uuid4(), "organization_id": organization_id, "title": f"Bench event {n}",
                       "timezone": "America/New_York", "max_guests": 2, "created_at": now, "modified_at": now})
    ids = session.scalars(insert(Event).returning(Event.id, sort_by_parameter_order=True), events).all()
    for n, event_id in enumerate(ids):
        start = now + timedelta(days=7, hours=n)
        slots.append({"uuid": uuid.uuid4(), "event_id": event_id, "start_at": start,
                      "end_at": start + timedelta(hours=2), "capacity": HOT_CAPACITY if n == 0 else 100,
                      "seats_taken": 0, "created_at": now, "modified_at": now})
    session.execute(insert(Timeslot), slots)
    session.commit()
    pairs = [(str(e["uuid"]), str(s["uuid"])) for e, s in zip(events, slots, strict=True)]
    return pairs[:1], pairs[1:]


OVERBOOKING = text("""
    SELECT t.id, t.capacity, t.seats_taken, coalesce(sum(1 + a.guests) FILTER (WHERE p.status = 'confirmed'), 0)
    FROM timeslots t
    LEFT JOIN attendance_timeslots p ON p.timeslot_id = t.id
    LEFT JOIN attendances a ON a.id = p.attendance_id
    GROUP BY t.id
    HAVING t.seats_taken > coalesce(t.capacity, t.seats_taken)
        OR t.seats_taken <> coalesce(sum(1 + a.guests) FILTER (WHERE p.status = 'confirmed'), 0)""")
TOTALS = text("""
    SELECT (SELECT count(*) FROM attendances), (SELECT count(*) FROM attendance_timeslots WHERE status = 'waitlisted'),
           (SELECT count(*) FROM outbound_mail), (SELECT seats_taken FROM timeslots ORDER BY id LIMIT 1)""")


def csrf_session(base: str, event_uuid: str) -> tuple[str, str]:
    """A session cookie and its CSRF token, from the RSVP page, for every request wrk sends."""
    page = requests.get(f"{base}/events/{event_uuid}/rsvp", timeout=10)
    page.raise_for_status()
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.text).group(1)
    return f"session={page.cookies['session']}", token


def main() -> None:
    floor = lib.floor()
    with lib.app_database(RSVP_RATE_LIMIT="100000000/minute") as env:
        from mobilize.accounts import services as accounts
        from mobilize.extensions import db

        app = lib.app_for(env)
        with app.app_context():
            user = accounts.sign_up("bench-rsvps@example.org", "Bench", "bench-password-123", "Bench RSVPs")
            hot, spread = seed(db.session, accounts.organizations_for(user.id)[0].id)
            db.session.remove()
        runs = {}
        with lib.gunicorn(env) as base, tempfile.TemporaryDirectory() as tmp:
            cookie, token = csrf_session(base, hot[0][0])
            for name, targets in (("hot timeslot", hot), ("spread over 500 events", spread)):
                path = Path(tmp) / "targets.txt"
                path.write_text("".join(f"{e} {s}\n" for e, s in targets))
                runs[name] = lib.wrk(base + "/", script="bench/rsvps.lua", args=(str(path), cookie, token))
        with app.app_context():
            overbooked = db.session.execute(OVERBOOKING).all()
            attendances, waitlisted, mails, hot_seats = db.session.execute(TOTALS).one()
            db.session.remove()
            db.engine.dispose()
    for name, result in runs.items():
        assert result["non2xx"] == 0 and result["errors"] == 0, f"{name}: {result}"
    assert not overbooked, f"overbooked or miscounted timeslots: {overbooked}"
    print(f"{attendances:,} RSVPs recorded ({waitlisted:,} waitlisted, {mails:,} mails in the outbox); "
          f"hot timeslot {hot_seats}/{HOT_CAPACITY} seats; overbooked timeslots: {len(overbooked)}")
    print(f"{lib.WRK_CONNECTIONS} connections, {lib.WRK_DURATION} each, gunicorn {lib.DEFAULT_SHAPE}")
    print(lib.table([
        row for name, result in runs.items() for row in (
            (f"RSVP, {name}: req/s (vs /sign)", result["rps"], floor["sign"]["rps"]),
            (f"RSVP, {name}: p50 ms", result["p50_ms"], floor["sign"]["p50_ms"]),
            (f"RSVP, {name}: p99 ms", result["p99_ms"], floor["sign"]["p99_ms"]),
        )
    ]))


if __name__ == "__main__":
    main()
