"""The real worker: tasks go through Redis to a Celery process and mail reaches SMTP."""

from sqlalchemy import select

from mobilize.accounts import services
from mobilize.core.models import OutboundMail
from mobilize.extensions import db
from tests.support.infra import body_text, wait_until


def test_mail_queued_by_a_service_is_sent_by_the_worker_process(celery_worker, make, smtp_server):
    user, _ = make.organizer(email="worker-test@example.org")
    services.request_password_reset(user.email)
    message = smtp_server.wait_for(1, to=user.email)[0]
    assert "Reset your" in message["Subject"]
    assert "/password/reset/" in body_text(message)
    assert message.get_content_type() == "multipart/alternative"

    def marked_sent():
        db.session.expire_all()
        return db.session.scalar(select(OutboundMail.status)) == "sent"

    wait_until(marked_sent, what="the outbox row marked sent")
    assert len(smtp_server.to(user.email)) == 1


def test_mail_is_retried_while_smtp_refuses_and_sent_once_it_accepts(celery_worker, make, smtp_server):
    smtp_server.refuse = True
    user, _ = make.organizer(email="refused@example.org")
    services.request_password_reset(user.email)

    def attempted():
        db.session.expire_all()
        row = db.session.scalar(select(OutboundMail))
        return row.attempts >= 1 and row.status == "queued" and row.last_error

    wait_until(attempted, what="a refused attempt")
    smtp_server.refuse = False
    smtp_server.wait_for(1, to=user.email, timeout=60)
    wait_until(lambda: (db.session.expire_all(), db.session.scalar(select(OutboundMail.status)))[1] == "sent")
    assert len(smtp_server.to(user.email)) == 1


def test_a_burst_of_mail_reaches_the_worker_in_a_few_batches_and_each_message_once(celery_worker, make, smtp_server):
    """Forty mails committed one after another (forty requests' worth) cost a few broker messages, not forty."""
    users = [make.organizer(email=f"burst{n}@example.org")[0] for n in range(40)]
    received_before = celery_worker.output().count("mobilize.core.tasks.send_mails[")
    for user in users:
        services.request_password_reset(user.email)  # queues one mail and commits
    smtp_server.wait_for(40, timeout=60)
    assert sorted(m["To"] for m in smtp_server.messages if m["To"].startswith("burst")) == \
        sorted(user.email for user in users)
    wait_until(lambda: "succeeded" in celery_worker.output().rsplit("send_mails[", 1)[-1], what="the last batch done")
    batches = celery_worker.output().count("mobilize.core.tasks.send_mails[") - received_before
    # Each batch logs "received" and "succeeded"; one message per mail would be 40 batches. How many
    # 50 ms windows forty commits span depends on the machine's speed: 12 on a slow day.
    assert 1 <= batches <= 20 * 2
