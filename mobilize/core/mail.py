"""Mail composed from templates, written to the outbox, sent by the worker."""

import contextlib
import functools
import logging
import smtplib
import threading
from datetime import timedelta

from flask import current_app
from flask_mailman import EmailMultiAlternatives
from jinja2 import TemplateNotFound
from sqlalchemy import delete, or_, select, update

from mobilize.core.dispatch import on_commit
from mobilize.core.models import OutboundMail, utcnow
from mobilize.core.sql import insert_or_nothing
from mobilize.extensions import db
from mobilize.extensions import mail as mail_extension

log = logging.getLogger(__name__)
STALE_CLAIM = timedelta(minutes=10)
MESSAGE_COLUMNS = (OutboundMail.to, OutboundMail.subject, OutboundMail.text_body, OutboundMail.html_body,
                   OutboundMail.headers, OutboundMail.attachments, OutboundMail.subscription_id)
_smtp = threading.local()


def render_mail(template: str, **context) -> tuple[str, str, str | None]:
    """Subject, text and HTML from templates/mail/<template>.{subject.txt,txt,html}.

    Rendered by the app's Jinja environment directly: a mail needs none of the
    pages' context processors (navigation, forms, the signed-in user), which
    would cost a signature as much as its mail does.
    """
    env = current_app.jinja_env
    context.setdefault("public_url", current_app.config["PUBLIC_URL"])
    subject = env.get_template(f"mail/{template}.subject.txt").render(context).strip()
    text = env.get_template(f"mail/{template}.txt").render(context)
    try:
        html = env.get_template(f"mail/{template}.html").render(context)
    except TemplateNotFound:  # HTML is optional
        html = None
    return " ".join(subject.split()), text, html


def queue_mail(
    to: str,
    template: str,
    *,
    dedupe_key: str | None = None,
    headers: dict | None = None,
    attachments: list[dict] | None = None,
    subscription_id: int | None = None,
    **context,
) -> int | None:
    """Add a message to the outbox in the caller's transaction; sent after commit. Returns its id.

    With a ``dedupe_key`` that was queued before, nothing is added and None
    is returned: that is how "exactly once" is kept across retries. One
    INSERT ... ON CONFLICT DO NOTHING, so a rush costs one statement a message.
    Mail with a ``subscription_id`` is skipped if that opt-in is withdrawn first.
    """
    subject, text, html = render_mail(template, **context)
    mail_id = db.session.connection().execute(insert_or_nothing(OutboundMail, ("dedupe_key",)), {
        "to": to, "subject": subject, "text_body": text, "html_body": html, "headers": headers or {},
        "attachments": attachments or [], "dedupe_key": dedupe_key, "subscription_id": subscription_id,
    }).scalar()
    if mail_id is not None:
        from mobilize.core.tasks import outbox

        on_commit(db.session, functools.partial(outbox.add, mail_id))
    return mail_id


def rewrite_mail(mail_id: int, template: str, *, attachments: list[dict] | None = None, **context) -> None:
    """Say something else in a message not yet committed (so not yet sent)."""
    subject, text, html = render_mail(template, **context)
    db.session.execute(update(OutboundMail).where(OutboundMail.id == mail_id).values(
        subject=subject, text_body=text, html_body=html, attachments=attachments or []))


def discard_mail(mail_id: int) -> None:
    """Take back a message queued earlier in this transaction."""
    db.session.execute(delete(OutboundMail).where(OutboundMail.id == mail_id))


def claim(mail_ids: list[int]) -> list:
    """Mark queued messages as being sent and return them (rows, by id); those another worker has are left out.

    One statement for a batch; a worker that dies holding claimed messages leaves
    them to the outbox sweep once STALE_CLAIM has passed: late, never twice.
    """
    now = utcnow()
    claimed = db.session.execute(
        update(OutboundMail)
        .where(
            OutboundMail.id.in_(mail_ids),
            or_(
                OutboundMail.status == "queued",
                (OutboundMail.status == "sending") & (OutboundMail.claimed_at < now - STALE_CLAIM),
            ),
        )
        .values(status="sending", claimed_at=now, attempts=OutboundMail.attempts + 1)
        .returning(OutboundMail.id, *MESSAGE_COLUMNS)
    ).all()
    db.session.commit()
    return sorted(claimed, key=lambda row: row.id)


def _smtp_connection():
    """This thread's open SMTP connection, kept between messages: one handshake per worker, not per mail.

    Other backends (the embedded default's files) open one per message, which is what they expect.
    """
    config = current_app.config
    if config["MAIL_BACKEND"] != "smtp":
        return None
    key = (config["MAIL_SERVER"], config["MAIL_PORT"], config.get("MAIL_USERNAME"))
    held = getattr(_smtp, "held", None)
    if held is None or held[0] != key:
        _drop_smtp_connection()
        connection = mail_extension.get_connection()
        connection.open()
        _smtp.held = held = (key, connection)
    return held[1]


def _drop_smtp_connection() -> None:
    held, _smtp.held = getattr(_smtp, "held", None), None
    if held is not None:
        with contextlib.suppress(smtplib.SMTPException, OSError):  # it is being thrown away
            held[1].close()


def deliver(mail) -> None:
    """Hand one claimed message to the mail backend; raises on failure.

    A kept connection the server has since closed is opened again once.
    """
    for attempt in (1, 2):
        message = EmailMultiAlternatives(
            subject=mail.subject,
            body=mail.text_body,
            from_email=current_app.config["MAIL_DEFAULT_SENDER"],
            to=[mail.to],
            headers=mail.headers or None,
            connection=_smtp_connection(),
        )
        if mail.html_body:
            message.attach_alternative(mail.html_body, "text/html")
        for item in mail.attachments:
            message.attach(item["filename"], item["content"], item["mimetype"])
        try:
            message.send()
            return
        except smtplib.SMTPServerDisconnected:
            _drop_smtp_connection()
            if attempt == 2:
                raise
        except Exception:
            _drop_smtp_connection()
            raise


def _finish(mail_id: int, **values) -> None:
    """Record how sending went, at once: the fewer messages sent but not yet marked, the fewer a killed
    worker can send twice. A Core statement: this runs once per message."""
    db.session.connection().execute(
        update(OutboundMail.__table__).where(OutboundMail.id == mail_id).values(**values))
    db.session.commit()


def send_outbound(mail_id: int) -> bool:
    """Send one message from the outbox once; False when there was nothing to do."""
    claimed = claim([mail_id])
    return bool(claimed) and send_claimed(claimed[0])


def send_claimed(mail) -> bool:
    """Send a message claim() returned and record the outcome; raises (the message queued again) on failure."""
    if mail.subscription_id is not None and not _still_subscribed(mail.subscription_id):
        _finish(mail.id, status="skipped")
        return False
    try:
        deliver(mail)
    except Exception as error:
        _finish(mail.id, status="queued", last_error=f"{type(error).__name__}: {error}"[:2000])
        raise
    _finish(mail.id, status="sent", sent_at=utcnow(), last_error=None)
    return True


def _still_subscribed(subscription_id: int) -> bool:
    from mobilize.people.models import Subscription

    return db.session.scalar(select(Subscription.id).where(
        Subscription.id == subscription_id, Subscription.unsubscribed_at.is_(None))) is not None


def stale_mail_ids(limit: int = 1000) -> list[int]:
    """Messages the worker should have sent by now (its queue message was lost)."""
    now = utcnow()
    after = timedelta(seconds=current_app.config["MAIL_REQUEUE_AFTER"])
    return list(
        db.session.scalars(
            select(OutboundMail.id)
            .where(
                or_(
                    (OutboundMail.status == "queued") & (OutboundMail.modified_at < now - after),
                    (OutboundMail.status == "sending") & (OutboundMail.claimed_at < now - STALE_CLAIM),
                )
            )
            .order_by(OutboundMail.id)
            .limit(limit)
        )
    )
