"""Signature delivery: a backlog of counted signatures to a local webhook receiver, beside the no-op Celery
task rate of ../shared/bench/floor measured in the same session.

    .venv/bin/python -m bench.delivery [SIGNATURES ...]      (default: 200000 1000000)

For each backlog size: signatures per second from "deliver now" to the last batch stored by the receiver
(cutting the batches and sending them, all in one worker of the floor's shape: prefork, -c 2, on a Redis of
its own), and the worker's peak memory (main + pool processes), read when 100,000 signatures had arrived
and at the end: flat when streaming, whatever the size of the backlog.
"""

import sys
import time
from collections import Counter
from pathlib import Path

import redis
from sqlalchemy import text

from bench import lib
from tests.delivery.receiver import Receiver
from tests.support import infra

BATCH_SIZE = 1000
CHECKPOINT = 100_000


def worker_peak_mb(worker) -> float:
    """Peak resident memory of the worker's main process and its pool processes, summed."""
    pid = worker.process.pid
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return sum(lib.peak_rss_mb(int(p)) for p in [pid, *children])


def seed(session, petition_id: int, count: int) -> None:
    """``count`` people and their confirmed signatures, written by the database itself."""
    session.execute(text(
        "INSERT INTO people (uuid, email, email_normalized, given_name, family_name, phone, postal_code, locality,"
        " country, created_at, modified_at)"
        " SELECT gen_random_uuid(), 'signer' || g || '@bench.test', 'signer' || g || '@bench.test', 'Signer' || g,"
        " 'Doe', '', '62701', 'Springfield', 'US', now(), now() FROM generate_series(1, :n) g"), {"n": count})
    session.execute(text(
        "INSERT INTO signatures (uuid, petition_id, person_id, given_name, family_name, postal_code, locality,"
        " country, comment, public, source, confirmation_sent_at, confirmations_sent, confirmed_at, confirmed_via,"
        " created_at, modified_at)"
        " SELECT gen_random_uuid(), :petition, p.id, p.given_name, 'Doe', '62701', 'Springfield', 'US',"
        " 'Flexible hours let me care for my family.', false, 'web', now(), 1, now(), 'email', now(), now()"
        " FROM people p ORDER BY p.id"), {"petition": petition_id})
    session.commit()
    for table in ("people", "signatures"):
        session.execute(text(f"ANALYZE {table}"))
    session.commit()


def run(count: int) -> dict:
    from mobilize.accounts import services as accounts
    from mobilize.delivery import services as delivery
    from mobilize.extensions import db
    from mobilize.petitions import services as petitions

    broker, receiver = infra.RedisServer().start(), Receiver(keep_bodies=False).start()
    try:
        with lib.app_database(DELIVERY_ALLOW_LOCAL_WEBHOOKS="1", DELIVERY_BATCH_SIZE=str(BATCH_SIZE)) as env:
            env = {**env, "REDIS_URL": broker.url}
            app = lib.app_for({**env, "REDIS_URL": broker.url}, DELIVERY_BATCH_SIZE=BATCH_SIZE)
            with app.app_context():
                user = accounts.sign_up(f"bench-delivery-{count}@example.org", "Bench", "bench-password-123",
                                        "Bench Delivery")
                org = accounts.organizations_for(user.id)[0]
                petition = petitions.create_petition(user.id, org.id, title="Flexible hours now", goal=100)
                petitions.add_target(user.id, petition.id, name="Jane Doe", title="CEO", organization="Acme Co")
                petitions.update_petition(user.id, petition.id, status="open")
                lib.log(f"seeding {count:,} signatures")
                seed(db.session, petition.id, count)
                plan = delivery.save_plan(user.id, petition.id, delivery.PlanInput(
                    webhook_url=receiver.url(), final_local=None, timezone="UTC", daily_at=None, every_n=10**6))
                receiver.secrets["/hook"] = plan.webhook_secret

                worker = infra.start_celery_worker(env)
                try:
                    lib.log(f"delivering {count:,} signatures")
                    start = time.perf_counter()
                    delivery.deliver_now(user.id, petition.id)
                    arrived = lambda: sum(len(a.ids) for a in receiver.accepted())  # noqa: E731
                    infra.wait_until(lambda: arrived() >= min(CHECKPOINT, count), timeout=3600, interval=0.2)
                    checkpoint_mb = worker_peak_mb(worker)
                    infra.wait_until(lambda: arrived() >= count, timeout=3600, interval=0.2)
                    elapsed = time.perf_counter() - start
                    peak_mb = worker_peak_mb(worker)
                finally:
                    worker.stop()
                ids = Counter(i for a in receiver.accepted() for i in a.ids)
                assert len(ids) == count and set(ids.values()) == {1}, "every signature once"
                assert all(a.signature_ok for a in receiver.arrivals)
                db.session.remove()
                db.engine.dispose()
            redis.Redis.from_url(broker.url).flushdb()
    finally:
        receiver.stop()
        broker.stop()
    return {"per_s": count / elapsed, "seconds": elapsed, "checkpoint_mb": checkpoint_mb, "peak_mb": peak_mb,
            "batches": len(receiver.arrivals)}


def main() -> None:
    sizes = [int(arg) for arg in sys.argv[1:]] or [200_000, 1_000_000]
    floor = lib.floor(("celery",))
    celery = floor["celery_tasks_per_s"]
    results = {count: run(count) for count in sizes}
    print(f"signature delivery to a local webhook, batches of {BATCH_SIZE:,}, one worker -c 2")
    print(lib.table([(f"signatures delivered /s, backlog {count:,}", r["per_s"], celery)
                     for count, r in results.items()]))
    for count, r in results.items():
        print(f"backlog {count:,}: {r['seconds']:.0f} s, {r['batches']:,} POSTs; worker peak memory (main + 2 pool"
              f" processes) {r['checkpoint_mb']:.0f} MiB at {min(CHECKPOINT, count):,} delivered,"
              f" {r['peak_mb']:.0f} MiB at the end")


if __name__ == "__main__":
    main()
