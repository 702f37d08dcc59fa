"""Sending a batch: the signed webhook, the target's email with its CSV, retries with backoff, then failure."""

import csv
import io
import time
from datetime import timedelta

import pytest
from sqlalchemy import select

from mobilize.core.models import OutboundMail, utcnow
from mobilize.delivery.sending import deliver_batch
from mobilize.extensions import db
from mobilize.petitions.models import Signature
from tests.delivery.receiver import verify
from tests.support.infra import body_text


def test_a_webhook_batch_is_json_signed_with_hmac_over_timestamp_and_body_with_an_idempotency_key(delivery,
                                                                                                  receiver):
    petition = delivery.petition()
    plan = delivery.webhook_plan(petition, receiver, every_n=1)
    ids = delivery.signatures(petition, 3, comment="Flexible hours let me care for my dad.")
    delivery.sweep()
    [batch] = delivery.batches(petition)
    assert deliver_batch(batch.id).status == "delivered"

    [arrival] = receiver.arrivals
    assert arrival.signature_ok and arrival.status == 200
    assert abs(int(arrival.timestamp) - time.time()) < 60
    assert arrival.key == batch.idempotency_key
    body = arrival.body
    assert body["idempotency_key"] == batch.idempotency_key
    assert body["petition"]["id"] == petition.identifier and body["petition"]["title"] == petition.title
    assert body["batch"] == {"id": f"mobilize:{batch.uuid}", "sequence": 1, "count": 3}
    assert [s["id"] for s in body["signatures"]] == [f"mobilize:{u}" for u in db.session.scalars(
        select(Signature.uuid).where(Signature.id.in_(ids)).order_by(Signature.id))]
    first = body["signatures"][0]
    assert first["locality"] == "Springfield" and first["postal_code"] == "62701"
    assert first["comment"] == "Flexible hours let me care for my dad."
    assert "email" not in first  # not unless the organizer turns it on
    assert not verify("another secret", arrival.timestamp, b"{}", "sha256=00")
    assert plan.webhook_secret.startswith("whsec_") and len(plan.webhook_secret) > 40


def test_webhook_includes_signer_emails_only_when_the_organizer_turns_it_on(delivery, receiver):
    petition = delivery.petition()
    delivery.webhook_plan(petition, receiver, every_n=1, include_emails=True)
    delivery.signatures(petition, 1)
    delivery.sweep()
    delivery.deliver_all()
    assert receiver.arrivals[0].body["signatures"][0]["email"].endswith("@Example.net")


def _attachment(message) -> tuple[str, str]:
    for part in message.walk():
        if part.get_filename():
            return part.get_filename(), part.get_payload(decode=True).decode()
    raise AssertionError("no attachment")


@pytest.mark.parametrize("include_emails", [False, True])
def test_each_target_gets_a_summary_with_the_batch_as_csv_emails_only_when_turned_on(
        delivery, send_queued_mail, smtp_server, include_emails):
    petition = delivery.petition()
    delivery.plan(petition, email_targets=True, include_emails=include_emails, every_n=2)
    [signature_id, _] = delivery.signatures(petition, 2, comment="=HYPERLINK(\"http://evil\")")
    hidden = db.session.get(Signature, signature_id)
    hidden.comment_hidden_at = utcnow()
    db.session.commit()
    delivery.signatures(petition, 1, status="invalidated")
    delivery.sweep()
    delivery.deliver_all()
    [batch] = delivery.batches(petition)
    assert batch.status == "delivered" and batch.count == 2
    assert send_queued_mail() == 1

    [message] = smtp_server.to("jane@acme.example")
    assert message["Subject"] == f"2 people signed: {petition.title}"
    text = body_text(message)
    assert "Dear Jane Doe" in text and "2 more people have signed" in text and petition.summary in text
    filename, content = _attachment(message)
    assert filename == f"{petition.slug}-signatures-1.csv"
    rows = list(csv.reader(io.StringIO(content)))
    header = ["name", "email", "locality", "postal_code", "comment", "date"] if include_emails else [
        "name", "locality", "postal_code", "comment", "date"]
    assert rows[0] == header
    assert len(rows) == 3
    first, second = (dict(zip(header, row, strict=True)) for row in rows[1:])
    assert first["name"].startswith("Signer") and first["name"].endswith(" Doe")
    assert first["locality"] == "Springfield" and first["postal_code"] == "62701"
    assert first["date"] == utcnow().date().isoformat()
    assert first["comment"] == ""  # hidden from the public page, so not put to the target
    assert second["comment"] == "'=HYPERLINK(\"http://evil\")"  # a formula stays text
    if include_emails:
        assert first["email"].endswith("@Example.net")
    else:
        assert "@" not in content


def test_a_redelivered_email_batch_queues_no_second_mail(delivery, send_queued_mail):
    petition = delivery.petition()
    delivery.plan(petition, email_targets=True, every_n=1)
    delivery.signatures(petition, 2)
    delivery.sweep()
    [batch] = delivery.batches(petition)
    assert deliver_batch(batch.id).status == "delivered"
    assert deliver_batch(batch.id).status == "skipped"
    keys = db.session.scalars(select(OutboundMail.dedupe_key)).all()
    assert keys == [f"delivery:{batch.id}:{batch.target_id}"]


def test_failures_back_off_exponentially_then_the_batch_fails_and_organizers_are_alerted(
        app, monkeypatch, delivery, receiver, send_queued_mail, smtp_server):
    monkeypatch.setitem(app.config, "DELIVERY_MAX_ATTEMPTS", 3)
    monkeypatch.setitem(app.config, "DELIVERY_RETRY_BACKOFF", 10)
    receiver.failures["/hook"] = -1
    petition = delivery.petition()
    delivery.webhook_plan(petition, receiver, every_n=1)
    delivery.signatures(petition, 2)
    delivery.sweep()
    [batch] = delivery.batches(petition)

    waits = []
    for attempt in (1, 2):
        started = utcnow()
        outcome = deliver_batch(batch.id)
        assert outcome.status == "retry" and outcome.retry_in == 10 * 2 ** (attempt - 1)
        db.session.refresh(batch)
        assert batch.status == "pending" and batch.attempts == attempt and "HTTP 500" in batch.last_error
        waits.append((batch.next_attempt_at - started).total_seconds())
        assert deliver_batch(batch.id).status == "skipped"  # not before its time
        delivery.make_due(batch)
    assert 9 < waits[0] < 11 and 19 < waits[1] < 21

    assert deliver_batch(batch.id).status == "failed"
    db.session.refresh(batch)
    assert batch.status == "failed" and batch.attempts == 3 and batch.failed_at is not None
    assert len({a.key for a in receiver.arrivals}) == 1 and len(receiver.arrivals) == 3

    assert send_queued_mail() == 1
    [alert] = smtp_server.to(petition.organizer.email)
    assert alert["Subject"] == f"Delivery failed: {petition.title} to Webhook"
    text = body_text(alert)
    assert "after 3 attempts" in text and "HTTP 500" in text
    assert f"/petitions/{petition.uuid}/delivery" in text


def test_a_webhook_to_a_private_address_fails_at_once_in_production(app, monkeypatch, delivery, receiver):
    petition = delivery.petition()
    delivery.webhook_plan(petition, receiver, every_n=1)
    delivery.signatures(petition, 1)
    delivery.sweep()
    monkeypatch.setitem(app.config, "DELIVERY_ALLOW_LOCAL_WEBHOOKS", False)
    [batch] = delivery.batches(petition)
    assert deliver_batch(batch.id).status == "failed"
    db.session.refresh(batch)
    assert batch.attempts == 1 and "https://" in batch.last_error
    assert receiver.arrivals == []


def test_a_batch_whose_worker_died_while_sending_is_sent_again_by_the_sweeper_with_the_same_key(
        app, monkeypatch, delivery, receiver):
    petition = delivery.petition()
    delivery.webhook_plan(petition, receiver, every_n=1)
    delivery.signatures(petition, 2)
    delivery.sweep()
    [batch] = delivery.batches(petition)
    from mobilize.delivery.sending import _claim

    assert _claim(batch.id) == 1  # a worker took it, then died before recording anything
    assert deliver_batch(batch.id).status == "skipped"
    later = utcnow() + timedelta(seconds=app.config["DELIVERY_STALE_AFTER"] + 1)
    assert delivery.sweep(now=later)["requeued"] == 1
    delivery.make_due(batch)
    assert deliver_batch(batch.id).status == "delivered"
    db.session.refresh(batch)
    assert batch.attempts == 2 and receiver.arrivals[0].key == batch.idempotency_key


def test_a_batch_whose_sender_dies_on_every_attempt_is_failed_at_the_limit(app, monkeypatch, delivery, receiver):
    monkeypatch.setitem(app.config, "DELIVERY_MAX_ATTEMPTS", 2)
    monkeypatch.setitem(app.config, "DELIVERY_STALE_AFTER", 0)
    petition = delivery.petition()
    delivery.webhook_plan(petition, receiver, every_n=1)
    delivery.signatures(petition, 1)
    delivery.sweep()
    [batch] = delivery.batches(petition)
    from mobilize.delivery.sending import _claim

    assert _claim(batch.id) == 1 and _claim(batch.id) == 2  # two workers took it and died
    assert deliver_batch(batch.id).status == "failed"
    db.session.refresh(batch)
    assert batch.status == "failed" and "worker was lost" in batch.last_error
    assert receiver.arrivals == []
