"""Tasks every feature relies on: sending the outbox, keeping the broker small."""

import logging
import smtplib

from celery import shared_task
from flask import current_app
from sqlalchemy import create_engine, text

from mobilize.core import mail
from mobilize.core.dispatch import Batcher

log = logging.getLogger(__name__)


@shared_task(
    autoretry_for=(smtplib.SMTPException, OSError),
    retry_backoff=5,
    retry_backoff_max=600,
    max_retries=None,
)
def send_mail(mail_id: int) -> bool:
    return mail.send_outbound(mail_id)


@shared_task
def send_mails(mail_ids: list[int]) -> int:
    """A batch from the outbox; a message that fails is retried on its own, with send_mail's backoff."""
    sent = 0
    for message in mail.claim(mail_ids):
        try:
            sent += mail.send_claimed(message)
        except (smtplib.SMTPException, OSError):
            log.warning("could not send mail %d; retrying it on its own", message.id, exc_info=True)
            send_mail.apply_async((message.id,), countdown=5)
    return sent


outbox = Batcher(send_mails)


@shared_task
def requeue_stale_mail() -> int:
    ids = mail.stale_mail_ids()
    for start in range(0, len(ids), outbox.size):
        send_mails.delay(ids[start:start + outbox.size])
    if ids:
        log.info("re-queued %d messages from the outbox", len(ids))
    return len(ids)


@shared_task
def purge_embedded_broker() -> int:
    """Kombu's SQLAlchemy transport never deletes consumed messages."""
    broker = current_app.config["CELERY"]["broker_url"]
    if not broker.startswith("sqla+"):
        return 0
    engine = create_engine(broker.removeprefix("sqla+"))
    with engine.begin() as conn:
        deleted = conn.execute(
            text("DELETE FROM kombu_message WHERE visible = 0 AND timestamp < datetime('now', '-1 hour')")
        ).rowcount
    engine.dispose()
    return deleted
