from sqlalchemy import func, select

from mobilize.core.models import OutboundMail
from mobilize.petitions import tasks
from mobilize.petitions.models import Signature

TOKEN = "OSDI-API-Token"


def person(email="ana@example.org", **fields):
    return {"given_name": "Ana", "family_name": "Souza", "email_addresses": [{"address": email, "primary": True}],
            "postal_addresses": [{"postal_code": "94110", "country": "US"}], **fields}


def test_petitions_are_public_with_their_count_and_targets(client, db, petitions):
    petition = petitions.petition()
    petitions.petition(title="Hidden draft", status="draft")
    petitions.confirmed(petition, "a@example.org")
    tasks.count_signatures()
    db.session.expire_all()
    body = client.get("/api/v1/petitions").get_json()
    [item] = body["_embedded"]["osdi:petitions"]
    assert item["identifiers"] == [f"mobilize:{petition.uuid}"]
    assert item["total_signatures"] == 1 and item["target"] == [{"name": "Jane Doe, CEO, Acme Co"}]
    assert item["browser_url"] == f"http://mobilize.test/petitions/{petition.slug}"
    assert "jane@acme.example" not in str(item)
    one = client.get(f"/api/v1/petitions/{petition.uuid}").get_json()
    assert one["title"] == petition.title and one["_links"]["osdi:signatures"]["href"].endswith("/signatures")
    assert "osdi:petitions" in client.get("/api/v1/").get_json()["_links"]


def test_organizers_see_their_drafts_and_filter_by_status(client, petitions, make):
    draft = petitions.petition(title="Draft", status="draft")
    token = make.token(draft.organizer)
    titles = [p["title"] for p in client.get("/api/v1/petitions", headers={TOKEN: token})
              .get_json()["_embedded"]["osdi:petitions"]]
    assert titles == ["Draft"]
    filtered = client.get("/api/v1/petitions?filter=status eq 'open'", headers={TOKEN: token}).get_json()
    assert filtered["total_records"] == 0


def test_signatures_are_for_the_petitions_organizers_only(client, petitions, make):
    petition = petitions.petition()
    petitions.sign(petition, "pending@example.org")
    petitions.confirmed(petition, "done@example.org")
    url = f"/api/v1/petitions/{petition.uuid}/signatures"
    assert client.get(url).status_code == 401
    outsider, _ = make.organizer()
    assert client.get(url, headers={TOKEN: make.token(outsider)}).status_code == 403
    body = client.get(url, headers={TOKEN: make.token(petition.organizer)}).get_json()
    statuses = sorted(s["status"] for s in body["_embedded"]["osdi:signatures"])
    assert body["total_records"] == 2 and statuses == ["confirmed", "pending"]
    one = body["_embedded"]["osdi:signatures"][0]
    assert client.get(one["_links"]["self"]["href"], headers={TOKEN: make.token(petition.organizer)}).status_code == 200


def test_anonymous_clients_cannot_sign_through_the_api_nor_make_it_mail_anyone(client, db, petitions, smtp_server):
    petition = petitions.petition()
    url = f"/api/v1/petitions/{petition.uuid}/signatures"
    response = client.post(url, json={"person": person("victim@example.org"), "comments": "Yes!"})
    assert response.status_code == 401 and response.get_json()["error"]["code"] == "unauthorized"
    assert db.session.scalar(select(func.count()).select_from(Signature)) == 0
    assert db.session.scalar(select(func.count()).select_from(OutboundMail)) == 0
    operation = client.get("/api/v1/openapi.json").get_json()["paths"][
        "/api/v1/petitions/{petition_id}/signatures"]["post"]
    assert operation["security"] and "page or widget" in operation["summary"]


def test_record_signature_with_a_token_mails_the_confirmation_link_unless_confirmed(client, db, petitions, make):
    petition = petitions.petition()
    url = f"/api/v1/petitions/{petition.uuid}/signatures"
    headers = {TOKEN: make.token(petition.organizer)}
    for status in (201, 200):
        response = client.post(url, json={"person": person(), "comments": "Yes!"}, headers=headers)
        assert response.status_code == status and response.get_json()["status"] == "pending"
    [signature] = db.session.scalars(select(Signature)).all()
    assert signature.status == "pending" and signature.source == "api" and signature.comment == "Yes!"
    assert db.session.scalar(select(func.count()).select_from(OutboundMail)) == 1


def test_record_signature_with_the_organizations_token_may_mark_it_confirmed(client, db, petitions, make):
    petition = petitions.petition()
    url = f"/api/v1/petitions/{petition.uuid}/signatures"
    headers = {TOKEN: make.token(petition.organizer)}
    created = client.post(url, json={"person": person(), "confirmed": True}, headers=headers)
    assert created.status_code == 201
    body = created.get_json()
    assert body["status"] == "confirmed" and body["confirmed_via"] == "organization"
    again = client.post(url, json={"person": person("ANA@example.org")}, headers=headers)
    assert again.status_code == 200 and again.get_json()["identifiers"] == body["identifiers"]
    assert db.session.scalar(select(func.count()).select_from(OutboundMail)) == 0
    people = client.get("/api/v1/people", headers=headers).get_json()["_embedded"]["osdi:people"]
    assert [p["email_addresses"][0]["address"] for p in people] == ["ana@example.org"]
    person_id = people[0]["identifiers"][0].split(":")[1]
    mine = client.get(f"/api/v1/people/{person_id}/signatures", headers=headers).get_json()
    assert mine["total_records"] == 1


def test_record_signature_refuses_bad_input_and_untrusted_confirmation(client, db, petitions, make):
    petition = petitions.petition()
    url = f"/api/v1/petitions/{petition.uuid}/signatures"
    headers = {TOKEN: make.token(petition.organizer)}
    bad = client.post(url, json={"person": person("not-an-email")}, headers=headers)
    assert bad.status_code == 422 and "email" in bad.get_json()["error"]["fields"]
    missing = client.post(url, json={"person": {"given_name": "Ana"}}, headers=headers)
    assert missing.status_code == 422 and "person.email_addresses" in missing.get_json()["error"]["fields"]
    outsider, _ = make.organizer()
    outsiders = {TOKEN: make.token(outsider)}
    assert client.post(url, json={"person": person(), "confirmed": True}, headers=outsiders).status_code == 403
    assert client.post(url, json={"person": person()}, headers=outsiders).status_code == 403
    assert client.post(url, data="not json", content_type="application/json", headers=headers).status_code == 422
    assert db.session.scalar(select(func.count()).select_from(Signature)) == 0


def test_record_signature_on_a_closed_or_draft_petition(client, petitions, make):
    closed = petitions.petition(title="Closed", status="closed")
    draft = petitions.petition(title="Draft", status="draft")
    headers = {TOKEN: make.token(closed.organizer)}
    closed_response = client.post(f"/api/v1/petitions/{closed.uuid}/signatures", json={"person": person()},
                                  headers=headers)
    assert closed_response.status_code == 409 and closed_response.get_json()["error"]["code"] == "conflict"
    assert client.post(f"/api/v1/petitions/{draft.uuid}/signatures", json={"person": person()},
                       headers={TOKEN: make.token(draft.organizer)}).status_code == 404


def test_the_openapi_document_lists_the_petition_endpoints(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert any("petitions" in path and "signatures" in path for path in paths)
