"""Sending one batch: claim it, send it to its target's inbox or the webhook, record the outcome.

A claim is a conditional UPDATE (pending and due, or 'sending' so long that
its worker must have died), so two copies of a task send a batch once. The
outcome is written only if the claim is still ours (same ``attempts``).
Signatures invalidated after the batch was cut are left out, and their
items deleted, so ``delivery_items`` is exactly what each target was sent.
"""

import csv
import io
import json
import logging
from dataclasses import dataclass
from datetime import timedelta

from celery.utils.time import get_exponential_backoff_interval
from flask import current_app
from sqlalchemy import and_, delete, or_, select, update

from mobilize.accounts.services import active_organizers
from mobilize.core.mail import queue_mail
from mobilize.core.models import utcnow
from mobilize.core.text import csv_cell
from mobilize.core.transaction import Abandon, unit_of_work
from mobilize.core.urls import external_url
from mobilize.delivery import webhook
from mobilize.delivery.models import DeliveryBatch, DeliveryCursor, DeliveryItem, DeliveryPlan
from mobilize.delivery.webhook import DeliveryError
from mobilize.extensions import db
from mobilize.people.models import Person
from mobilize.petitions.models import Signature

log = logging.getLogger(__name__)
STREAM_ROWS = 500
CSV_COLUMNS = ("name", "locality", "postal_code", "comment", "date")


@dataclass
class Outcome:
    status: str  # "delivered", "retry", "failed" or "skipped" (not ours to send now)
    retry_in: float | None = None


def deliver_batch(batch_id: int) -> Outcome:
    attempt = _claim(batch_id)
    if attempt is None:
        return Outcome("skipped")
    batch = db.session.get(DeliveryBatch, batch_id)
    if batch is None:  # its target was removed meanwhile, and its batches with it
        return Outcome("skipped")
    if attempt > current_app.config["DELIVERY_MAX_ATTEMPTS"]:  # earlier attempts died without a word
        return _failed_attempt(batch_id, attempt, DeliveryError(
            "Sending stopped halfway on every attempt (the worker was lost).", permanent=True))
    plan = db.session.get(DeliveryPlan, db.session.get(DeliveryCursor, batch.cursor_id).plan_id)
    try:
        if batch.kind == "email":
            return _email(batch, plan, attempt)
        return _webhook(batch, plan, attempt)
    except DeliveryError as error:
        db.session.rollback()  # a read outside the units of work may have failed: start the next one clean
        return _failed_attempt(batch_id, attempt, error)
    except Exception as error:  # noqa: BLE001 - a bug must not retry forever: it counts as an attempt
        log.exception("delivery batch %s: unexpected error", batch_id)
        db.session.rollback()
        return _failed_attempt(batch_id, attempt, DeliveryError(f"{type(error).__name__}: {error}"))


def _claim(batch_id: int) -> int | None:
    """Mark the batch 'sending' for this attempt; its attempt number, or None when it is not ours."""
    now = utcnow()
    stale = now - timedelta(seconds=current_app.config["DELIVERY_STALE_AFTER"])
    with unit_of_work():
        return db.session.scalar(
            update(DeliveryBatch)
            .where(DeliveryBatch.id == batch_id,
                   or_(and_(DeliveryBatch.status == "pending", DeliveryBatch.next_attempt_at <= now),
                       and_(DeliveryBatch.status == "sending", DeliveryBatch.claimed_at < stale)))
            .values(status="sending", claimed_at=now, attempts=DeliveryBatch.attempts + 1)
            .returning(DeliveryBatch.attempts)
        )


def _ours(batch_id: int, attempt: int):
    return and_(DeliveryBatch.id == batch_id, DeliveryBatch.status == "sending", DeliveryBatch.attempts == attempt)


def signature_rows(batch: DeliveryBatch, with_email: bool):
    """The batch's signatures that still count, in id order, streamed from the database."""
    columns = [Signature.id, Signature.uuid, Signature.given_name, Signature.family_name, Signature.locality,
               Signature.postal_code, Signature.country, Signature.comment, Signature.comment_hidden_at,
               Signature.created_at, Signature.confirmed_at]
    query = (
        select(*columns, *([Person.email] if with_email else []))
        .join(DeliveryItem, and_(DeliveryItem.signature_id == Signature.id, DeliveryItem.batch_id == batch.id))
        .where(Signature.petition_id == batch.petition_id, Signature.counted,
               Signature.id.between(batch.from_signature_id, batch.to_signature_id))
        .order_by(Signature.id)
        .execution_options(yield_per=STREAM_ROWS)
    )
    if with_email:
        query = query.join(Person, Person.id == Signature.person_id)
    return db.session.execute(query)


def _comment(row) -> str:
    """A comment the organizers hid from the public page is not put to the target either."""
    return "" if row.comment_hidden_at else row.comment


def _record_delivered(batch: DeliveryBatch, attempt: int, sent: list[int]) -> None:
    """Mark the batch delivered with what was sent, in the caller's unit of work; Abandon when the claim
    is no longer ours (the batch was re-queued meanwhile)."""
    assigned = set(db.session.scalars(select(DeliveryItem.signature_id).where(DeliveryItem.batch_id == batch.id)))
    dropped = assigned.difference(sent)
    if dropped:
        db.session.execute(delete(DeliveryItem).where(DeliveryItem.batch_id == batch.id,
                                                      DeliveryItem.signature_id.in_(dropped)))
    done = db.session.execute(
        update(DeliveryBatch).where(_ours(batch.id, attempt))
        .values(status="delivered", delivered_at=utcnow(), count=len(sent), last_error=None, claimed_at=None)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not done:
        raise Abandon


def _delivered(record) -> Outcome:
    """Run ``record`` (the delivery's last writes) as one unit of work; skipped if the claim was lost."""
    try:
        with unit_of_work():
            record()
    except Abandon:
        return Outcome("skipped")
    return Outcome("delivered")


# ------------------------------------------------------------------ by email

def batch_csv(batch: DeliveryBatch, with_email: bool) -> tuple[str, list[int]]:
    """The batch as CSV (name, [email,] locality, postal code, comment, date), and the signature ids in it."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    columns = list(CSV_COLUMNS)
    if with_email:
        columns.insert(1, "email")
    writer.writerow(columns)
    sent = []
    for row in signature_rows(batch, with_email):
        name = " ".join(part for part in (row.given_name, row.family_name) if part)
        values = [csv_cell(name), csv_cell(row.locality), csv_cell(row.postal_code), csv_cell(_comment(row)),
                  row.created_at.date().isoformat()]
        if with_email:
            values.insert(1, csv_cell(row.email))
        writer.writerow(values)
        sent.append(row.id)
    return buffer.getvalue(), sent


def _email(batch: DeliveryBatch, plan: DeliveryPlan, attempt: int) -> Outcome:
    """Write the target's mail (summary and CSV) to the outbox with the batch marked delivered, in one commit.

    The outbox sends it, retrying the SMTP server as long as it takes; its
    dedupe key makes a second run of this batch queue nothing.
    """
    target, petition = batch.target, batch.petition
    if target is None or not target.email:
        raise DeliveryError("This target has no email address; add one on the petition's page.", permanent=True)

    def record():
        content, sent = batch_csv(batch, plan.include_emails)
        if sent:
            queue_mail(
                target.email, "delivery_batch", dedupe_key=f"delivery:{batch.id}:{target.id}",
                attachments=[{"filename": f"{petition.slug}-signatures-{batch.sequence}.csv", "content": content,
                              "mimetype": "text/csv"}],
                petition=petition, organization=petition.organization, target=target, batch=batch,
                count=len(sent), petition_url=external_url("petitions.show", slug=petition.slug),
            )
        _record_delivered(batch, attempt, sent)

    return _delivered(record)


# ------------------------------------------------------------------ by webhook

def _signature_json(row, with_email: bool) -> dict:
    item = {
        "id": f"mobilize:{row.uuid}", "given_name": row.given_name, "family_name": row.family_name,
        "locality": row.locality, "postal_code": row.postal_code, "country": row.country, "comment": _comment(row),
        "signed_at": row.created_at.isoformat(), "confirmed_at": row.confirmed_at.isoformat(),
    }
    if with_email:
        item["email"] = row.email
    return item


def batch_body(batch: DeliveryBatch, with_email: bool) -> tuple[bytes, list[int]]:
    """The JSON body of a batch, and the signature ids in it."""
    petition = batch.petition
    sent, signatures = [], []
    for row in signature_rows(batch, with_email):
        signatures.append(_signature_json(row, with_email))
        sent.append(row.id)
    body = {
        "type": "signatures",
        "idempotency_key": batch.idempotency_key,
        "batch": {"id": f"mobilize:{batch.uuid}", "sequence": batch.sequence, "count": len(signatures)},
        "petition": {"id": petition.identifier, "title": petition.title,
                     "url": external_url("petitions.show", slug=petition.slug)},
        "signatures": signatures,
    }
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode(), sent


def _webhook(batch: DeliveryBatch, plan: DeliveryPlan, attempt: int) -> Outcome:
    if not plan.webhook_url:
        raise DeliveryError("The delivery plan has no webhook address any more.", permanent=True)
    with unit_of_work():  # a read only, ended: no transaction stays open while the receiver answers
        body, sent = batch_body(batch, plan.include_emails)
        url, secret, key = plan.webhook_url, plan.webhook_secret, batch.idempotency_key
    webhook.post(url, secret, key, body)
    return _delivered(lambda: _record_delivered(batch, attempt, sent))


# ------------------------------------------------------------------ failures

def _failed_attempt(batch_id: int, attempt: int, error: DeliveryError) -> Outcome:
    """Schedule the next attempt with exponential backoff, or mark the batch failed and alert its organizers."""
    config = current_app.config
    message = str(error)[:2000]
    now = utcnow()
    if error.permanent or attempt >= config["DELIVERY_MAX_ATTEMPTS"]:
        with unit_of_work():
            failed = db.session.execute(
                update(DeliveryBatch).where(_ours(batch_id, attempt))
                .values(status="failed", failed_at=now, last_error=message, claimed_at=None)
            ).rowcount
            if failed:
                _alert_organizers(db.session.get(DeliveryBatch, batch_id))
                log.warning("delivery batch %s failed after %d attempt(s): %s", batch_id, attempt, message)
        return Outcome("failed" if failed else "skipped")
    delay = get_exponential_backoff_interval(config["DELIVERY_RETRY_BACKOFF"], attempt - 1,
                                             config["DELIVERY_RETRY_BACKOFF_MAX"])
    with unit_of_work():
        retried = db.session.execute(
            update(DeliveryBatch).where(_ours(batch_id, attempt))
            .values(status="pending", next_attempt_at=now + timedelta(seconds=delay), last_error=message,
                    claimed_at=None)
        ).rowcount
    return Outcome("retry", retry_in=delay) if retried else Outcome("skipped")


def recipient_label(batch: DeliveryBatch) -> str:
    return batch.target.label if batch.target is not None else "Webhook"


def _alert_organizers(batch: DeliveryBatch) -> None:
    petition = batch.petition
    url = external_url("delivery.plan", slug=petition.organization.slug, petition_id=petition.uuid)
    for user in active_organizers(petition.organization_id):
        queue_mail(user.email, "delivery_failed",
                   dedupe_key=f"delivery-failed:{batch.id}:{batch.manual_retries}:{user.id}",
                   petition=petition, batch=batch, recipient=recipient_label(batch), delivery_url=url)
