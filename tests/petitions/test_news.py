"""Petition news: organizers hear of each goal reached once; opted-in signers get updates once, in batches."""

import re
from urllib.parse import urlsplit

from sqlalchemy import select

from mobilize.core.models import utcnow
from mobilize.extensions import db
from mobilize.people.models import Person, Subscription
from mobilize.petitions import counting, news
from mobilize.petitions import services as petition_services
from tests.petitions.conftest import PetitionFactories
from tests.support.factories import outbox


def test_organizers_are_told_once_when_a_goal_is_reached_and_raised(make):
    factories = PetitionFactories(make)
    petition = factories.petition(goal=2)
    for n in range(3):
        factories.confirmed(petition, email=f"signer{n}@example.org")
    counting.fold_counts()
    counting.raise_goals()

    assert news.send_milestone_mails() == 1
    assert news.send_milestone_mails() == 0
    [mail] = outbox("milestone:", to=petition.organizer.email)
    assert mail.subject == f"2 signatures: {petition.title} reached its goal"
    assert "It has 3 now, and its new goal is" in mail.text_body


def test_updates_reach_opted_in_signers_once_across_batches_and_not_those_who_left(make):
    factories = PetitionFactories(make)
    petition = factories.petition()
    opted = [factories.confirmed(petition, email=f"fan{n}@example.org", opt_in=True) for n in range(5)]
    quiet = factories.confirmed(petition, email="quiet@example.org")
    unconfirmed = factories.sign(petition, email="later@example.org", opt_in=True)
    left = opted.pop()
    person = db.session.get(Person, left.person_id)
    _leave(person, petition)  # unsubscribed from the organization since
    petition_services.post_update(petition.organizer.id, petition.id, "We met the CEO", "She **listened**.")

    assert news.send_update_mails(batch=2) == 2
    assert news.send_update_mails(batch=2) == 2
    assert news.send_update_mails(batch=2) == 0
    assert news.send_update_mails(batch=2) == 0

    mails = outbox("petition-update:")
    assert sorted(m.to for m in mails) == sorted(s.person.email for s in opted)
    assert quiet.person.email not in {m.to for m in mails} and unconfirmed.person.email not in {m.to for m in mails}
    assert mails[0].subject == f"We met the CEO ({petition.title})"
    assert "<strong>listened</strong>" in mails[0].html_body


def _leave(person, petition):
    db.session.query(Subscription).filter_by(person_id=person.id, organization_id=petition.organization_id).update(
        {"unsubscribed_at": utcnow()})
    db.session.commit()


def test_a_petition_update_carries_a_one_click_unsubscribe_that_works(make, client, send_queued_mail, smtp_server):
    factories = PetitionFactories(make)
    petition = factories.petition()
    fan = factories.confirmed(petition, email="fan@example.org", opt_in=True)
    petition_services.post_update(petition.organizer.id, petition.id, "Hearing set", "Come to the hearing.")
    assert news.send_update_mails() == 1
    assert send_queued_mail() >= 1

    [message] = [m for m in smtp_server.messages if m["Subject"].startswith("Hearing set")]
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    link = re.fullmatch(r"<(\S+/unsubscribe/[\w.-]+)>", "".join(message["List-Unsubscribe"].split())).group(1)
    text, html = (part.get_payload(decode=True).decode() for part in message.walk() if not part.is_multipart())
    assert f"Unsubscribe in one click: {link}" in text and f'href="{link}"' in html

    path = urlsplit(link).path
    response = client.post(path, data="List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200
    subscription = db.session.scalar(select(Subscription).where(
        Subscription.person_id == fan.person_id, Subscription.organization_id == petition.organization_id))
    assert subscription.unsubscribed_at is not None
