"""Petition news: goals reached and closing dates to organizers, updates to the signers who opted in.

Each sweep is idempotent and safe to overlap with another: every message goes
through ``queue_mail`` with a ``dedupe_key``, and the outbox's unique index on
it is the ledger that makes a second sweep add nothing.
"""

from datetime import datetime, timedelta

from sqlalchemy import exists, func, select
from sqlalchemy.orm import joinedload

from mobilize.accounts.services import active_organizers
from mobilize.core.mail import queue_mail
from mobilize.core.models import utcnow
from mobilize.core.sql import upsert
from mobilize.core.transaction import Abandon, unit_of_work
from mobilize.core.urls import external_url
from mobilize.extensions import db
from mobilize.people.models import Subscription
from mobilize.petitions.models import (
    CountDelta,
    Milestone,
    Petition,
    PetitionCount,
    PetitionUpdate,
    Signature,
    UpdateMailing,
)

BATCH = 500
UPDATE_WINDOW = timedelta(days=7)  # petition updates older than this are not mailed any more


def send_milestone_mails() -> int:
    """Tell a petition's organizers each goal it reached (and the new goal), once per goal."""
    queued = 0
    with unit_of_work():
        milestones = db.session.scalars(
            select(Milestone).where(Milestone.notified_at.is_(None)).order_by(Milestone.id).limit(BATCH)
            .with_for_update(skip_locked=True)
        ).all()
        for milestone in milestones:
            petition = db.session.get(Petition, milestone.petition_id)
            for user in active_organizers(petition.organization_id):
                queued += queue_mail(
                    user.email, "petition_milestone",
                    dedupe_key=f"milestone:{petition.id}:{milestone.signatures}:{user.id}",
                    user=user, petition=petition, organization=petition.organization, reached=milestone.signatures,
                    signatures=petition.count.signatures, goal=petition.goal,
                    petition_url=external_url("petitions.show", slug=petition.slug),
                    manage_url=external_url("petitions.edit", slug=petition.organization.slug,
                                            petition_id=petition.uuid),
                ) is not None
            milestone.notified_at = utcnow()
    return queued


def queue_closed_mails(petition_id: int) -> int:
    """Tell each organizer that the petition closed on its date, with its final count; in the caller's transaction.

    The key holds the closing date, so a petition reopened with a new date is announced again when that one comes.
    """
    petition = db.session.get(Petition, petition_id)
    pending = select(func.coalesce(func.sum(CountDelta.delta), 0)).where(CountDelta.petition_id == petition_id)
    signatures = db.session.scalar(  # one statement: a fold moving deltas into the count meanwhile changes nothing
        select(PetitionCount.signatures + pending.scalar_subquery()).where(PetitionCount.petition_id == petition_id))
    org, closed = petition.organization, petition.closes_at.strftime("%Y%m%dT%H%M%S%f")
    urls = {
        "petition_url": external_url("petitions.show", slug=petition.slug),
        "manage_url": external_url("petitions.edit", slug=org.slug, petition_id=petition.uuid),
        "delivery_url": external_url("delivery.plan", slug=org.slug, petition_id=petition.uuid),
        "export_url": external_url("petitions.export_csv", slug=org.slug, petition_id=petition.uuid),
    }
    return sum(
        queue_mail(user.email, "petition_closed", dedupe_key=f"petition-closed:{petition.id}:{closed}:{user.id}",
                   user=user, petition=petition, organization=org, signatures=signatures, **urls) is not None
        for user in active_organizers(petition.organization_id)
    )


def send_update_mails(now: datetime | None = None, batch: int = BATCH) -> int:
    """Mail recent petition updates to signers who opted in, a batch per update per run, walking a cursor."""
    now = now or utcnow()
    ids = db.session.scalars(
        select(PetitionUpdate.id).where(
            PetitionUpdate.created_at > now - UPDATE_WINDOW,
            ~exists().where(UpdateMailing.update_id == PetitionUpdate.id, UpdateMailing.finished_at.is_not(None)))
        .order_by(PetitionUpdate.id)
    ).all()
    queued = 0
    for update_id in ids:
        try:
            with unit_of_work():
                queued += _mail_update_batch(update_id, now, batch)
        except Abandon:  # another sweep has this update's mailing, or it finished meanwhile
            continue
    return queued


def _mail_update_batch(update_id: int, now: datetime, batch: int) -> int:
    """The next batch of one update's mailing, inside the caller's unit of work; how many mails were queued."""
    queued = 0
    db.session.execute(upsert(UpdateMailing).values(update_id=update_id, last_signature_id=0)
                       .on_conflict_do_nothing(index_elements=["update_id"]))
    mailing = db.session.scalars(select(UpdateMailing).where(UpdateMailing.update_id == update_id)
                                 .with_for_update(skip_locked=True)).first()
    if mailing is None or mailing.finished_at is not None:
        raise Abandon
    update = db.session.get(PetitionUpdate, update_id)
    petition = db.session.get(Petition, update.petition_id)
    rows = db.session.execute(
        select(Signature, Subscription.id)
        .join(Subscription, (Subscription.person_id == Signature.person_id)
              & (Subscription.organization_id == petition.organization_id))
        .where(Signature.petition_id == petition.id, Signature.id > mailing.last_signature_id,
               Signature.opt_in_wording.is_not(None), Signature.confirmed_at.is_not(None),
               Signature.invalidated_at.is_(None), Subscription.unsubscribed_at.is_(None))
        .order_by(Signature.id).limit(batch).options(joinedload(Signature.person))
    ).all()
    for signature, subscription_id in rows:
        queued += queue_mail(
            signature.person.email, "petition_update", dedupe_key=f"petition-update:{update.id}:{signature.id}",
            subscription_id=subscription_id, update=update, petition=petition,
            organization=petition.organization, person=signature.person,
            petition_url=external_url("petitions.show", slug=petition.slug),
        ) is not None
    if rows:
        mailing.last_signature_id = rows[-1][0].id
    if len(rows) < batch:
        mailing.finished_at = now
    return queued
