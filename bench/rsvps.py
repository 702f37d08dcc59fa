"""RSVP throughput under wrk: every request on one hot timeslot, then spread over many events,
beside the floor's POST /sign (one INSERT and commit) measured in the same session; then a check
that no timeslot is overbooked.

    .venv/bin/python -m bench.rsvps    (BENCH_RSVP_REPS=1: quicker)

The floor and the app are measured in turns, REPS times (each repetition on a hot event of its
own), and medians reported: the shared machine's speed drifts by minutes.
"""

import os
import re
import statistics
import tempfile
import uuid
from datetime import timedelta
from pathlib import Path

import requests
from sqlalchemy import insert, text

from bench import lib

HOT_CAPACITY = 250  # fills early in the run, so confirmations and the waitlist are both measured
SPREAD_EVENTS = 500
REPS = int(os.environ.get("BENCH_RSVP_REPS", "3"))


def seed(session, organization_id: int) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """REPS hot events and SPREAD_EVENTS others, one timeslot each; returns their (event, timeslot) uuids."""
    from mobilize.core.models import utcnow
    from mobilize.events.models import Event, Timeslot

    now = utcnow().replace(microsecond=0)
    events, slots = [], []
    for n in range(REPS + SPREAD_EVENTS):
        events.append({"uuid": uuid.uuid4(), "organization_id": organization_id, "title": f"Bench event {n}",
                       "timezone": "America/New_York", "max_guests": 2, "created_at": now, "modified_at": now})
    ids = session.scalars(insert(Event).returning(Event.id, sort_by_parameter_order=True), events).all()
    for n, event_id in enumerate(ids):
        start = now + timedelta(days=7, hours=n)
        slots.append({"uuid": uuid.uuid4(), "event_id": event_id, "start_at": start,
                      "end_at": start + timedelta(hours=2), "capacity": HOT_CAPACITY if n < REPS else 100,
                      "seats_taken": 0, "created_at": now, "modified_at": now})
    session.execute(insert(Timeslot), slots)
    session.commit()
    pairs = [(str(e["uuid"]), str(s["uuid"])) for e, s in zip(events, slots, strict=True)]
    return pairs[:REPS], pairs[REPS:]


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
           (SELECT count(*) FROM outbound_mail),
           (SELECT array_agg(seats_taken ORDER BY id) FROM timeslots WHERE capacity = :hot)""")


def csrf_session(base: str, event_uuid: str) -> tuple[str, str]:
    """A session cookie and its CSRF token, from the RSVP page, for every request wrk sends."""
    page = requests.get(f"{base}/events/{event_uuid}/rsvp", timeout=10)
    page.raise_for_status()
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.text).group(1)
    return f"session={page.cookies['session']}", token


def main() -> None:
    with lib.app_database(RSVP_RATE_LIMIT="100000000/minute") as env:
        from mobilize.accounts import services as accounts
        from mobilize.extensions import db

        app = lib.app_for(env)
        with app.app_context():
            user = accounts.sign_up("bench-rsvps@example.org", "Bench", "bench-password-123", "Bench RSVPs")
            hot, spread = seed(db.session, accounts.organizations_for(user.id)[0].id)
            db.session.remove()
        floors, runs = [], []
        with lib.gunicorn(env) as base, tempfile.TemporaryDirectory() as tmp:
            cookie, token = csrf_session(base, hot[0][0])
            for rep in range(REPS):  # interleaved, so the shared machine's drift hits both alike
                lib.log(f"repetition {rep + 1}/{REPS}: the floor, then the app")
                floors.append(lib.floor())
                runs.append({})
                for name, targets in (("hot timeslot", hot[rep:rep + 1]), ("spread over 500 events", spread)):
                    path = Path(tmp) / "targets.txt"
                    path.write_text("".join(f"{e} {s}\n" for e, s in targets))
                    runs[-1][name] = lib.wrk(base + "/", script="bench/rsvps.lua", args=(str(path), cookie, token))
        with app.app_context():
            overbooked = db.session.execute(OVERBOOKING).all()
            attendances, waitlisted, mails, hot_seats = db.session.execute(TOTALS, {"hot": HOT_CAPACITY}).one()
            db.session.remove()
            db.engine.dispose()
    for run in runs:
        for name, result in run.items():
            assert result["non2xx"] == 0 and result["errors"] == 0, f"{name}: {result}"
    assert not overbooked, f"overbooked or miscounted timeslots: {overbooked}"
    print(f"{attendances:,} RSVPs recorded ({waitlisted:,} waitlisted, {mails:,} mails in the outbox); "
          f"hot timeslots' seats {hot_seats} of {HOT_CAPACITY} each; overbooked timeslots: {len(overbooked)}")
    print(f"{lib.WRK_CONNECTIONS} connections, {lib.WRK_DURATION} each, gunicorn {lib.DEFAULT_SHAPE}; "
          f"medians of {REPS} repetitions, each the floor then the app")
    median = statistics.median
    sign = [f["sign"] for f in floors]
    print(lib.table([
        row for name in runs[0] for row in (
            (f"RSVP, {name}: req/s (vs /sign)", median(r[name]["rps"] for r in runs), median(f["rps"] for f in sign)),
            (f"RSVP, {name}: p50 ms", median(r[name]["p50_ms"] for r in runs), median(f["p50_ms"] for f in sign)),
            (f"RSVP, {name}: p99 ms", median(r[name]["p99_ms"] for r in runs), median(f["p99_ms"] for f in sign)),
        )
    ]))
    for name in runs[0]:
        paired = [r[name]["rps"] / f["rps"] for r, f in zip(runs, sign, strict=True)]
        print(f"RSVP, {name} / floor /sign, each repetition: " + ", ".join(f"{x:.2f}x" for x in paired))


if __name__ == "__main__":
    main()
