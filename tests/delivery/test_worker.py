"""Real worker processes deliver to a real HTTP receiver: killed mid-backlog, retried with backoff."""

from collections import Counter, defaultdict

import pytest
from sqlalchemy import func, select

from mobilize.delivery import batching
from mobilize.delivery.models import DeliveryBatch, DeliveryItem
from mobilize.extensions import db
from mobilize.petitions.models import Signature
from tests.support.infra import body_text, start_celery_worker, wait_until

SIGNATURES = 20_000
# Out of every 52 signatures, one is invalidated and one never confirmed: 20,800 rows, 20,000 counted.
ROWS = SIGNATURES * 52 // 50


def _status(index: int) -> str:
    return {5: "invalidated", 31: "pending"}.get(index % 52, "counted")


@pytest.fixture
def postgresql_only():
    if db.engine.dialect.name != "postgresql":
        pytest.skip("the fault test runs on PostgreSQL, the production database")


def test_a_worker_killed_mid_backlog_and_replaced_leaves_every_signature_delivered_once_per_key(
        app, monkeypatch, postgresql_only, process_env, delivery, receiver):
    fast = {"DELIVERY_BATCH_SIZE": "500", "DELIVERY_STALE_AFTER": "2", "DELIVERY_RETRY_BACKOFF": "0.5"}
    monkeypatch.setitem(app.config, "DELIVERY_BATCH_SIZE", 500)
    monkeypatch.setitem(app.config, "DELIVERY_STALE_AFTER", 2)
    petition = delivery.petition()
    delivery.webhook_plan(petition, receiver, every_n=1)
    delivery.signatures(petition, ROWS, status_of=_status)
    counted = delivery.uuids(db.session.scalars(
        select(Signature.id).where(Signature.petition_id == petition.id, Signature.counted)).all())
    uncounted = delivery.uuids(db.session.scalars(
        select(Signature.id).where(Signature.petition_id == petition.id, ~Signature.counted)).all())
    assert len(counted) == SIGNATURES and len(uncounted) == ROWS - SIGNATURES

    receiver.hold_after = 8  # the receiver stores every batch, but keeps the worker waiting from the 9th on
    first = start_celery_worker({**process_env, **fast})
    try:
        batching.sweep()
        wait_until(lambda: receiver.held >= 2, timeout=90, what="the worker mid-delivery")
        first.kill(9)  # SIGKILL to the worker's whole process group
    finally:
        first.stop()
    sending = db.session.scalar(select(func.count()).where(DeliveryBatch.status == "sending"))
    assert sending >= 1 and receiver.held >= 2 and len(receiver.arrivals) == 8 + receiver.held
    receiver.hold_after = None
    receiver.release.set()

    second = start_celery_worker({**process_env, **fast})
    try:
        def all_delivered():
            batching.sweep()  # the beat's job: re-queues the lost batches
            db.session.expire_all()
            statuses = Counter(db.session.scalars(select(DeliveryBatch.status)).all())
            delivered = db.session.scalar(select(func.coalesce(func.sum(DeliveryBatch.count), 0))
                                          .where(DeliveryBatch.status == "delivered"))
            return delivered == SIGNATURES and set(statuses) == {"delivered"}

        wait_until(all_delivered, timeout=120, interval=1, what="every batch delivered")
    finally:
        second.stop()

    arrivals = receiver.arrivals
    assert all(a.signature_ok for a in arrivals)
    by_key = defaultdict(list)
    for arrival in arrivals:
        by_key[arrival.key].append(tuple(arrival.ids))
    assert all(len(set(copies)) == 1 for copies in by_key.values())  # a re-send carries the same batch
    assert any(len(copies) > 1 for copies in by_key.values())  # and the killed worker's batches were re-sent
    once_per_key = Counter(i for copies in by_key.values() for i in copies[0])
    assert set(once_per_key) == counted and set(once_per_key.values()) == {1}
    assert not uncounted & set(once_per_key)
    keys = set(db.session.scalars(select(DeliveryBatch.idempotency_key)).all())
    assert set(by_key) == keys and len(keys) == SIGNATURES // 500
    assert db.session.scalar(select(func.count()).select_from(DeliveryItem)) == SIGNATURES


def test_a_worker_retries_a_failing_webhook_with_backoff_then_fails_it_and_mails_the_organizers(
        process_env, delivery, receiver, smtp_server):
    worker = start_celery_worker({**process_env, "DELIVERY_RETRY_BACKOFF": "0.3", "DELIVERY_MAX_ATTEMPTS": "3"})
    try:
        flaky, down = delivery.petition(title="Flexible hours now"), delivery.petition(title="Remote days now")
        delivery.webhook_plan(flaky, receiver, "/flaky", every_n=1)
        delivery.webhook_plan(down, receiver, "/down", every_n=1)
        receiver.failures.update({"/flaky": 2, "/down": -1})
        delivery.signatures(flaky, 3)
        delivery.signatures(down, 2)
        batching.sweep()

        def settled():
            statuses = {b.petition_id: (b.status, b.attempts) for b in db.session.scalars(select(DeliveryBatch))}
            db.session.expire_all()
            return statuses if statuses.get(flaky.id, ("",))[0] == "delivered" and statuses.get(
                down.id, ("",))[0] == "failed" else None

        statuses = wait_until(settled, timeout=60, interval=0.3, what="the batches settled")
        assert statuses == {flaky.id: ("delivered", 3), down.id: ("failed", 3)}
        [alert] = smtp_server.wait_for(1, to=down.organizer.email)
    finally:
        worker.stop()
    tries = [a for a in receiver.arrivals if a.path == "/flaky"]
    assert [a.status for a in tries] == [500, 500, 200] and len({a.key for a in tries}) == 1
    first_wait, second_wait = tries[1].at - tries[0].at, tries[2].at - tries[1].at
    assert first_wait >= 0.25 and second_wait >= 0.55  # 0.3 s, then 0.6 s
    assert len([a for a in receiver.arrivals if a.path == "/down"]) == 3
    assert "Remote days now" in alert["Subject"] and "after 3 attempts" in body_text(alert)
    assert not smtp_server.to(flaky.organizer.email)
