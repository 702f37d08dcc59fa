"""When deliveries are due, and cutting the waiting signatures into batches.

The beat sweeper marks a recipient's cursor due when a cadence fires (every N
counted signatures, the daily local time, the final delivery time); batches are
then cut from the cursor, each in the transaction that locks the cursor row and
moves it, until everything waiting is in a batch. ``due_at`` lives on the row,
so a worker that dies mid-way leaves work the next sweep finds.

A signature confirmed after the cursor passed its id (it was still pending, or
its transaction committed late) is found by a look behind the cursor over the
recently confirmed, and goes out in a batch of its own; ``delivery_items`` keeps
any signature from being put in two batches for one recipient.
"""

import uuid
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import exists, false, func, insert, literal, or_, select, update

from mobilize.core.dispatch import after_commit
from mobilize.core.models import utcnow
from mobilize.core.sql import upsert
from mobilize.core.transaction import unit_of_work
from mobilize.delivery.models import DeliveryBatch, DeliveryCursor, DeliveryItem, DeliveryPlan
from mobilize.extensions import db
from mobilize.petitions.models import Signature, Target

# Batches one task cuts before it re-queues itself (so one huge backlog does not hold a worker).
BATCHES_PER_TASK = 50
# How far back the look behind the cursor reaches past its last run: covers transactions that commit late.
LATE_MARGIN = timedelta(minutes=10)


def next_daily(daily_at: time, timezone: str, after: datetime) -> datetime:
    """The first instant after ``after`` when the wall clock in ``timezone`` reads ``daily_at``.

    Across a DST change the wall-clock time holds (09:00 stays 09:00); a time the
    change skips falls an hour later, and a time it repeats means the first one.
    """
    zone = ZoneInfo(timezone)
    day = after.astimezone(zone).date()
    for offset in range(3):
        moment = datetime.combine(day + timedelta(days=offset), daily_at, tzinfo=zone).astimezone(UTC)
        if moment > after:
            return moment
    raise AssertionError("unreachable: a day has a next occurrence of every time")


# ------------------------------------------------------------------ the sweep

def sweep(now: datetime | None = None) -> dict:
    """Mark due recipients, fan out a batch-cutting task for each, and re-queue batches a worker lost."""
    from mobilize.delivery.tasks import cut_delivery_batches

    now = now or utcnow()
    plan_ids = db.session.scalars(
        select(DeliveryPlan.id).where(or_(DeliveryPlan.email_targets.is_(True), DeliveryPlan.webhook_url != ""))
    ).all()
    for plan_id in plan_ids:
        mark_due(plan_id, now)
    with unit_of_work():
        due = db.session.scalars(select(DeliveryCursor.id).where(DeliveryCursor.due_at.is_not(None))).all()
        for cursor_id in due:
            after_commit(db.session, cut_delivery_batches, cursor_id)
    return {"due": len(due), "requeued": requeue_lost_batches(now)}


def _ensure_cursors(plan: DeliveryPlan, now: datetime) -> None:
    """A cursor for each recipient the plan has now: targets added later get theirs here."""
    rows = []
    if plan.webhook_url:
        rows.append({"key": "webhook", "kind": "webhook", "target_id": None})
    if plan.email_targets:
        targets = db.session.scalars(select(Target.id).where(Target.petition_id == plan.petition_id,
                                                             Target.email != "")).all()
        rows += [{"key": f"target:{target_id}", "kind": "email", "target_id": target_id} for target_id in targets]
    if rows:
        db.session.execute(
            upsert(DeliveryCursor)
            .values([{**row, "plan_id": plan.id, "petition_id": plan.petition_id, "last_signature_id": 0,
                      "batches": 0, "late_since": utcnow(), "created_at": now, "modified_at": now} for row in rows])
            .on_conflict_do_nothing(index_elements=["plan_id", "key"])
        )


def active_cursors(plan: DeliveryPlan):
    """The plan's cursors whose channel is on: its webhook if it has one, its targets with an email address."""
    query = select(DeliveryCursor).outerjoin(Target, Target.id == DeliveryCursor.target_id).where(
        DeliveryCursor.plan_id == plan.id)
    channels = []
    if plan.webhook_url:
        channels.append(DeliveryCursor.kind == "webhook")
    if plan.email_targets:
        channels.append((DeliveryCursor.kind == "email") & (Target.email != ""))
    return query.where(or_(*channels)) if channels else query.where(false())


def _behind(cursor: DeliveryCursor):
    """Counted signatures behind the cursor that no batch of its has: confirmed after it passed them."""
    return select(Signature.id).where(
        Signature.petition_id == cursor.petition_id, Signature.counted, Signature.id <= cursor.last_signature_id,
        Signature.confirmed_at >= cursor.late_since,
        ~exists().where(DeliveryItem.cursor_id == cursor.id, DeliveryItem.signature_id == Signature.id),
    )


def _ahead(cursor: DeliveryCursor):
    return select(Signature.id).where(
        Signature.petition_id == cursor.petition_id, Signature.counted, Signature.id > cursor.last_signature_id)


def _waiting(cursor: DeliveryCursor, limit: int) -> int:
    """Counted signatures the recipient has not been sent, counting no further than ``limit``."""
    ahead = db.session.scalar(select(func.count()).select_from(_ahead(cursor).limit(limit).subquery()))
    if ahead >= limit:
        return ahead
    return ahead + db.session.scalar(select(func.count()).select_from(_behind(cursor).limit(limit - ahead).subquery()))


def mark_due(plan_id: int, now: datetime) -> int:
    """Fire the plan's cadences that are due; how many of its recipients became due.

    The daily and final cadences fire through a conditional UPDATE of the plan,
    so two sweeps at once fire each of them once.
    """
    with unit_of_work():
        return _mark_due(db.session.get(DeliveryPlan, plan_id), now)


def _mark_due(plan: DeliveryPlan, now: datetime) -> int:
    _ensure_cursors(plan, now)
    fired = False
    if plan.daily_at is not None and plan.next_daily_at is not None and plan.next_daily_at <= now:
        fired |= bool(db.session.execute(
            update(DeliveryPlan)
            .where(DeliveryPlan.id == plan.id, DeliveryPlan.next_daily_at == plan.next_daily_at)
            .values(next_daily_at=next_daily(plan.daily_at, plan.timezone, now))
        ).rowcount)
    if plan.final_at is not None and plan.final_at <= now and plan.final_started_at is None:
        fired |= bool(db.session.execute(
            update(DeliveryPlan)
            .where(DeliveryPlan.id == plan.id, DeliveryPlan.final_started_at.is_(None))
            .values(final_started_at=now)
        ).rowcount)
    marked = 0
    for cursor in db.session.scalars(active_cursors(plan).where(DeliveryCursor.due_at.is_(None))).all():
        if fired or (plan.every_n and _waiting(cursor, plan.every_n) >= plan.every_n):
            marked += db.session.execute(
                update(DeliveryCursor).where(DeliveryCursor.id == cursor.id, DeliveryCursor.due_at.is_(None))
                .values(due_at=now)
            ).rowcount
    return marked


def mark_plan_due(plan: DeliveryPlan, now: datetime | None = None) -> int:
    """Make every recipient of the plan due now (the organizer's "deliver now")."""
    now = now or utcnow()
    _ensure_cursors(plan, now)
    ids = db.session.scalars(active_cursors(plan).with_only_columns(DeliveryCursor.id)).all()
    if ids:
        db.session.execute(update(DeliveryCursor).where(DeliveryCursor.id.in_(ids), DeliveryCursor.due_at.is_(None))
                           .values(due_at=now))
    from mobilize.delivery.tasks import cut_delivery_batches

    for cursor_id in ids:
        after_commit(db.session, cut_delivery_batches, cursor_id)
    return len(ids)


# ------------------------------------------------------------------ cutting batches

def cut_batches(cursor_id: int, limit: int = BATCHES_PER_TASK) -> tuple[int, bool]:
    """Cut up to ``limit`` batches from a due cursor; (batches cut, whether more remain)."""
    for cut in range(limit):
        if cut_batch(cursor_id) is None:
            return cut, False
    return limit, True


def cut_batch(cursor_id: int) -> int | None:
    """Put the next waiting signatures of a due cursor in a batch and queue it; None when there were none.

    The cursor row is locked (SKIP LOCKED: a second cutter of the same cursor
    leaves at once), read, moved and committed with the batch and its items.
    """
    with unit_of_work():
        cursor = db.session.scalar(
            select(DeliveryCursor).where(DeliveryCursor.id == cursor_id, DeliveryCursor.due_at.is_not(None))
            .with_for_update(skip_locked=True)
        )
        return _cut(cursor) if cursor is not None else None


def _cut(cursor: DeliveryCursor) -> int | None:
    plan = db.session.get(DeliveryPlan, cursor.plan_id)
    if cursor.id not in db.session.scalars(active_cursors(plan).with_only_columns(DeliveryCursor.id)).all():
        cursor.due_at = None  # its channel was turned off
        return None
    size = current_app.config["DELIVERY_BATCH_SIZE"]
    ahead = db.session.scalars(_ahead(cursor).order_by(Signature.id).limit(size)).all()
    if ahead:
        batch_id = _new_batch(cursor, ahead)
        cursor.last_signature_id = ahead[-1]
        return batch_id
    checked_at = utcnow()
    behind = db.session.scalars(_behind(cursor).order_by(Signature.id).limit(size)).all()
    batch_id = _new_batch(cursor, behind) if behind else None
    if len(behind) < size:  # caught up: nothing waits ahead of the cursor or behind it
        cursor.late_since = max(cursor.late_since, checked_at - LATE_MARGIN)
        cursor.due_at = None
    return batch_id


def _new_batch(cursor: DeliveryCursor, signature_ids: list[int]) -> int:
    from mobilize.delivery.tasks import deliver_signature_batch

    now = utcnow()
    cursor.batches += 1
    batch = DeliveryBatch(
        petition_id=cursor.petition_id, cursor_id=cursor.id, kind=cursor.kind, target_id=cursor.target_id,
        sequence=cursor.batches, from_signature_id=signature_ids[0], to_signature_id=signature_ids[-1],
        count=len(signature_ids), status="pending", idempotency_key=uuid.uuid4().hex, next_attempt_at=now,
    )
    db.session.add(batch)
    db.session.flush()
    db.session.execute(insert(DeliveryItem).from_select(
        ["cursor_id", "signature_id", "batch_id"],
        select(literal(cursor.id), Signature.id, literal(batch.id)).where(Signature.id.in_(signature_ids)),
    ))
    after_commit(db.session, deliver_signature_batch, batch.id)
    return batch.id


# ------------------------------------------------------------------ lost batches

def requeue_lost_batches(now: datetime | None = None, limit: int = 1000) -> int:
    """Queue again the batches a worker lost: 'sending' too long (it died) or due too long (its message was lost).

    They go back to 'pending' and keep their idempotency key, so the receiver
    can tell a re-send from a new batch.
    """
    from mobilize.delivery.tasks import deliver_signature_batch

    now = now or utcnow()
    stale = now - timedelta(seconds=current_app.config["DELIVERY_STALE_AFTER"])
    lost = (
        select(DeliveryBatch.id)
        .where(or_((DeliveryBatch.status == "sending") & (DeliveryBatch.claimed_at < stale),
                   (DeliveryBatch.status == "pending") & (DeliveryBatch.next_attempt_at < stale)))
        .order_by(DeliveryBatch.id).limit(limit)
    )
    with unit_of_work():
        ids = db.session.scalars(
            update(DeliveryBatch)
            .where(DeliveryBatch.id.in_(lost),
                   or_((DeliveryBatch.status == "sending") & (DeliveryBatch.claimed_at < stale),
                       (DeliveryBatch.status == "pending") & (DeliveryBatch.next_attempt_at < stale)))
            .values(status="pending", next_attempt_at=now, claimed_at=None)
            .returning(DeliveryBatch.id)
            .execution_options(synchronize_session=False)
        ).all()
        for batch_id in ids:
            after_commit(db.session, deliver_signature_batch, batch_id)
    return len(ids)
