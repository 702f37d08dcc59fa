"""Who gets an announcement: opted-in supporters of the organization, narrowed by each filter."""

from datetime import timedelta

import pytest
from sqlalchemy import update

from mobilize.announcements import services
from mobilize.core.errors import Invalid
from mobilize.core.models import utcnow
from mobilize.events.models import Timeslot
from mobilize.extensions import db
from mobilize.people import services as people
from mobilize.people.services import find_or_create_person, subscribe
from mobilize.petitions import services as petitions
from mobilize.petitions import signing
from mobilize.petitions.models import Signature
from mobilize.rsvps import services as rsvps
from tests.announcements.conftest import unsubscribe_token


def recipients(announcement) -> list[str]:
    return [row.email for row in db.session.execute(services.audience(announcement))]


def test_audience_is_the_organizations_opted_in_supporters_still_subscribed(make, announcements):
    user, org = make.organizer()
    _, other_org = make.organizer()
    staying, leaving = announcements.supporters(org, 2)
    announcements.supporters(other_org, 1, prefix="elsewhere")
    never = find_or_create_person("never@example.net", given_name="Nev")
    db.session.commit()
    announcement = announcements.announcement(user, org)

    people.unsubscribe(unsubscribe_token(leaving, org))

    assert recipients(announcement) == [staying.email]
    assert never.email not in recipients(announcement)
    assert services.audience_size(announcement) == 1


def test_resubscribing_after_an_unsubscribe_brings_the_supporter_back(make, announcements):
    user, org = make.organizer()
    (fan,) = announcements.supporters(org, 1)
    people.unsubscribe(unsubscribe_token(fan, org))
    announcement = announcements.announcement(user, org)
    assert recipients(announcement) == []

    subscribe(fan, org.id, "Email me again.", "test")
    db.session.commit()
    assert recipients(announcement) == [fan.email]


def test_audience_near_a_zip_code_uses_the_radius(make, announcements):
    user, org = make.organizer()
    (springfield,) = announcements.supporters(org, 1, postal_code="62701")
    (chatham,) = announcements.supporters(org, 1, postal_code="62629-1234")  # ~10 miles away, ZIP+4
    (chicago,) = announcements.supporters(org, 1, postal_code="60601")  # ~180 miles away
    announcements.supporters(org, 1, postal_code="")

    near = announcements.announcement(user, org, near_postal_code="62701", radius_miles=25)
    wide = announcements.announcement(user, org, near_postal_code="62701", radius_miles=250)

    assert recipients(near) == [springfield.email, chatham.email]
    assert recipients(wide) == [springfield.email, chatham.email, chicago.email]


def test_audience_of_attendees_is_confirmed_attendees_of_the_past_event_less_no_shows(make, announcements):
    user, org = make.organizer()
    event = make.event(org)
    slot = event.timeslots[0].uuid
    came, no_show, cancelled, not_opted_in = (
        rsvps.rsvp(event.id, email=f"{name}@example.net", given_name=name, timeslot_ids=[str(slot)],
                   opt_in=name != "quiet")
        for name in ("came", "noshow", "cancelled", "quiet"))
    rsvps.cancel_rsvp(cancelled.id)
    announcements.supporters(org, 1, prefix="fan-not-at-event")
    db.session.execute(update(Timeslot).where(Timeslot.event_id == event.id).values(
        start_at=utcnow() - timedelta(days=2), end_at=utcnow() - timedelta(days=2) + timedelta(hours=2)))
    db.session.commit()
    rsvps.mark_attended(user.id, no_show.id, False)

    announcement = announcements.announcement(user, org, attended_event=str(event.uuid))

    assert recipients(announcement) == ["came@example.net"]


def test_attendee_filter_must_be_a_past_event_of_the_organization(make, announcements):
    user, org = make.organizer()
    _, other_org = make.organizer()
    upcoming = make.event(org)
    theirs = make.event(other_org, start=utcnow() - timedelta(days=3))
    for event in (upcoming, theirs):
        with pytest.raises(Invalid) as error:
            announcements.announcement(user, org, attended_event=str(event.uuid))
        assert "attended_event" in error.value.fields


def test_audience_of_signers_is_confirmed_signatures_not_invalidated(make, announcements):
    user, org = make.organizer()
    petition = petitions.create_petition(user.id, org.id, title="Flexible hours now", summary="Let us ask.")
    petitions.add_target(user.id, petition.id, name="Jane Doe")
    petitions.update_petition(user.id, petition.id, status="open")

    def sign(name: str, confirm: bool = True):
        signature_id, _ = signing.sign(petition.id, signing.Signer(email=f"{name}@example.net", given_name=name,
                                                                    opt_in=True))
        signature = db.session.get(Signature, signature_id)
        return signing.confirm(signing.confirmation_token(signature.uuid)) if confirm else signature

    sign("signed")
    sign("pending", confirm=False)
    invalid = sign("invalid")
    petitions.invalidate_signatures(user.id, petition.id, "duplicate", signature_uuid=invalid.uuid)
    announcements.supporters(org, 1, prefix="fan-not-signed")

    announcement = announcements.announcement(user, org, signed_petition=str(petition.uuid))

    assert recipients(announcement) == ["signed@example.net"]


def test_filters_combine(make, announcements):
    user, org = make.organizer()
    petition = petitions.create_petition(user.id, org.id, title="Flexible hours now", summary="Let us ask.")
    petitions.add_target(user.id, petition.id, name="Jane Doe")
    petitions.update_petition(user.id, petition.id, status="open")
    for email, postal_code in (("near@example.net", "62701"), ("far@example.net", "10001")):
        signature_id, _ = signing.sign(petition.id, signing.Signer(email=email, given_name="Sig", opt_in=True,
                                                                    postal_code=postal_code))
        signature = db.session.get(Signature, signature_id)
        signing.confirm(signing.confirmation_token(signature.uuid))

    announcement = announcements.announcement(user, org, signed_petition=str(petition.uuid),
                                              near_postal_code="62701", radius_miles=10)

    assert recipients(announcement) == ["near@example.net"]
    assert services.describe_audience(announcement)[1:] == [
        "within 10 miles of ZIP 62701", "who signed “Flexible hours now”"]
