"""The outbox, sent in-process through the worker's own function."""

from mobilize.core.mail import queue_mail
from mobilize.extensions import db


def test_queue_mail_with_same_dedupe_key_queues_once(make, send_queued_mail, smtp_server):
    user, _ = make.organizer()
    first = queue_mail(user.email, "password_reset", dedupe_key="once", user=user, token="t")
    second = queue_mail(user.email, "password_reset", dedupe_key="once", user=user, token="t")
    db.session.commit()
    assert first is not None and second is None
    assert send_queued_mail() == 1
    assert send_queued_mail() == 0
