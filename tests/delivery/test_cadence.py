"""When batches are cut: every N counted signatures, daily at a local time, once at the final time."""

from datetime import UTC, datetime, time, timedelta

from sqlalchemy import update

from mobilize.core.models import utcnow
from mobilize.delivery.batching import next_daily
from mobilize.delivery.models import DeliveryPlan
from mobilize.extensions import db


def test_every_n_waits_for_n_counted_signatures_then_delivers_what_is_waiting(delivery, receiver):
    petition = delivery.petition()
    delivery.webhook_plan(petition, receiver, every_n=3)
    delivery.signatures(petition, 2)
    delivery.signatures(petition, 4, status="pending")
    delivery.signatures(petition, 4, status="invalidated")
    delivery.sweep()
    assert delivery.batches(petition) == []

    third = delivery.signatures(petition, 1)
    delivery.sweep()
    [batch] = delivery.batches(petition)
    assert batch.count == 3 and batch.to_signature_id == third[0]

    delivery.signatures(petition, 2)
    delivery.sweep()
    assert len(delivery.batches(petition)) == 1  # two waiting: not yet three


def test_a_backlog_is_cut_into_batches_of_at_most_the_batch_size_whose_ranges_never_overlap(delivery, receiver,
                                                                                             batch_size):
    batch_size(4)
    petition = delivery.petition()
    delivery.webhook_plan(petition, receiver, every_n=1)
    ids = delivery.signatures(petition, 10)
    delivery.sweep()
    batches = delivery.batches(petition)
    assert [b.count for b in batches] == [4, 4, 2]
    assert [b.sequence for b in batches] == [1, 2, 3]
    assert [(b.from_signature_id, b.to_signature_id) for b in batches] == [
        (ids[0], ids[3]), (ids[4], ids[7]), (ids[8], ids[9])]
    assert len({b.idempotency_key for b in batches}) == 3

    delivery.deliver_all()
    assert {key for a in receiver.accepted() for key in [a.key]} == {b.idempotency_key for b in batches}
    assert sorted(i for a in receiver.accepted() for i in a.ids) == sorted(delivery.uuids(ids))


def test_daily_delivery_keeps_its_wall_clock_time_across_dst_changes():
    new_york = "America/New_York"
    # Spring forward (8 March 2026): 09:00 is 14:00 UTC the day before, 13:00 UTC after.
    assert next_daily(time(9), new_york, datetime(2026, 3, 7, 12, tzinfo=UTC)) == datetime(2026, 3, 7, 14, tzinfo=UTC)
    assert next_daily(time(9), new_york, datetime(2026, 3, 7, 14, tzinfo=UTC)) == datetime(2026, 3, 8, 13, tzinfo=UTC)
    # Fall back (1 November 2026): 13:00 UTC, then 14:00 UTC.
    assert next_daily(time(9), new_york, datetime(2026, 10, 31, 13, tzinfo=UTC)) == datetime(2026, 11, 1, 14,
                                                                                                 tzinfo=UTC)
    # 02:30 does not exist on 8 March: the delivery runs at 03:30 EDT (07:30 UTC), once.
    assert next_daily(time(2, 30), new_york, datetime(2026, 3, 8, 5, tzinfo=UTC)) == datetime(2026, 3, 8, 7, 30,
                                                                                                tzinfo=UTC)
    # 01:30 happens twice on 1 November: the first one (EDT, 05:30 UTC).
    assert next_daily(time(1, 30), new_york, datetime(2026, 11, 1, 4, tzinfo=UTC)) == datetime(2026, 11, 1, 5, 30,
                                                                                                 tzinfo=UTC)


def test_the_sweeper_delivers_daily_at_the_local_time_before_and_after_the_clocks_change(delivery, receiver):
    petition = delivery.petition()
    plan = delivery.webhook_plan(petition, receiver, daily_at=time(9), timezone="America/New_York")
    db.session.execute(update(DeliveryPlan).where(DeliveryPlan.id == plan.id)
                       .values(next_daily_at=datetime(2026, 3, 7, 14, tzinfo=UTC)))
    db.session.commit()
    delivery.signatures(petition, 2)

    delivery.sweep(now=datetime(2026, 3, 7, 13, 59, tzinfo=UTC))
    assert delivery.batches(petition) == []
    delivery.sweep(now=datetime(2026, 3, 7, 14, 0, 20, tzinfo=UTC))
    assert [b.count for b in delivery.batches(petition)] == [2]
    db.session.refresh(plan)
    assert plan.next_daily_at == datetime(2026, 3, 8, 13, tzinfo=UTC)  # 09:00 EDT

    delivery.signatures(petition, 3)
    delivery.sweep(now=datetime(2026, 3, 8, 12, 59, 50, tzinfo=UTC))
    assert [b.count for b in delivery.batches(petition)] == [2]
    delivery.sweep(now=datetime(2026, 3, 8, 13, 0, 20, tzinfo=UTC))
    delivery.sweep(now=datetime(2026, 3, 8, 13, 0, 50, tzinfo=UTC))  # the next sweep fires nothing again
    assert [b.count for b in delivery.batches(petition)] == [2, 3]
    db.session.refresh(plan)
    assert plan.next_daily_at == datetime(2026, 3, 9, 13, tzinfo=UTC)


def test_the_final_delivery_sends_everything_remaining_once(delivery, receiver, batch_size):
    batch_size(2)
    petition = delivery.petition()
    final_local = (utcnow() + timedelta(hours=2)).astimezone(UTC).replace(tzinfo=None, second=0, microsecond=0)
    plan = delivery.webhook_plan(petition, receiver, final_local=final_local, timezone="UTC")
    delivery.signatures(petition, 5)

    delivery.sweep()
    assert delivery.batches(petition) == []
    after_final = plan.final_at + timedelta(seconds=5)
    delivery.sweep(now=after_final)
    assert [b.count for b in delivery.batches(petition)] == [2, 2, 1]

    delivery.signatures(petition, 3)
    delivery.sweep(now=after_final + timedelta(hours=1))
    assert len(delivery.batches(petition)) == 3  # the final delivery happens once
    db.session.refresh(plan)
    assert plan.final_started_at == after_final


def test_a_target_added_later_gets_the_whole_backlog_and_the_others_nothing_twice(delivery, send_queued_mail,
                                                                                 smtp_server):
    petition = delivery.petition()
    delivery.plan(petition, email_targets=True, every_n=1)
    delivery.signatures(petition, 3)
    delivery.sweep()
    delivery.deliver_all()
    from mobilize.petitions import services as petitions

    petitions.add_target(petition.organizer.id, petition.id, name="Sam Boss", email="sam@acme.example")
    delivery.signatures(petition, 2)
    delivery.sweep()
    delivery.deliver_all()
    counts = sorted((b.target.email, b.count) for b in delivery.batches(petition))
    assert counts == [("jane@acme.example", 2), ("jane@acme.example", 3), ("sam@acme.example", 5)]
    assert send_queued_mail() == 3
    assert len(smtp_server.to("sam@acme.example")) == 1 and len(smtp_server.to("jane@acme.example")) == 2
