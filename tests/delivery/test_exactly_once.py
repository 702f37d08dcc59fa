"""Every counted signature reaches each recipient once; invalidated ones never."""

import threading
from collections import Counter

import pytest
from sqlalchemy import func, select, update

from mobilize.core.models import utcnow
from mobilize.delivery import batching
from mobilize.delivery.models import DeliveryCursor, DeliveryItem
from mobilize.extensions import db
from mobilize.petitions import services as petitions
from mobilize.petitions.models import Signature


def test_a_signature_confirmed_after_the_cursor_passed_it_is_delivered_once(delivery, receiver):
    petition = delivery.petition()
    delivery.webhook_plan(petition, receiver, every_n=1)
    [late] = delivery.signatures(petition, 1, status="pending")
    early = delivery.signatures(petition, 2)
    delivery.sweep()
    delivery.deliver_all()
    assert [b.count for b in delivery.batches(petition)] == [2]  # the cursor is now past the pending one

    db.session.execute(update(Signature).where(Signature.id == late).values(confirmed_at=utcnow()))
    db.session.commit()
    delivery.sweep()
    delivery.sweep()
    delivery.deliver_all()
    batches = delivery.batches(petition)
    assert [b.count for b in batches] == [2, 1]
    assert batches[1].from_signature_id == batches[1].to_signature_id == late
    arrived = Counter(i for a in receiver.accepted() for i in a.ids)
    assert arrived == Counter(delivery.uuids([late, *early]))


def test_invalidated_signatures_are_never_delivered_even_when_invalidated_after_the_batch_was_cut(delivery,
                                                                                                 receiver):
    petition = delivery.petition()
    delivery.webhook_plan(petition, receiver, every_n=1)
    kept = delivery.signatures(petition, 3)
    delivery.signatures(petition, 2, status="invalidated")
    spam = delivery.signatures(petition, 2)
    delivery.sweep()
    [batch] = delivery.batches(petition)
    assert batch.count == 5

    user = petition.organizer
    for signature_uuid in db.session.scalars(select(Signature.uuid).where(Signature.id.in_(spam))):
        petitions.invalidate_signatures(user.id, petition.id, "Fake names", signature_uuid=signature_uuid)
    delivery.deliver_all()
    [batch] = delivery.batches(petition)
    assert batch.status == "delivered" and batch.count == 3
    assert sorted(receiver.accepted()[0].ids) == sorted(delivery.uuids(kept))
    recorded = db.session.scalars(select(DeliveryItem.signature_id).where(DeliveryItem.batch_id == batch.id)).all()
    assert sorted(recorded) == sorted(kept)


def test_a_sweep_run_twice_and_a_duplicate_message_send_nothing_twice(delivery, receiver):
    petition = delivery.petition()
    delivery.webhook_plan(petition, receiver, every_n=1)
    ids = delivery.signatures(petition, 4)
    delivery.sweep()
    delivery.sweep()
    [batch] = delivery.batches(petition)
    from mobilize.delivery.sending import deliver_batch

    assert deliver_batch(batch.id).status == "delivered"
    assert deliver_batch(batch.id).status == "skipped"
    assert len(receiver.arrivals) == 1 and sorted(receiver.arrivals[0].ids) == sorted(delivery.uuids(ids))


def test_four_cutters_racing_on_one_cursor_put_each_signature_in_one_batch(app, delivery, receiver, batch_size):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SKIP LOCKED races are PostgreSQL's; SQLite runs one writer at a time")
    batch_size(50)
    petition = delivery.petition()
    delivery.webhook_plan(petition, receiver, every_n=1)
    ids = delivery.signatures(petition, 2000)
    batching.sweep()
    cursor_id = db.session.scalar(select(DeliveryCursor.id))
    barrier = threading.Barrier(4)

    def cutter():
        with app.app_context():
            barrier.wait()
            while db.session.scalar(select(DeliveryCursor.due_at).where(DeliveryCursor.id == cursor_id)):
                batching.cut_batches(cursor_id, limit=3)
            db.session.remove()

    threads = [threading.Thread(target=cutter) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    batches = delivery.batches(petition)
    assert sum(b.count for b in batches) == 2000 == len(batches) * 50
    assert db.session.scalar(select(func.count(func.distinct(DeliveryItem.signature_id)))) == len(ids)
    ranges = sorted((b.from_signature_id, b.to_signature_id) for b in batches)
    assert all(previous[1] < current[0] for previous, current in zip(ranges, ranges[1:], strict=False))
