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


def test_a_kept_smtp_connection_the_server_dropped_is_opened_again(make, send_queued_mail, smtp_server):
    import socket

    from mobilize.core import mail

    user, _ = make.organizer()
    queue_mail(user.email, "password_reset", user=user, token="first")
    db.session.commit()
    assert send_queued_mail() == 1
    kept = mail._smtp.held[1]
    kept.connection.sock.shutdown(socket.SHUT_RDWR)  # as a server closing an idle connection does
    queue_mail(user.email, "password_reset", user=user, token="second")
    db.session.commit()
    assert send_queued_mail() == 1
    assert mail._smtp.held[1] is not kept
    assert len(smtp_server.wait_for(2, to=user.email)) == 2
