"""Scheduled announcements: 10,000 opted-in supporters, from the sweep to the test SMTP sink, beside the
no-op Celery task rate of ../shared/bench/floor measured in the same session.

    .venv/bin/python -m bench.announcements

Figures: messages delivered to SMTP per second end to end (the sweep, the batches and the outbox,
all in one worker of the floor's shape: prefork, -c 2, on a Redis of its own), the worker's peak
memory, and, separately, recipients written to the outbox per second by the batches alone in one
process (the part this feature adds in front of the outbox).
"""

import time
import uuid

import redis
from sqlalchemy import insert, text

from bench import lib
from tests.support import infra

RECIPIENTS = 10_000
BATCH_SIZE = 500


def seed(session, organization_id: int) -> None:
    from mobilize.core.models import utcnow
    from mobilize.people.models import Person, Subscription

    now = utcnow()
    people = [{"uuid": uuid.uuid4(), "email": f"fan{n}@example.net", "email_normalized": f"fan{n}@example.net",
               "given_name": f"Fan{n}", "postal_code": "62701", "created_at": now, "modified_at": now}
              for n in range(RECIPIENTS)]
    ids = session.scalars(insert(Person).returning(Person.id, sort_by_parameter_order=True), people).all()
    session.execute(insert(Subscription), [
        {"person_id": person_id, "organization_id": organization_id, "opted_in_at": now, "wording": "Email me.",
         "source": "bench", "created_at": now, "modified_at": now} for person_id in ids])
    session.commit()
    session.execute(text("ANALYZE people"))
    session.execute(text("ANALYZE subscriptions"))
    session.commit()


def main() -> None:
    floor = lib.floor(("celery",))
    with lib.mail_worker_database(ANNOUNCEMENT_BATCH_SIZE=str(BATCH_SIZE),
                                  ANNOUNCEMENT_RATE_PER_MINUTE="100000000") as (env, sink):
        figures = run(env, sink)

    celery = floor["celery_tasks_per_s"]
    print(f"announcement to {RECIPIENTS:,} supporters, batches of {BATCH_SIZE}, one worker -c 2")
    print(lib.table([
        ("messages delivered to SMTP /s, end to end", figures["delivered_per_s"], celery),
        ("recipients written to the outbox /s, batches alone", figures["written_per_s"], celery),
    ]))
    print(f"worker peak memory (main + 2 pool processes): {figures['peak_mb']:.0f} MiB")


def run(env: dict, sink) -> dict:
    from mobilize.accounts import services as accounts
    from mobilize.announcements import services
    from mobilize.announcements.models import Announcement
    from mobilize.announcements.tasks import send_due_announcements
    from mobilize.core.models import utcnow
    from mobilize.extensions import db

    app = lib.app_for(env)
    with app.app_context():
        user = accounts.sign_up("bench-announce@example.org", "Bench", "bench-password-123", "Bench Announce")
        org = accounts.organizations_for(user.id)[0]
        seed(db.session, org.id)

        def due_announcement(subject: str) -> Announcement:
            announcement = services.create_announcement(user.id, org.id, services.Draft(
                subject=subject, body="Join us **Friday**.\n\n- Bring a friend\n- Tell your story",
                timezone="America/Chicago", send_local=None), schedule=False)
            db.session.execute(Announcement.__table__.update().where(Announcement.id == announcement.id)
                               .values(status="scheduled", send_at=utcnow()))
            db.session.commit()
            return announcement

        # The batches alone, in this process; their queued mail is then discarded.
        alone = due_announcement("Batches alone")
        services.start_due_announcements()
        db.session.refresh(alone)
        start = time.perf_counter()
        while alone.status == "sending":
            services.send_batch(alone.id, alone.cursor)
            db.session.refresh(alone)
        written = time.perf_counter() - start
        assert alone.recipients == RECIPIENTS
        db.session.execute(text("DELETE FROM outbound_mail"))
        db.session.commit()
        redis.Redis.from_url(env["REDIS_URL"]).flushdb()

        announcement = due_announcement("Town hall this Friday")
        worker = infra.start_celery_worker(env)
        try:
            lib.log(f"sending to {RECIPIENTS:,} supporters")
            start = time.perf_counter()
            send_due_announcements.delay()
            sink.wait_for(RECIPIENTS, timeout=1200)
            delivered = time.perf_counter() - start

            def sent():  # an audience that is a multiple of the batch size ends with an empty batch
                db.session.refresh(announcement)
                return announcement.status == "sent"

            infra.wait_until(sent, what="the last batch")
            peak = lib.worker_peak_mb(worker)
        finally:
            worker.stop()
        assert announcement.recipients == RECIPIENTS
        assert len({m["X-Envelope-To"] for m in sink.messages}) == RECIPIENTS == len(sink.messages)
        db.session.remove()
        db.engine.dispose()
    return {"written_per_s": RECIPIENTS / written, "delivered_per_s": RECIPIENTS / delivered, "peak_mb": peak}


if __name__ == "__main__":
    main()
