"""Mail composed from templates, written to the outbox, sent by the worker."""

import logging
from datetime import timedelta

from flask import current_app, render_template
from flask_mailman import EmailMultiAlternatives
from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError

from mobilize.core.dispatch import after_commit
from mobilize.core.models import OutboundMail, utcnow
from mobilize.extensions import db

log = logging.getLogger(__name__)
STALE_CLAIM = timedelta(minutes=10)


def render_mail(template: str, **context) -> tuple[str, str, str | None]:
    """Subject, text and HTML from templates/mail/<template>.{subject.txt,txt,html}."""
    context.setdefault("public_url", current_app.config["PUBLIC_URL"])
    subject = render_template(f"mail/{template}.subject.txt", **context).strip()
    text = render_template(f"mail/{template}.txt", **context)
    try:
        html = render_template(f"mail/{template}.html", **context)
    except Exception as error:  # noqa: BLE001 - HTML is optional
        if type(error).__name__ != "TemplateNotFound":
            raise
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
) -> OutboundMail | None:
    """Add a message to the outbox in the caller's transaction; sent after commit.

    With a ``dedupe_key`` that was queued before, nothing is added and None
    is returned: that is how "exactly once" is kept across retries. Mail
    with a ``subscription_id`` is skipped if that opt-in is withdrawn first.
    """
    if dedupe_key is not None:
        exists = db.session.scalar(select(OutboundMail.id).where(OutboundMail.dedupe_key == dedupe_key))
        if exists is not None:
            return None
    subject, text, html = render_mail(template, **context)
    mail = OutboundMail(
        to=to,
        subject=subject,
        text_body=text,
        html_body=html,
        headers=headers or {},
        attachments=attachments or [],
        dedupe_key=dedupe_key,
        subscription_id=subscription_id,
    )
    if dedupe_key is None:  # nothing to conflict on: no savepoint (two fewer round trips on hot paths)
        db.session.add(mail)
        db.session.flush()
    else:
        try:
            with db.session.begin_nested():
                db.session.add(mail)
        except IntegrityError:
            return None
    from mobilize.core.tasks import send_mail

    after_commit(db.session, send_mail, mail.id)
    return mail


def claim(mail_id: int) -> OutboundMail | None:
    """Mark a queued message as being sent; None when another worker has it."""
    now = utcnow()
    claimed = db.session.execute(
        update(OutboundMail)
        .where(
            OutboundMail.id == mail_id,
            or_(
                OutboundMail.status == "queued",
                (OutboundMail.status == "sending") & (OutboundMail.claimed_at < now - STALE_CLAIM),
            ),
        )
        .values(status="sending", claimed_at=now, attempts=OutboundMail.attempts + 1)
    ).rowcount
    db.session.commit()
    return db.session.get(OutboundMail, mail_id) if claimed else None


def deliver(mail: OutboundMail) -> None:
    """Hand one claimed message to the mail backend; raises on failure."""
    message = EmailMultiAlternatives(
        subject=mail.subject,
        body=mail.text_body,
        from_email=current_app.config["MAIL_DEFAULT_SENDER"],
        to=[mail.to],
        headers=mail.headers or None,
    )
    if mail.html_body:
        message.attach_alternative(mail.html_body, "text/html")
    for item in mail.attachments:
        message.attach(item["filename"], item["content"], item["mimetype"])
    message.send()


def send_outbound(mail_id: int) -> bool:
    """Send one message from the outbox once; False when there was nothing to do."""
    mail = claim(mail_id)
    if mail is None:
        return False
    if mail.subscription_id is not None and not _still_subscribed(mail.subscription_id):
        mail.status = "skipped"
        db.session.commit()
        return False
    try:
        deliver(mail)
    except Exception as error:
        mail.status = "queued"
        mail.last_error = f"{type(error).__name__}: {error}"[:2000]
        db.session.commit()
        raise
    mail.status = "sent"
    mail.sent_at = utcnow()
    mail.last_error = None
    db.session.commit()
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
