import time
from datetime import timedelta

import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import func, select, update

from mobilize.core.errors import Conflict, Forbidden, Invalid, NotFound
from mobilize.core.mail import compose
from mobilize.core.models import OutboundMail, utcnow
from mobilize.people.models import Person, Subscription
from mobilize.petitions import counting, signing
from mobilize.petitions.models import CountDelta, Petition, Signature
from tests.support.infra import body_text


def signatures(db):
    return db.session.scalars(select(Signature)).all()


def mails_to(db, address):
    return db.session.scalars(select(OutboundMail).where(OutboundMail.to == address)).all()


def test_signing_stores_a_pending_signature_and_queues_one_confirmation_mail(db, petitions):
    petition = petitions.petition()
    signature = petitions.sign(petition, "Sam.Signer@Example.org", postal_code="62701", country="us",
                               comment="  Flexible hours kept me in work.  ")
    assert signature.status == "pending" and not signature.counted
    assert signature.locality == "Springfield, IL" and signature.country == "US"
    assert signature.comment == "Flexible hours kept me in work."
    [mail] = mails_to(db, "sam.signer@example.org")
    subject, text, _ = compose(mail)  # as the worker will send it
    assert petition.title in subject
    assert "/signatures/confirm/" in text
    assert db.session.scalar(select(func.count()).select_from(CountDelta)) == 0


def test_gmail_dots_plus_tags_and_case_are_one_person_with_one_signature(db, petitions):
    petition = petitions.petition()
    for email in ("maya.okafor@gmail.com", "MayaOkafor+petitions@googlemail.com", "m.a.y.a.okafor@Gmail.com"):
        petitions.sign(petition, email)
    assert len(signatures(db)) == 1
    assert db.session.scalar(select(func.count()).select_from(Person)) == 1


def test_signing_again_resends_the_link_only_after_the_resend_interval(app, db, petitions):
    petition = petitions.petition()
    first = petitions.sign(petition, "sam@example.org")
    again, created = signing.sign(petition.id, signing.Signer(email="sam@example.org", given_name="Sam"))
    assert not created and again == first.id
    assert len(mails_to(db, "sam@example.org")) == 1
    wait = app.config["PETITION_CONFIRM_RESEND_AFTER"]
    db.session.execute(update(Signature).values(confirmation_sent_at=utcnow() - timedelta(seconds=wait + 1)))
    db.session.commit()
    petitions.sign(petition, "sam@example.org")
    assert len(mails_to(db, "sam@example.org")) == 2
    assert db.session.get(Signature, first.id).confirmations_sent == 2


def test_a_confirmed_signer_signing_again_gets_no_mail_and_no_second_count(db, petitions):
    petition = petitions.petition()
    petitions.confirmed(petition, "sam@example.org")
    petitions.sign(petition, "sam@example.org")
    assert len(mails_to(db, "sam@example.org")) == 1
    assert counting.count_lag(petition.id) == 1


def test_confirming_counts_once_even_when_the_link_is_used_twice(db, petitions):
    petition = petitions.petition()
    token = signing.confirmation_token(petitions.sign(petition).uuid)
    first = signing.confirm(token)
    second = signing.confirm(token)
    assert first.counted and second.confirmed_via == "email"
    counting.fold_counts()
    db.session.expire_all()
    assert db.session.get(Petition, petition.id).signature_count == 1


def test_the_opt_in_is_recorded_only_when_the_email_is_confirmed(db, petitions):
    petition = petitions.petition()
    signature = petitions.sign(petition, "ivy@example.org", opt_in=True)
    assert db.session.scalar(select(func.count()).select_from(Subscription)) == 0
    signing.confirm(signing.confirmation_token(signature.uuid))
    [subscription] = db.session.scalars(select(Subscription)).all()
    assert subscription.organization_id == petition.organization_id
    assert subscription.wording == signing.opt_in_wording(petition.organization.name)
    assert subscription.source == f"petition:{petition.slug}"


def test_forged_and_expired_confirmation_links_are_refused(app, petitions):
    petition = petitions.petition()
    signature = petitions.sign(petition)
    token = signing.confirmation_token(signature.uuid)
    with pytest.raises(Invalid, match="not valid"):
        signing.confirm(token[:-3] + "abc")
    forged = URLSafeTimedSerializer("another-secret-key-of-some-length", salt="petition-signature-confirm")
    with pytest.raises(Invalid, match="not valid"):
        signing.confirm(forged.dumps(str(signature.uuid)))

    class EightDaysAgo(TimestampSigner):
        def get_timestamp(self):
            return int(time.time()) - 8 * 86400

    old = URLSafeTimedSerializer(app.config["SECRET_KEY"], salt="petition-signature-confirm", signer=EightDaysAgo)
    with pytest.raises(Invalid, match="expired"):
        signing.confirm(old.dumps(str(signature.uuid)))
    assert not signing.signature_for_token(token).counted


def test_draft_and_closed_petitions_take_no_signatures(db, petitions):
    draft = petitions.petition(status="draft", title="Draft")
    closed = petitions.petition(status="closed", title="Closed")
    past = petitions.petition(title="Past")
    db.session.execute(update(Petition).where(Petition.id == past.id).values(closes_at=utcnow() - timedelta(minutes=1)))
    db.session.commit()
    with pytest.raises(NotFound):
        petitions.sign(draft)
    with pytest.raises(Conflict, match="closed"):
        petitions.sign(closed)
    with pytest.raises(Conflict, match="closed"):
        petitions.sign(past)
    assert signatures(db) == []


def test_a_signature_left_unconfirmed_when_the_petition_closes_cannot_be_confirmed(db, petitions):
    petition = petitions.petition()
    token = signing.confirmation_token(petitions.sign(petition).uuid)
    petition.status = "closed"
    db.session.commit()
    with pytest.raises(Conflict, match="closed before"):
        signing.confirm(token)


def test_signing_facts_are_read_once_a_memo_lasts_and_a_late_signature_still_never_counts(app, db, petitions,
                                                                                          monkeypatch):
    monkeypatch.setitem(app.config, "PETITION_FACTS_MEMO_SECONDS", 60)  # however slow this machine is today
    petition = petitions.petition()
    petitions.sign(petition, "first@example.org")
    petition.status = "closed"  # in the memo's second, this process still sees the petition open
    db.session.commit()
    late = petitions.sign(petition, "late@example.org")
    with pytest.raises(Conflict, match="closed before"):
        signing.confirm(signing.confirmation_token(late.uuid))
    assert not db.session.get(Signature, late.id).counted
    monkeypatch.setitem(app.config, "PETITION_FACTS_MEMO_SECONDS", 0)  # once it is over, the close is seen
    with pytest.raises(Conflict, match="closed"):
        petitions.sign(petition, "later@example.org")


@pytest.mark.parametrize("fields, field", [
    ({"email": "not-an-email"}, "email"),
    ({"email": "sam@"}, "email"),
    ({"given_name": "   "}, "given_name"),
    ({"given_name": "S" * 101}, "given_name"),
    ({"family_name": "S" * 101}, "family_name"),
    ({"postal_code": "1" * 21}, "postal_code"),
    ({"country": "XX"}, "country"),
    ({"comment": "word " * 101}, "comment"),
])
def test_bad_input_is_refused_with_the_field_named_and_nothing_stored(db, petitions, fields, field):
    petition = petitions.petition()
    values = {"email": "sam@example.org", "given_name": "Sam", **fields}
    with pytest.raises(Invalid) as raised:
        signing.sign(petition.id, signing.Signer(**values))
    assert field in raised.value.fields
    assert signatures(db) == [] and db.session.scalar(select(func.count()).select_from(Person)) == 0


def test_control_characters_are_stripped_from_names_and_comments(petitions):
    petition = petitions.petition()
    signature = petitions.sign(petition, given_name="Sa\x00m\x1b", comment="line one\nline\x07 two")
    assert signature.given_name == "Sam" and signature.comment == "line one\nline two"


def test_an_organization_token_can_record_a_signature_as_confirmed_elsewhere(db, petitions, make):
    petition = petitions.petition()
    signature_id, created = signing.sign(petition.id, signing.Signer(email="ana@example.org", given_name="Ana"),
                                         source="api", confirmed_by=petition.organizer.id)
    signature = db.session.get(Signature, signature_id)
    assert created and signature.counted and signature.confirmed_via == "organization"
    assert mails_to(db, "ana@example.org") == []
    outsider, _ = make.organizer()
    with pytest.raises(Forbidden):
        signing.sign(petition.id, signing.Signer(email="bo@example.org", given_name="Bo"), confirmed_by=outsider.id)


def test_unconfirmed_signatures_expire_and_the_person_can_sign_again(app, db, petitions):
    petition = petitions.petition()
    stale = petitions.sign(petition, "old@example.org").id
    fresh = petitions.sign(petition, "new@example.org").id
    kept = petitions.confirmed(petition, "done@example.org").id
    age = timedelta(seconds=app.config["PETITION_CONFIRM_MAX_AGE"] + 60)
    db.session.execute(update(Signature).values(confirmation_sent_at=utcnow() - age))
    db.session.execute(update(Signature).where(Signature.id == fresh).values(confirmation_sent_at=utcnow()))
    db.session.commit()
    assert signing.expire_unconfirmed() == 1
    assert {s.id for s in signatures(db)} == {fresh, kept}
    again = petitions.sign(petition, "old@example.org")
    assert again.id != stale and again.status == "pending"


def test_the_confirmation_mail_links_to_a_page_not_straight_to_a_confirmation(db, petitions, send_queued_mail,
                                                                               smtp_server):
    petition = petitions.petition()
    petitions.sign(petition, "lena@example.org")
    send_queued_mail()  # or a worker process running in this session sends it
    [message] = smtp_server.wait_for(1, to="lena@example.org")
    text = body_text(message)
    assert "http://mobilize.test/signatures/confirm/" in text
    assert "Hello Sam" in text
