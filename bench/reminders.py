"""Reminder fan-out: 100,000 attendances due at once, from the sweep to the test SMTP sink, beside the
no-op Celery task rate of ../shared/bench/floor measured in the same session.

    .venv/bin/python -m bench.reminders          (BENCH_REMINDERS=20000 for a shorter run)

Figures: reminders delivered to SMTP per second end to end (one sweep task writing the outbox in
batches, then one send task per message, all in one worker of the floor's shape: prefork, -c 2, on
a Redis of its own), reminders written to the outbox per second by the sweep alone, and the
worker's peak memory.
"""

import os
import secrets
import time
import uuid
from datetime import timedelta

import redis
from sqlalchemy import insert, text

from bench import lib
from tests.support import infra

ATTENDANCES = int(os.environ.get("BENCH_REMINDERS", "100000"))


def seed(session, event_id: int, timeslot_id: int) -> None:
    from mobilize.core.models import utcnow
    from mobilize.people.models import Person
    from mobilize.rsvps.models import Attendance, Place

    now = utcnow()
    rsvped = now - timedelta(days=3)
    for start in range(0, ATTENDANCES, 10_000):
        numbers = range(start, min(start + 10_000, ATTENDANCES))
        people = session.scalars(insert(Person).returning(Person.id, sort_by_parameter_order=True), [
            {"uuid": uuid.uuid4(), "email": f"fan{n}@example.net", "email_normalized": f"fan{n}@example.net",
             "given_name": f"Fan{n}", "created_at": now, "modified_at": now} for n in numbers]).all()
        attendances = session.scalars(insert(Attendance).returning(Attendance.id, sort_by_parameter_order=True), [
            {"uuid": uuid.uuid4(), "event_id": event_id, "person_id": person_id, "guests": 0, "source": "form",
             "revision": 1, "manage_key": secrets.token_urlsafe(16), "created_at": rsvped, "modified_at": rsvped}
            for person_id in people]).all()
        session.execute(insert(Place), [
            {"attendance_id": attendance_id, "timeslot_id": timeslot_id, "status": "confirmed", "queued_at": rsvped,
             "confirmed_at": rsvped, "created_at": rsvped, "modified_at": rsvped} for attendance_id in attendances])
        session.commit()
    for table in ("people", "attendances", "attendance_timeslots"):
        session.execute(text(f"ANALYZE {table}"))
    session.commit()


def main() -> None:
    floor = lib.floor(("celery",))
    with lib.mail_worker_database() as (env, sink):
        figures = run(env, sink)

    celery = floor["celery_tasks_per_s"]
    print(f"reminders to {ATTENDANCES:,} attendances due at once, one worker -c 2")
    print(lib.table([
        ("reminders delivered to SMTP /s, end to end", figures["delivered_per_s"], celery),
        ("reminders written to the outbox /s, sweep alone", figures["written_per_s"], celery),
    ]))
    print(f"worker peak memory (main + 2 pool processes): {figures['peak_mb']:.0f} MiB")


def run(env: dict, sink) -> dict:
    from mobilize.accounts import services as accounts
    from mobilize.core.models import utcnow
    from mobilize.events.models import Event, Timeslot
    from mobilize.extensions import db
    from mobilize.reminders import services
    from mobilize.reminders.tasks import send_due_reminders

    app = lib.app_for(env)
    with app.app_context():
        user = accounts.sign_up("bench-remind@example.org", "Bench", "bench-password-123", "Bench Remind")
        org = accounts.organizations_for(user.id)[0]
        start_at = (utcnow() + timedelta(minutes=50)).replace(microsecond=0)
        event = Event(organization_id=org.id, title="Flex Friday meetup", timezone="America/Chicago",
                      venue="Union Hall", address_line1="1 Main St", locality="Springfield", region="IL",
                      postal_code="62701", country="US")
        event.timeslots.append(Timeslot(start_at=start_at, end_at=start_at + timedelta(hours=2)))
        db.session.add(event)
        db.session.commit()
        lib.log(f"seeding {ATTENDANCES:,} attendances")
        seed(db.session, event.id, event.timeslots[0].id)

        # The sweep alone, in this process; its queued mail is then discarded.
        start = time.perf_counter()
        assert services.send_due_reminders() == ATTENDANCES
        written = time.perf_counter() - start
        db.session.execute(text("DELETE FROM outbound_mail"))
        db.session.commit()
        redis.Redis.from_url(env["REDIS_URL"]).flushdb()

        worker = infra.start_celery_worker(env)
        try:
            lib.log(f"sending {ATTENDANCES:,} reminders")
            start = time.perf_counter()
            send_due_reminders.delay()
            sink.wait_for(ATTENDANCES, timeout=3000)
            delivered = time.perf_counter() - start
            peak = lib.worker_peak_mb(worker)
        finally:
            worker.stop()
        assert len({m["X-Envelope-To"] for m in sink.messages}) == ATTENDANCES == len(sink.messages)
        db.session.remove()
        db.engine.dispose()
    return {"written_per_s": ATTENDANCES / written, "delivered_per_s": ATTENDANCES / delivered, "peak_mb": peak}


if __name__ == "__main__":
    main()
