"""When the worker closes a petition on its closing date, each organizer is told once, with the final count."""

import time
from datetime import timedelta

import pytest
from sqlalchemy import update

from mobilize.accounts import services as accounts
from mobilize.core.models import utcnow
from mobilize.extensions import db
from mobilize.petitions import counting, news, tasks
from mobilize.petitions import services as petition_services
from mobilize.petitions.models import Petition
from tests.petitions.conftest import PetitionFactories
from tests.support.factories import outbox
from tests.support.infra import body_text, start_celery_worker, wait_until

SUBJECT = "Closed with"


def closing_mails(smtp_server, to: str | None = None) -> list:
    """What the SMTP server got about closing (the signers' confirmation mails go there too)."""
    return [m for m in (smtp_server.to(to) if to else smtp_server.messages) if m["Subject"].startswith(SUBJECT)]


def _due(petition) -> None:
    """Its closing date passes (the service refuses a date in the past, so the test moves it)."""
    db.session.execute(
        update(Petition).where(Petition.id == petition.id).values(closes_at=utcnow() - timedelta(minutes=1))
    )
    db.session.commit()


def _closing_petition(make):
    """An open petition closing soon, with two organizers, 3 confirmed signatures (one not yet folded) and 1 not."""
    factories = PetitionFactories(make)
    petition = factories.petition(title="Flexible hours now", closes_at=utcnow() + timedelta(days=1))
    colleague, _ = make.organizer(org=None, name="Cal Colleague")
    accounts.add_member(petition.organizer.id, petition.organization_id, colleague.email)
    for n in range(2):
        factories.confirmed(petition, email=f"signer{n}@example.org")
    counting.fold_counts()
    factories.confirmed(petition, email="late@example.org")  # still a pending delta when the petition closes
    factories.sign(petition, email="never-confirmed@example.org")
    return petition, [petition.organizer, colleague]


def test_organizers_are_told_once_when_the_worker_closes_a_petition_on_its_date(make, send_queued_mail, smtp_server):
    petition, organizers = _closing_petition(make)
    open_one = PetitionFactories(make).petition(title="Still open", closes_at=utcnow() + timedelta(days=1))
    _due(petition)

    send_queued_mail()  # the signers' confirmation mails
    assert tasks.close_due_petitions() == 1
    assert send_queued_mail() == 2
    assert tasks.close_due_petitions() == 0
    assert news.queue_closed_mails(petition.id) == 0  # the same close, queued again: the outbox refuses it
    db.session.commit()
    assert send_queued_mail() == 0

    db.session.expire_all()
    assert db.session.get(Petition, petition.id).status == "closed"
    assert db.session.get(Petition, open_one.id).status == "open"
    assert sorted(m["X-Envelope-To"] for m in closing_mails(smtp_server)) == sorted(u.email for u in organizers)
    [message] = closing_mails(smtp_server, organizers[1].email)
    assert message["Subject"] == "Closed with 3 signatures: Flexible hours now"
    text = body_text(message)
    org, uuid = petition.organization.slug, petition.uuid
    assert "Hello Cal Colleague," in text and "It closed with 3 confirmed signatures." in text
    assert f"http://mobilize.test/orgs/{org}/petitions/{uuid}\r\n" in text
    assert f"http://mobilize.test/orgs/{org}/petitions/{uuid}/delivery" in text
    assert f"http://mobilize.test/orgs/{org}/petitions/{uuid}/signatures.csv" in text
    assert f"http://mobilize.test/petitions/{petition.slug}" in text
    assert len(outbox("petition-closed:")) == 2


def test_a_petition_reopened_with_a_new_date_is_announced_again_when_it_closes(make, send_queued_mail, smtp_server):
    petition, organizers = _closing_petition(make)
    _due(petition)
    assert counting.close_due_petitions() == 1
    petition_services.update_petition(
        organizers[0].id, petition.id, status="open", closes_at=utcnow() + timedelta(days=1)
    )
    _due(petition)
    assert counting.close_due_petitions() == 1
    send_queued_mail()
    assert len(closing_mails(smtp_server, organizers[0].email)) == 2
    assert len(outbox("petition-closed:")) == 4


def test_an_organizer_closing_a_petition_by_hand_gets_no_mail(make):
    petition, organizers = _closing_petition(make)
    petition_services.update_petition(organizers[0].id, petition.id, status="closed")
    _due(petition)
    assert counting.close_due_petitions() == 0
    assert outbox("petition-closed:") == []


@pytest.fixture(scope="module")
def second_worker(process_env):
    worker = start_celery_worker(process_env)
    yield worker
    worker.stop()


def test_overlapping_close_sweeps_on_two_workers_send_each_organizer_one_mail(
    celery_worker, second_worker, make, smtp_server
):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("worker processes share the test database on PostgreSQL")
    petition, organizers = _closing_petition(make)
    _due(petition)

    for _ in range(4):
        tasks.close_due_petitions.delay()
    wait_until(lambda: len(closing_mails(smtp_server)) >= 2, what="two closing mails")
    time.sleep(3)  # long enough for a duplicate to arrive, were there one

    mails = closing_mails(smtp_server)
    assert sorted(m["X-Envelope-To"] for m in mails) == sorted(u.email for u in organizers)
    assert {m["Subject"] for m in mails} == {"Closed with 3 signatures: Flexible hours now"}
