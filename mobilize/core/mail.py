"""Mail composed from templates, written to the outbox, sent by the worker."""

import contextlib
import functools
import logging
import smtplib
import threading
from collections.abc import Callable
from datetime import timedelta

from flask import current_app
from flask_mailman import EmailMultiAlternatives
from itsdangerous import BadData, URLSafeSerializer
from jinja2 import TemplateNotFound
from sqlalchemy import delete, or_, select, update

from mobilize.core.dispatch import on_commit
from mobilize.core.models import OutboundMail, utcnow
from mobilize.core.sql import insert_or_nothing
from mobilize.core.transaction import unit_of_work
from mobilize.core.urls import external_url
from mobilize.extensions import db
from mobilize.extensions import mail as mail_extension

log = logging.getLogger(__name__)
STALE_CLAIM = timedelta(minutes=10)
MESSAGE_COLUMNS = (OutboundMail.to, OutboundMail.subject, OutboundMail.text_body, OutboundMail.html_body,
                   OutboundMail.headers, OutboundMail.attachments, OutboundMail.subscription_id,
                   OutboundMail.template, OutboundMail.context)
_smtp = threading.local()
# Attachments made when their mail is sent, by name: see ``attachment_builder``.
ATTACHMENT_BUILDERS: dict[str, Callable[..., dict | None]] = {}
# Contexts of mail composed when it is sent, by template: see ``composed_context``.
CONTEXT_BUILDERS: dict[str, Callable[..., dict | None]] = {}
ONE_CLICK = "List-Unsubscribe=One-Click"


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
    if "unsubscribe_url" in context:
        text = text.rstrip("\n") + "\n\n" + env.get_template("mail/_unsubscribe.txt").render(context)
    try:
        html = env.get_template(f"mail/{template}.html").render(context)
    except TemplateNotFound:  # HTML is optional
        html = None
    return " ".join(subject.split()), text, html


def _unsubscribe_serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="unsubscribe")


def unsubscribe_token(subscription_id: int) -> str:
    """Signed, so only the person it was mailed to can use it; it never expires (RFC 8058)."""
    return _unsubscribe_serializer().dumps(subscription_id)


def subscription_id_for_token(token: str) -> int | None:
    """The opt-in an unsubscribe token stands for; None for a forged or mangled one."""
    try:
        subscription_id = _unsubscribe_serializer().loads(token)
    except BadData:
        return None
    return subscription_id if isinstance(subscription_id, int) else None


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
    Mail with a ``subscription_id`` is bulk mail, sent because of that opt-in: it
    carries a one-click unsubscribe (link and RFC 8058 headers), and is skipped if
    the opt-in is withdrawn before it goes.
    """
    if subscription_id is not None:
        url = context["unsubscribe_url"] = external_url("people.unsubscribe", token=unsubscribe_token(subscription_id))
        headers = {**(headers or {}), "List-Unsubscribe": f"<{url}>", "List-Unsubscribe-Post": ONE_CLICK}
    subject, text, html = render_mail(template, **context)
    return _queue(to=to, subject=subject, text_body=text, html_body=html, headers=headers or {},
                  attachments=attachments or [], dedupe_key=dedupe_key, subscription_id=subscription_id)


def queue_composed_later(to: str, template: str, *, dedupe_key: str | None = None,
                         attachments: list[dict] | None = None, **arguments) -> int | None:
    """Like ``queue_mail``, but the worker renders the message when it sends it, from the template's
    context builder (``composed_context``) called with these JSON arguments, or from the arguments
    themselves when the template has none.

    For the paths a rush takes (a signature, an RSVP): rendering a mail is a
    real share of their request (bench/README.md), and the worker catches up after the rush.
    """
    return _queue(to=to, subject="", text_body="", html_body=None, headers={}, attachments=attachments or [],
                  dedupe_key=dedupe_key, subscription_id=None, template=template, context=arguments)


def _queue(**values) -> int | None:
    """Write the message unless its dedupe key was queued before; hand it to the worker after commit."""
    mail_id = db.session.connection().execute(insert_or_nothing(OutboundMail, ("dedupe_key",)), values).scalar()
    if mail_id is not None:
        from mobilize.core.tasks import outbox

        on_commit(db.session, functools.partial(outbox.add, mail_id))
    return mail_id


def _registrar(builders: dict, name: str):
    def register(build: Callable[..., dict | None]):
        builders[name] = build
        return build
    return register


def composed_context(template: str):
    """Register the builder of a template's context for mail queued by ``queue_composed_later``: called with
    the queued arguments when the mail is sent, it returns the context, or None when the mail's subject is
    gone (the mail is then skipped)."""
    return _registrar(CONTEXT_BUILDERS, template)


def compose(mail) -> tuple[str, str, str | None] | None:
    """A claimed message's subject, text and HTML: as queued, or rendered now; None when there is nothing
    left to say (see ``composed_context``)."""
    if mail.template is None:
        return mail.subject, mail.text_body, mail.html_body
    build = CONTEXT_BUILDERS.get(mail.template)
    context = build(**mail.context) if build else mail.context
    return None if context is None else render_mail(mail.template, **context)


def rewrite_composed_later(mail_id: int, *, attachments: list[dict] | None = None, **arguments) -> None:
    """Change what a message queued by ``queue_composed_later`` in this transaction (so not yet sent) will say."""
    db.session.execute(update(OutboundMail).where(OutboundMail.id == mail_id).values(
        attachments=attachments or [], context=arguments))


def discard_mail(mail_id: int) -> None:
    """Take back a message queued earlier in this transaction."""
    db.session.execute(delete(OutboundMail).where(OutboundMail.id == mail_id))


def attachment_builder(name: str):
    """Register a function that makes an attachment when its mail is sent.

    A message queues ``{"build": name, "args": {...}}`` in its place: building
    a calendar file is costly on the RSVP path (bench/README.md), and one built
    when the mail leaves shows the event as it is then. The function returns
    the attachment's dict, or None to leave it out (its subject is gone).
    """
    return _registrar(ATTACHMENT_BUILDERS, name)


def built_attachments(mail) -> list[dict]:
    """The message's attachments as they are sent, those queued as a name and arguments built now."""
    attachments = []
    for item in mail.attachments:
        if "build" in item:
            item = ATTACHMENT_BUILDERS[item["build"]](**item["args"])
        if item:
            attachments.append(item)
    return attachments


def claim(mail_ids: list[int]) -> list:
    """Mark queued messages as being sent and return them (rows, by id); those another worker has are left out.

    One statement for a batch; a worker that dies holding claimed messages leaves
    them to the outbox sweep once STALE_CLAIM has passed: late, never twice.
    """
    now = utcnow()
    with unit_of_work():
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


def deliver(mail, subject: str, text: str, html: str | None) -> None:
    """Hand one claimed message, composed, to the mail backend; raises on failure.

    A kept connection the server has since closed is opened again once.
    """
    attachments = built_attachments(mail)
    for attempt in (1, 2):
        message = EmailMultiAlternatives(
            subject=subject,
            body=text,
            from_email=current_app.config["MAIL_DEFAULT_SENDER"],
            to=[mail.to],
            headers=mail.headers or None,
            connection=_smtp_connection(),
        )
        if html:
            message.attach_alternative(html, "text/html")
        for item in attachments:
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
    with unit_of_work():
        db.session.connection().execute(
            update(OutboundMail.__table__).where(OutboundMail.id == mail_id).values(**values))


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
        composed = compose(mail)
        if composed is not None:
            deliver(mail, *composed)
    except Exception as error:
        _finish(mail.id, status="queued", last_error=f"{type(error).__name__}: {error}"[:2000])
        raise
    if composed is None:
        _finish(mail.id, status="skipped")
        return False
    subject, text, html = composed
    written = {"subject": subject, "text_body": text, "html_body": html} if mail.template else {}
    _finish(mail.id, status="sent", sent_at=utcnow(), last_error=None, **written)
    return True


def _still_subscribed(subscription_id: int) -> bool:
    """Whether the opt-in a bulk mail was queued for still stands (read by table name: core imports no feature)."""
    subscriptions = db.metadata.tables["subscriptions"]
    return db.session.scalar(select(subscriptions.c.id).where(
        subscriptions.c.id == subscription_id, subscriptions.c.unsubscribed_at.is_(None))) is not None


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
