"""Co-hosting by consent: an invitation, mailed, that an organizer of the invited organization answers."""

import re

import pytest

from mobilize.accounts import services as accounts
from mobilize.core.errors import Forbidden, NotFound
from mobilize.events import access, cohosts, listing, services
from tests.events.test_views import editor_data
from tests.support.session import login
from tests.support.web import submit

TITLES = ("Flex rally", "Second rally")
SUMMARY = re.compile(r"^SUMMARY:(.*)\r$", re.M)


def listed_under(anonymous, org) -> set[str]:
    """The titles anyone sees under the organization: on its events listing and in its calendar feed."""
    page = anonymous.get(f"/events?org={org.slug}").get_data(as_text=True)
    feed = anonymous.get(f"/orgs/{org.slug}/events.ics").get_data(as_text=True)
    return {title for title in TITLES if title in page} | set(SUMMARY.findall(feed))


def managed_titles(user, org) -> set[str]:
    upcoming, past = listing.managed_events(user.id, org.id)
    return {event.title for event, _ in [*upcoming, *past]}


def invitation_url(org, invitation) -> str:
    return f"/orgs/{org.slug}/cohost-invitations/{invitation.uuid}"


@pytest.fixture
def anonymous(app):
    return app.test_client()


@pytest.fixture
def invited(make, new_event):
    """A host's event naming a partner organization (two organizers) as co-host: (host, partner, event)."""
    host_user, host = make.organizer(org="Host")
    partner_user, partner = make.organizer(org="Partner")
    second = make.organizer(org=None)[0]
    accounts.add_member(partner_user.id, partner.id, second.email)
    event = new_event(host_user, host, title="Flex rally", cohosts=[partner.slug])
    return (host_user, host), (partner_user, partner, second), event


def test_a_named_cohost_is_only_invited_nothing_shows_under_it_and_it_gets_no_rights(anonymous, client, invited):
    (host_user, host), (partner_user, partner, _), event = invited
    assert event.cohosts == [] and [i.status for i in event.cohost_invitations] == ["pending"]
    assert listed_under(anonymous, host) == {"Flex rally"}
    assert listed_under(anonymous, partner) == set()
    assert managed_titles(partner_user, partner) == set()
    assert not access.can_manage(partner_user.id, event)
    with pytest.raises(NotFound):
        services.update_event(partner_user.id, event.uuid, {"title": "Ours now"})
    with pytest.raises(NotFound):
        services.cancel_event(partner_user.id, event.uuid)
    login(client, partner_user)
    assert client.get(f"/orgs/{partner.slug}/events/{event.uuid}/edit").status_code == 404
    assert f"/orgs/{partner.slug}/events/{event.uuid}/edit" not in client.get(f"/events/{event.uuid}").get_data(
        as_text=True)


def test_the_invited_organizations_organizers_are_mailed_once_with_a_link_to_the_invitation(
        client, invited, send_queued_mail, smtp_server):
    (host_user, host), (partner_user, partner, second), event = invited
    invitation = event.cohost_invitations[0]
    services.update_event(host_user.id, event.uuid, {"title": "Flex rally!", "cohosts": [partner.slug]})
    send_queued_mail()
    for user in (partner_user, second):
        [message] = smtp_server.to(user.email)
        assert "co-host" in message["Subject"] and host.name in message["Subject"]
        text, html = (part.get_payload(decode=True).decode() for part in message.walk() if not part.is_multipart())
        assert f"http://mobilize.test{invitation_url(partner, invitation)}" in text
        assert f"http://mobilize.test{invitation_url(partner, invitation)}" in html
    assert smtp_server.to(host_user.email) == []


def test_accepting_on_the_invitation_page_lists_the_event_under_the_cohost_and_lets_it_manage(
        anonymous, client, invited):
    (host_user, host), (partner_user, partner, _), event = invited
    invitation = event.cohost_invitations[0]
    login(client, partner_user)
    manage_page = client.get(f"/orgs/{partner.slug}/events").get_data(as_text=True)
    assert "Invitations to co-host" in manage_page and invitation_url(partner, invitation) in manage_page
    page = client.get(invitation_url(partner, invitation)).get_data(as_text=True)
    assert "Flex rally" in page and host.name in page and "Accept" in page
    response = submit(client, invitation_url(partner, invitation), {"answer": "accept"})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/events/{event.uuid}")
    assert [org.slug for org in services.public_event(event.uuid).cohosts] == [partner.slug]
    assert listed_under(anonymous, partner) == {"Flex rally"}
    assert managed_titles(partner_user, partner) == {"Flex rally"}
    assert "Invitations to co-host" not in client.get(f"/orgs/{partner.slug}/events").get_data(as_text=True)
    edit_url = f"/orgs/{partner.slug}/events/{event.uuid}/edit"
    assert edit_url in client.get(f"/events/{event.uuid}").get_data(as_text=True)
    form = client.get(edit_url).get_data(as_text=True)
    assert f'value="{partner.slug}"' in form and "co-hosting" in form
    data = editor_data(title="Flex rally, co-hosted", cohosts=partner.slug,
                       **{"timeslots-0-uuid": str(event.timeslots[0].uuid)})
    assert submit(client, edit_url, data).status_code == 302  # a co-host saves the form, the names unchanged
    assert services.public_event(event.uuid).title == "Flex rally, co-hosted"


def test_a_declined_invitation_shows_nothing_and_is_not_sent_again_until_named_anew(
        anonymous, client, invited, send_queued_mail):
    (host_user, host), (partner_user, partner, _), event = invited
    invitation = event.cohost_invitations[0]
    login(client, partner_user)
    response = submit(client, invitation_url(partner, invitation), {"answer": "decline"})
    assert response.status_code == 302
    assert listed_under(anonymous, partner) == set() and managed_titles(partner_user, partner) == set()
    assert not access.can_manage(partner_user.id, event)
    send_queued_mail()

    services.update_event(host_user.id, event.uuid, {"cohosts": [partner.slug]})
    assert send_queued_mail() == 0
    assert [(org.slug, status) for org, status in cohosts.answers(event)] == [(partner.slug, "declined")]
    login(client, host_user)
    assert "declined" in client.get(f"/orgs/{host.slug}/events/{event.uuid}/edit").get_data(as_text=True)

    services.update_event(host_user.id, event.uuid, {"cohosts": []})
    services.update_event(host_user.id, event.uuid, {"cohosts": [partner.slug]})
    assert [i.status for i in services.public_event(event.uuid).cohost_invitations] == ["pending"]
    assert send_queued_mail() == 2  # both of the partner's organizers, asked again
    assert listed_under(anonymous, partner) == set()


def test_only_an_organizer_of_the_invited_organization_answers(anonymous, client, make, invited):
    (host_user, host), (partner_user, partner, _), event = invited
    invitation = event.cohost_invitations[0]
    stranger, third = make.organizer(org="Third")
    for user in (stranger, host_user):
        for accept in (True, False):
            with pytest.raises(NotFound):
                cohosts.respond(user.id, invitation.uuid, accept)
    login(client, stranger)
    assert client.get(f"/orgs/{third.slug}/cohost-invitations/{invitation.uuid}").status_code == 404
    assert client.get(invitation_url(partner, invitation)).status_code == 403
    answer = submit(client, "/account", {"answer": "accept"}, action=invitation_url(partner, invitation))
    assert answer.status_code == 403
    assert [i.status for i in services.public_event(event.uuid).cohost_invitations] == ["pending"]
    assert services.public_event(event.uuid).cohosts == []
    assert listed_under(anonymous, third) == set() and listed_under(anonymous, partner) == set()


def test_dropping_a_name_withdraws_the_invitation_or_ends_the_cohosting(anonymous, client, make, invited, new_event):
    (host_user, host), (partner_user, partner, _), event = invited
    invitation = event.cohost_invitations[0]
    services.update_event(host_user.id, event.uuid, {"cohosts": []})
    with pytest.raises(NotFound):
        cohosts.respond(partner_user.id, invitation.uuid, True)
    assert cohosts.pending_for(partner_user.id, partner.id) == []

    later = new_event(host_user, host, title="Second rally", cohosts=[partner.slug])
    cohosts.respond(partner_user.id, later.cohost_invitations[0].uuid, True)
    assert listed_under(anonymous, partner) == {"Second rally"}
    services.update_event(host_user.id, later.uuid, {"cohosts": []})
    assert listed_under(anonymous, partner) == set() and not access.can_manage(partner_user.id, later)


def test_a_cohost_may_stop_cohosting_but_never_renames_the_cohosts(anonymous, client, invited):
    (host_user, host), (partner_user, partner, _), event = invited
    invitation = event.cohost_invitations[0]
    cohosts.respond(partner_user.id, invitation.uuid, True)
    assert listed_under(anonymous, partner) == {"Flex rally"}  # the feed is cached now
    with pytest.raises(Forbidden):
        services.update_event(partner_user.id, event.uuid, {"cohosts": []})
    cohosts.respond(partner_user.id, invitation.uuid, False)  # stop co-hosting
    assert listed_under(anonymous, partner) == set() and not access.can_manage(partner_user.id, event)
    assert [(org.slug, status) for org, status in cohosts.answers(event)] == [(partner.slug, "declined")]
