"""The organizers' side of delivery: the plan, the history, retrying a failed batch.

Every call takes the acting user's id and checks membership of the petition's
organization first (petitions.services.managed_petition). Cutting batches is in
batching.py, sending them in sending.py.
"""

import secrets
from dataclasses import dataclass
from datetime import datetime, time

from sqlalchemy import case, func, select, update
from sqlalchemy.orm import selectinload

from mobilize.core.dispatch import after_commit
from mobilize.core.errors import Conflict, Invalid, NotFound
from mobilize.core.models import utcnow
from mobilize.core.sql import upsert
from mobilize.core.transaction import unit_of_work
from mobilize.delivery import batching, webhook
from mobilize.delivery.models import DeliveryBatch, DeliveryCursor, DeliveryPlan
from mobilize.events import times
from mobilize.extensions import db
from mobilize.petitions.models import Petition, Target
from mobilize.petitions.services import managed_petition, organization_petitions

MAX_EVERY_N = 1_000_000


@dataclass
class PlanInput:
    """What the organizer chose; ``final_local`` is wall-clock time in ``timezone``."""

    email_targets: bool = False
    include_emails: bool = False
    webhook_url: str = ""
    every_n: int | None = None
    daily_at: time | None = None
    timezone: str = "UTC"
    final_local: datetime | None = None


def plan_for(user_id: int | None, petition_id: int) -> DeliveryPlan | None:
    managed_petition(user_id, petition_id)
    return db.session.scalar(select(DeliveryPlan).where(DeliveryPlan.petition_id == petition_id))


def _checked(petition: Petition, data: PlanInput, plan: DeliveryPlan) -> dict:
    """Column values for the plan, or Invalid naming each wrong field."""
    errors: dict[str, str] = {}
    url = (data.webhook_url or "").strip()
    if len(url) > 1000:
        errors["webhook_url"] = "At most 1,000 characters."
    elif url and url != plan.webhook_url:
        try:
            webhook.check_url(url)
        except webhook.DeliveryError as error:
            errors["webhook_url"] = str(error)
    if data.email_targets and not any(target.email for target in petition.targets):
        errors["email_targets"] = "None of this petition's targets has an email address; add one first."
    if data.every_n is not None and not 1 <= data.every_n <= MAX_EVERY_N:
        errors["every_n"] = f"Choose between 1 and {MAX_EVERY_N:,}."
    zone = None
    try:
        zone = times.zone(data.timezone)
    except Invalid as error:
        errors.update(error.fields)
    final_at = plan.final_at
    if zone is not None:
        try:
            final_at = times.to_utc(data.final_local, zone, field="final_local") if data.final_local else None
        except Invalid as error:
            errors.update(error.fields)
    if final_at is not None and final_at != plan.final_at and final_at <= utcnow():
        errors["final_local"] = "Choose a time in the future."
    channel = data.email_targets or bool(url)
    if channel and data.every_n is None and data.daily_at is None and final_at is None:
        errors["every_n"] = "Choose when to deliver: every so many signatures, daily, or at a final time."
    if errors:
        raise Invalid("Please correct the highlighted fields.", errors)
    return {"email_targets": data.email_targets, "include_emails": data.include_emails, "webhook_url": url,
            "every_n": data.every_n, "daily_at": data.daily_at, "timezone": zone.key, "final_at": final_at}


def _plan_row(petition_id: int) -> DeliveryPlan:
    """The petition's plan, created empty if it has none, and locked for this transaction."""
    db.session.execute(upsert(DeliveryPlan).values(petition_id=petition_id)
                       .on_conflict_do_nothing(index_elements=["petition_id"]))
    return db.session.scalar(
        select(DeliveryPlan).where(DeliveryPlan.petition_id == petition_id).with_for_update()
        .execution_options(populate_existing=True)
    )


def save_plan(user_id: int | None, petition_id: int, data: PlanInput) -> DeliveryPlan:
    petition = managed_petition(user_id, petition_id)
    plan = _plan_row(petition.id)
    values = _checked(petition, data, plan)
    with unit_of_work():
        if values["final_at"] != plan.final_at:
            plan.final_started_at = None
        if (values["daily_at"], values["timezone"]) != (plan.daily_at, plan.timezone) or plan.next_daily_at is None:
            plan.next_daily_at = (batching.next_daily(values["daily_at"], values["timezone"], utcnow())
                                  if values["daily_at"] else None)
        if values["webhook_url"] and not plan.webhook_secret:
            plan.webhook_secret = new_secret()
        for name, value in values.items():
            setattr(plan, name, value)
        plan.updated_by_id = user_id
    return plan


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def renew_webhook_secret(user_id: int | None, petition_id: int) -> DeliveryPlan:
    """A new signing secret; batches sent from now on are signed with it."""
    plan = plan_for(user_id, petition_id)
    if plan is None or not plan.webhook_url:
        raise Conflict("Save a webhook address first.")
    with unit_of_work():
        plan.webhook_secret = new_secret()
        plan.updated_by_id = user_id
    return plan


def deliver_now(user_id: int | None, petition_id: int) -> int:
    """Make every recipient due now, whatever the cadence; how many recipients."""
    plan = plan_for(user_id, petition_id)
    if plan is None or not plan.has_channel:
        raise Conflict("Choose how to deliver first: email to the targets or a webhook.")
    with unit_of_work():
        due = batching.mark_plan_due(plan)
    return due


# ------------------------------------------------------------------ history

def history(user_id: int | None, petition_id: int, page: int = 1, per_page: int = 25):
    """The petition's batches, newest first; and whether there are more."""
    managed_petition(user_id, petition_id)
    rows = db.session.scalars(
        select(DeliveryBatch).where(DeliveryBatch.petition_id == petition_id)
        .options(selectinload(DeliveryBatch.target))
        .order_by(DeliveryBatch.id.desc()).limit(per_page + 1).offset((max(1, page) - 1) * per_page)
    ).all()
    return list(rows[:per_page]), len(rows) > per_page


@dataclass
class RecipientSummary:
    label: str
    kind: str
    delivered: int  # signatures
    batches: int
    failed: int  # batches
    last_delivered_at: datetime | None
    due: bool


def recipients(user_id: int | None, petition_id: int) -> list[RecipientSummary]:
    """Each recipient with what it has been sent so far."""
    managed_petition(user_id, petition_id)
    delivered = DeliveryBatch.status == "delivered"
    totals = (
        select(DeliveryBatch.cursor_id,
               func.coalesce(func.sum(case((delivered, DeliveryBatch.count), else_=0)), 0).label("signatures"),
               func.count().label("batches"),
               func.sum(case((DeliveryBatch.status == "failed", 1), else_=0)).label("failed"),
               func.max(DeliveryBatch.delivered_at).label("last"))
        .where(DeliveryBatch.petition_id == petition_id).group_by(DeliveryBatch.cursor_id).subquery()
    )
    rows = db.session.execute(
        select(DeliveryCursor, Target, totals.c.signatures, totals.c.batches, totals.c.failed, totals.c.last)
        .outerjoin(Target, Target.id == DeliveryCursor.target_id)
        .outerjoin(totals, totals.c.cursor_id == DeliveryCursor.id)
        .where(DeliveryCursor.petition_id == petition_id)
        .order_by(DeliveryCursor.kind.desc(), Target.position, DeliveryCursor.id)
    ).all()
    return [RecipientSummary(label=target.label if target else "Webhook", kind=cursor.kind,
                             delivered=signatures or 0, batches=batches or 0, failed=failed or 0,
                             last_delivered_at=last, due=cursor.due_at is not None)
            for cursor, target, signatures, batches, failed, last in rows]


def retry_batch(user_id: int | None, petition_id: int, batch_uuid) -> DeliveryBatch:
    """Send a failed batch again, with its attempts counted afresh and its idempotency key unchanged."""
    from mobilize.delivery.tasks import deliver_signature_batch

    managed_petition(user_id, petition_id)
    batch = db.session.scalar(select(DeliveryBatch).where(DeliveryBatch.uuid == batch_uuid,
                                                          DeliveryBatch.petition_id == petition_id))
    if batch is None:
        raise NotFound("No such delivery batch for this petition.")
    with unit_of_work():
        retried = db.session.execute(
            update(DeliveryBatch).where(DeliveryBatch.id == batch.id, DeliveryBatch.status == "failed")
            .values(status="pending", attempts=0, next_attempt_at=utcnow(), failed_at=None,
                    manual_retries=DeliveryBatch.manual_retries + 1)
            .execution_options(synchronize_session=False)
        ).rowcount
        if not retried:
            raise Conflict("Only a failed batch can be retried; this one is already on its way.")
        after_commit(db.session, deliver_signature_batch, batch.id)
    db.session.refresh(batch)
    return batch


@dataclass
class PetitionDeliveries:
    petition: Petition
    plan: DeliveryPlan | None
    delivered: int  # signatures, summed over recipients
    pending: int  # batches
    failed: int  # batches


def organization_deliveries(user_id: int | None, organization_id: int) -> list[PetitionDeliveries]:
    """Each of the organization's petitions with its plan and how its deliveries stand."""
    petitions = organization_petitions(user_id, organization_id)
    ids = [petition.id for petition in petitions]
    plans = {plan.petition_id: plan for plan in db.session.scalars(
        select(DeliveryPlan).where(DeliveryPlan.petition_id.in_(ids)))}
    counts = {
        (petition_id, status): (batches, signatures)
        for petition_id, status, batches, signatures in db.session.execute(
            select(DeliveryBatch.petition_id, DeliveryBatch.status, func.count(), func.sum(DeliveryBatch.count))
            .where(DeliveryBatch.petition_id.in_(ids)).group_by(DeliveryBatch.petition_id, DeliveryBatch.status)
        )
    }

    def batches(petition_id: int, *statuses: str) -> int:
        return sum(counts.get((petition_id, status), (0, 0))[0] for status in statuses)

    return [PetitionDeliveries(
        petition=petition, plan=plans.get(petition.id),
        delivered=counts.get((petition.id, "delivered"), (0, 0))[1] or 0,
        pending=batches(petition.id, "pending", "sending"), failed=batches(petition.id, "failed"),
    ) for petition in petitions if petition.status != "draft" or petition.id in plans]
