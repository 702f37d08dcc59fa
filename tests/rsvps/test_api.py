"""OSDI attendances over the JSON API, with real tokens."""

from sqlalchemy import func, select

from mobilize.core.models import utcnow
from mobilize.extensions import db
from mobilize.rsvps import services
from mobilize.rsvps.models import Attendance


def api(client, method, path, token, **kwargs):
    return client.open(f"/api/v1{path}", method=method, headers={"OSDI-API-Token": token}, **kwargs)


def person(email="osdi@example.net", **extra):
    return {"given_name": "Olu", "family_name": "Dee", "email_addresses": [{"address": email, "primary": True}],
            "postal_addresses": [{"postal_code": "10001"}], **extra}


def test_record_attendance_helper_honours_capacity_and_waitlist(client, make):
    user, org = make.organizer()
    token = make.token(user)
    event = make.event(org, capacity=2)
    first = api(client, "POST", f"/events/{event.uuid}/attendances", token, json={"person": person(), "guests": 1})
    assert first.status_code == 200, first.get_json()
    body = first.get_json()
    assert body["status"] == "accepted" and body["guests"] == 1
    assert body["timeslots"][0]["identifiers"] == [event.timeslots[0].identifier]
    second = api(client, "POST", f"/events/{event.uuid}/attendances", token,
                 json={"person": person("later@example.net"), "referrer_data": {"source": "crm"}}).get_json()
    assert (second["status"], second["waitlist_position"]) == ("waitlisted", 1)
    assert second["referrer_data"]["source"] == "crm"


def test_record_attendance_again_updates_the_same_attendance(client, make):
    user, org = make.organizer()
    token = make.token(user)
    event = make.event(org)
    for guests in (0, 2):
        api(client, "POST", f"/events/{event.uuid}/attendances", token, json={"person": person(), "guests": guests})
    assert db.session.scalar(select(func.count()).select_from(Attendance)) == 1
    assert db.session.scalar(select(Attendance.guests)) == 2


def test_bad_attendance_input_is_a_json_error(client, make):
    user, org = make.organizer()
    token = make.token(user)
    event, other = make.event(org, slots=2, max_guests=1), make.event(org)
    path = f"/events/{event.uuid}/attendances"
    cases = [
        ({"person": person()}, 422, "timeslots"),
        ({"person": person(), "timeslots": [other.timeslots[0].identifier]}, 422, "timeslots"),
        ({"person": person(), "timeslots": [event.timeslots[0].identifier], "guests": 5}, 422, "guests"),
        ({"person": {"given_name": "x", "email_addresses": []}}, 422, "person.email_addresses"),
    ]
    for body, status, field in cases:
        response = api(client, "POST", path, token, json=body)
        assert response.status_code == status, body
        assert field in response.get_json()["error"]["fields"], response.get_json()
    assert db.session.scalar(select(func.count()).select_from(Attendance)) == 0


def test_attendances_need_a_token_of_the_hosting_organization(client, make, rsvp_to):
    user, org = make.organizer()
    stranger, _ = make.organizer(org="Elsewhere")
    event = make.event(org)
    rsvp_to(event)
    assert client.get(f"/api/v1/events/{event.uuid}/attendances").status_code == 401
    response = api(client, "GET", f"/events/{event.uuid}/attendances", make.token(stranger))
    assert response.status_code == 403
    response = api(client, "POST", f"/events/{event.uuid}/attendances", make.token(stranger),
                   json={"person": person()})
    assert response.status_code == 403


def test_event_and_person_attendance_lists_show_every_status(client, make, rsvp_to):
    user, org = make.organizer()
    token = make.token(user)
    event = make.event(org, capacity=1)
    _, waiting, gone = rsvp_to(event), rsvp_to(event, "w@example.net"), rsvp_to(event)
    services.cancel_rsvp(gone.id)
    body = api(client, "GET", f"/events/{event.uuid}/attendances", token).get_json()
    assert body["total_records"] == 3
    statuses = [a["status"] for a in body["_embedded"]["osdi:attendances"]]
    assert statuses == ["accepted", "waitlisted", "declined"]
    mine = api(client, "GET", f"/people/{waiting.person.uuid}/attendances", token).get_json()
    assert [a["identifiers"] for a in mine["_embedded"]["osdi:attendances"]] == [[waiting.identifier]]


def test_modified_date_filter_sees_promotions(client, make, rsvp_to):
    user, org = make.organizer()
    token = make.token(user)
    event = make.event(org, capacity=1)
    holder, waiting = rsvp_to(event), rsvp_to(event)
    since = utcnow().isoformat().replace("+00:00", "Z")
    services.cancel_rsvp(holder.id)
    body = api(client, "GET", f"/events/{event.uuid}/attendances?filter=modified_date gt '{since}'", token).get_json()
    changed = {a["identifiers"][0]: a["status"] for a in body["_embedded"]["osdi:attendances"]}
    assert changed == {holder.identifier: "declined", waiting.identifier: "accepted"}


def test_put_changes_status_and_attended(client, make, rsvp_to):
    user, org = make.organizer()
    token = make.token(user)
    event = make.event(org, capacity=1)
    attendance = rsvp_to(event)
    path = f"/events/{event.uuid}/attendances/{attendance.uuid}"
    assert api(client, "PUT", path, token, json={"status": "declined"}).get_json()["status"] == "declined"
    assert api(client, "PUT", path, token, json={"status": "accepted"}).get_json()["status"] == "accepted"
    response = api(client, "PUT", path, token, json={"attended": True})
    assert response.status_code == 422 and "started" in response.get_json()["error"]["message"]
    response = api(client, "PUT", path, token, json={"status": "maybe"})
    assert response.status_code == 422
    assert api(client, "GET", path, token).get_json()["status"] == "accepted"


def test_attendance_endpoints_are_in_the_openapi_document(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert {"get", "post"} <= set(paths["/api/v1/events/{event_id}/attendances"])
    assert "put" in paths["/api/v1/events/{event_id}/attendances/{attendance_id}"]
