"""Co-hosting over the OSDI API: naming a co-host invites it there too; it co-hosts once it accepts."""

from sqlalchemy import select

from mobilize.events import cohosts
from mobilize.events.models import CohostInvitation
from mobilize.extensions import db
from tests.events.test_api import headers, new_body


def invitation_uuid():
    return db.session.scalar(select(CohostInvitation.uuid))


def test_naming_a_cohost_over_the_api_invites_it_and_grants_nothing_until_it_accepts(
        client, make, send_queued_mail, smtp_server):
    user, org = make.organizer(org="Host")
    partner_user, partner = make.organizer(org="Partner")
    token, partner_token = make.token(user), make.token(partner_user)
    body = new_body(visibility="private", cohost_organizations=[partner.slug])
    created = client.post("/api/v1/events", json=body, headers=headers(token)).get_json()
    url = created["_links"]["self"]["href"]
    assert created["cohost_organizations"] == []
    assert [(i["organization"], i["status"]) for i in created["cohost_invitations"]] == [(partner.slug, "pending")]
    assert created["cohost_invitations"][0]["responded_date"] is None
    send_queued_mail()
    assert len(smtp_server.to(partner_user.email)) == 1

    assert client.get(url, headers=headers(partner_token)).status_code == 404
    assert client.put(url, json={"title": "Ours"}, headers=headers(partner_token)).status_code == 404
    assert client.get("/api/v1/events", headers=headers(partner_token)).get_json()["total_records"] == 0

    again = client.put(url, json={"title": "Renamed", "cohost_organizations": [partner.slug]}, headers=headers(token))
    assert again.get_json()["cohost_invitations"][0]["status"] == "pending"
    assert send_queued_mail() == 0  # still the one invitation, not a second mail

    cohosts.respond(partner_user.id, invitation_uuid(), accept=True)
    seen = client.get(url, headers=headers(partner_token)).get_json()
    assert seen["cohost_organizations"] == [partner.slug] and seen["cohost_invitations"] == []
    assert client.put(url, json={"title": "Co-hosted"}, headers=headers(partner_token)).status_code == 200
    assert client.get("/api/v1/events", headers=headers(partner_token)).get_json()["total_records"] == 1


def test_declined_invitations_show_to_the_host_only_and_a_cohost_cannot_rename_the_cohosts(client, make):
    user, org = make.organizer(org="Host")
    partner_user, partner = make.organizer(org="Partner")
    token = make.token(user)
    created = client.post("/api/v1/events", json=new_body(cohost_organizations=[partner.slug]),
                          headers=headers(token)).get_json()
    url = created["_links"]["self"]["href"]
    cohosts.respond(partner_user.id, invitation_uuid(), accept=False)
    declined = client.get(url, headers=headers(token)).get_json()["cohost_invitations"]
    assert [(i["organization"], i["status"]) for i in declined] == [(partner.slug, "declined")]
    assert declined[0]["responded_date"] is not None
    public = client.get(url).get_json()
    assert public["cohost_organizations"] == [] and "cohost_invitations" not in public
    assert client.get(url, headers=headers(make.token(partner_user))).get_json().get("cohost_invitations") is None

    cohosts.respond(partner_user.id, invitation_uuid(), accept=True)  # it changes its mind after all
    response = client.put(url, json={"cohost_organizations": []}, headers=headers(make.token(partner_user)))
    assert response.status_code == 403
    assert client.get(url).get_json()["cohost_organizations"] == [partner.slug]


def test_the_openapi_document_says_how_cohosts_are_invited(client):
    schema = client.get("/api/v1/openapi.json").get_json()["components"]["schemas"]["EventIn"]
    description = schema["properties"]["cohost_organizations"]["description"]
    assert "invited" in description and "cohost_invitations" in description
