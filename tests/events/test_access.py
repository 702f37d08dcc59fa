"""Who manages an event: organizers of its host or of an accepted co-host; a deleted event is gone for them too."""

import pytest
from sqlalchemy import select

from mobilize.core.errors import Forbidden, NotFound
from mobilize.events import access, services
from mobilize.events.models import Event
from mobilize.extensions import db
from tests.support.session import login


def events_of(org_id) -> set[str]:
    return set(db.session.scalars(select(Event.title).where(access.of_organizations(org_id))))


def test_events_of_organizations_are_hosted_and_accepted_cohosted_not_invited(make, new_event, accept_cohosting):
    host_user, host = make.organizer(org="Host")
    partner_user, partner = make.organizer(org="Partner")
    new_event(host_user, host, title="Invited", cohosts=[partner.slug])
    assert events_of(partner.id) == set() and events_of(host.id) == {"Invited"}
    accept_cohosting(partner_user, partner)
    new_event(partner_user, partner, title="Own")
    assert events_of(partner.id) == {"Invited", "Own"} == events_of([host.id, partner.id])


def test_organizers_reach_their_event_by_its_id_and_others_learn_nothing(make, new_event):
    user, org = make.organizer()
    stranger, elsewhere = make.organizer(org="Elsewhere")
    event = new_event(user, org)
    assert access.event_for_organizer(user.id, event.uuid, slug=org.slug) == event
    with pytest.raises(NotFound):
        access.event_for_organizer(stranger.id, event.uuid)
    with pytest.raises(NotFound):
        access.event_for_organizer(stranger.id, event.uuid, slug=elsewhere.slug)
    with pytest.raises(Forbidden):  # the page names the host: the event is no secret there, the right is
        access.event_for_organizer(stranger.id, event.uuid, slug=org.slug)


def test_a_deleted_event_is_gone_for_its_organizers_pages(client, make, new_event):
    user, org = make.organizer()
    event = new_event(user, org)
    services.delete_event(user.id, event.uuid)
    with pytest.raises(NotFound):
        access.event_for_organizer(user.id, event.uuid)
    login(client, user)
    for page in ("edit", "attendees", "attendees.csv"):
        assert client.get(f"/orgs/{org.slug}/events/{event.uuid}/{page}").status_code == 404, page
