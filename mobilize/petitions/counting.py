"""Counting signatures so reading the count costs the same however many there are.

Confirming a signature appends +1 to ``petition_count_deltas``, invalidating
appends -n: appends never wait on each other. Every few seconds
``fold_counts`` moves all pending deltas into ``petition_counts`` in one
statement, so a page reads the count with one primary-key lookup and a surge
never queues on a hot row. ``reconcile_counts`` resets each count from
COUNT(*) of counted signatures to correct any drift (a person deleted with
their signatures, a bug). The two share one lock, so they never interleave;
on SQLite, which runs one writer at a time, every step starts with a write.
"""

import logging

from sqlalchemy import func, select, update

from mobilize.core.models import utcnow
from mobilize.core.sql import upsert
from mobilize.core.transaction import unit_of_work
from mobilize.extensions import db
from mobilize.petitions import news
from mobilize.petitions.models import CountDelta, Milestone, Petition, PetitionCount, Signature

log = logging.getLogger(__name__)

# PostgreSQL advisory lock keys (any two distinct 64-bit numbers, fixed for the app).
COUNT_LOCK = 0x70657469_00000001
RECONCILE_LOCK = 0x70657469_00000002


def _postgresql() -> bool:
    return db.engine.dialect.name == "postgresql"


def _try_lock(key: int) -> bool:
    """Take a transaction-scoped advisory lock if free; SQLite's single writer needs none."""
    return not _postgresql() or db.session.scalar(select(func.pg_try_advisory_xact_lock(key)))


def goal_ladder():
    """100, 250, 500, 1,000, 2,500, 5,000, 10,000, ... without end."""
    scale = 100
    while True:
        for step in (1, 2.5, 5):
            yield int(step * scale)
        scale *= 10


def next_goal(signatures: int) -> int:
    """The first goal on the ladder above this many signatures."""
    return next(goal for goal in goal_ladder() if goal > signatures)


def fold_counts() -> list[int]:
    """Add every pending delta to its petition's count; the ids of petitions whose count changed.

    Returns [] without waiting when another fold or a reconciliation holds the lock:
    the deltas stay and the next cycle takes them.
    """
    with unit_of_work():
        if not _try_lock(COUNT_LOCK):
            return []
        counts, deltas = PetitionCount.__table__, CountDelta.__table__
        if _postgresql():
            # Sums exactly the rows it deletes, whatever commits meanwhile.
            moved = deltas.delete().returning(deltas.c.petition_id, deltas.c.delta).cte("moved")
            totals = (
                select(moved.c.petition_id, func.sum(moved.c.delta).label("delta"))
                .group_by(moved.c.petition_id)
                .subquery()
            )
            changed = db.session.scalars(
                counts.update()
                .where(counts.c.petition_id == totals.c.petition_id)
                .values(signatures=counts.c.signatures + totals.c.delta)
                .returning(counts.c.petition_id)
            ).all()
        else:
            # The UPDATE takes SQLite's write lock first, so no delta can arrive before the DELETE.
            pending = select(func.sum(deltas.c.delta)).where(deltas.c.petition_id == counts.c.petition_id)
            changed = db.session.scalars(
                counts.update()
                .where(counts.c.petition_id.in_(select(deltas.c.petition_id)))
                .values(signatures=counts.c.signatures + pending.scalar_subquery())
                .returning(counts.c.petition_id)
            ).all()
            db.session.execute(deltas.delete())
        return list(changed)


def reconcile_counts() -> int:
    """Set every count to COUNT(*) of its counted signatures less its pending deltas; how many were wrong."""
    with unit_of_work():
        if not _try_lock(RECONCILE_LOCK):
            return 0
        if _postgresql():
            db.session.execute(select(func.pg_advisory_xact_lock(COUNT_LOCK)))  # waits out a running fold
        counted = (
            select(func.count())
            .where(Signature.petition_id == PetitionCount.petition_id, Signature.counted)
            .scalar_subquery()
        )
        pending = (
            select(func.coalesce(func.sum(CountDelta.delta), 0))
            .where(CountDelta.petition_id == PetitionCount.petition_id)
            .scalar_subquery()
        )
        expected = counted - pending
        corrected = db.session.execute(
            update(PetitionCount).where(PetitionCount.signatures != expected).values(signatures=expected)
        ).rowcount
    if corrected:
        log.warning("reconciled the signature count of %d petition(s) with COUNT(*)", corrected)
    return corrected


def raise_goals(petition_ids: list[int] | None = None) -> list[tuple[int, int]]:
    """Raise the goal of each open petition that reached it; record the milestones passed.

    Returns (petition id, goal reached) pairs. A conditional UPDATE on the old
    goal and a unique milestone row make a rerun or a second worker do nothing twice.
    """
    query = (
        select(Petition.id, Petition.goal, PetitionCount.signatures)
        .join(PetitionCount)
        .where(Petition.status == "open", PetitionCount.signatures >= Petition.goal)
    )
    if petition_ids is not None:
        query = query.where(Petition.id.in_(petition_ids))
    with unit_of_work():
        reached = []
        for petition_id, goal, signatures in db.session.execute(query).all():
            raised = db.session.execute(
                update(Petition).where(Petition.id == petition_id, Petition.goal == goal)
                .values(goal=next_goal(signatures))
            ).rowcount
            if not raised:
                continue
            passed = [goal, *(g for g in _ladder_until(signatures) if g > goal)]
            db.session.execute(
                upsert(Milestone)
                .values([{"petition_id": petition_id, "signatures": g, "reached_at": utcnow()} for g in passed])
                .on_conflict_do_nothing(index_elements=["petition_id", "signatures"])
            )
            reached.append((petition_id, goal))
    return reached


def _ladder_until(signatures: int):
    for goal in goal_ladder():
        if goal > signatures:
            return
        yield goal


def close_due_petitions() -> int:
    """Close open petitions whose closing date has passed; their organizers' mail commits with the change.

    The conditional UPDATE closes each petition once, however many workers run it.
    """
    with unit_of_work():
        closed = db.session.scalars(
            update(Petition).where(Petition.status == "open", Petition.closes_at <= utcnow()).values(status="closed")
            .returning(Petition.id)
        ).all()
        for petition_id in closed:
            news.queue_closed_mails(petition_id)
    return len(closed)


def current_count(petition_id: int) -> int:
    """The count with the signatures confirmed since the last fold: for the one who just confirmed, who
    should see their own signature counted. One statement, so a fold meanwhile changes nothing."""
    pending = select(func.coalesce(func.sum(CountDelta.delta), 0)).where(CountDelta.petition_id == petition_id)
    return db.session.scalar(select(PetitionCount.signatures + pending.scalar_subquery())
                             .where(PetitionCount.petition_id == petition_id)) or 0


def count_lag(petition_id: int) -> int:
    """Signatures confirmed but not yet folded into the shown count (tests and diagnostics)."""
    return db.session.scalar(
        select(func.coalesce(func.sum(CountDelta.delta), 0)).where(CountDelta.petition_id == petition_id)
    )

