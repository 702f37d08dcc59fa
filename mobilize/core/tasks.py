"""Tasks every feature relies on: sending the outbox, keeping the broker small."""

import logging
import smtplib

from celery import shared_task
from flask import current_app
from sqlalchemy import create_engine, text

from mobilize.core import mail

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
def requeue_stale_mail() -> int:
    ids = mail.stale_mail_ids()
    for mail_id in ids:
        send_mail.delay(mail_id)
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
