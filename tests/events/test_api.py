"""The OSDI events API: reading, syncing, writing, and who sees the join link."""

from datetime import timedelta

from mobilize.core.models import utcnow
from mobilize.events import services


def headers(token: str) -> dict:
    return {"OSDI-API-Token": token}


def new_body(**overrides) -> dict:
    day = (utcnow() + timedelta(days=20)).date()
    body = {
        "title": "Phone bank for flex bills", "summary": "Call legislators.", "description": "Scripts *provided*.",
        "event_type": "phone_bank", "timezone_identifier": "America/Denver",
        "start_date": f"{day}T18:00:00", "end_date": f"{day}T20:00:00", "capacity": 25,
        "location": {"venue": "Co-op", "address_lines": ["1 Larimer St"], "locality": "Denver", "region": "CO",
                     "postal_code": "80202", "country": "US"},
        "tags": ["calls"], "identifiers": ["other:1"], "_links": {},
    }
    body.update(overrides)
    return body


def test_create_read_and_list_an_event_with_wall_times_in_its_zone(client, make):
    user, org = make.organizer()
    token = make.token(user)
    response = client.post("/api/v1/events", json=new_body(), headers=headers(token))
    assert response.status_code == 201, response.get_json()
    created = response.get_json()
    assert created["start_date"].endswith(("T18:00:00-07:00", "T18:00:00-06:00"))  # MST, or MDT in summer
    assert created["timezone_identifier"] == "America/Denver" and created["capacity"] == 25
    assert created["timeslots"][0]["max_attendees"] == 25 and created["timeslots"][0]["is_full"] is False
    assert created["location"]["location"]["latitude"] is not None  # from the ZIP code
    assert created["description"] == "<p>Scripts <em>provided</em>.</p>\n"
    assert response.headers["Location"].endswith(created["identifiers"][0].split(":")[1])

    public = client.get(response.headers["Location"]).get_json()
    assert public["title"] == "Phone bank for flex bills" and "virtual_action_url" not in public
    listing = client.get("/api/v1/events").get_json()
    assert listing["total_records"] == 1 and listing["_embedded"]["osdi:events"][0]["title"] == created["title"]
    assert "osdi:events" in client.get("/api/v1/").get_json()["_links"]


def test_an_offset_means_that_instant(client, make):
    user, _ = make.organizer()
    day = (utcnow() + timedelta(days=20)).date()
    body = new_body(start_date=f"{day}T23:00:00Z", end_date=f"{day}T23:30:00Z", timezone_identifier="Asia/Tokyo")
    created = client.post("/api/v1/events", json=body, headers=headers(make.token(user))).get_json()
    assert created["start_date"] == f"{day + timedelta(days=1)}T08:00:00+09:00"


def test_join_link_and_private_details_only_for_the_owning_organization(client, make):
    user, org = make.organizer()
    stranger, _ = make.organizer(org="Elsewhere")
    body = new_body(is_virtual=True, virtual_action_url="https://meet.example.org/room-77",
                    instructions="Code 9911", contact={"email_address": "host@example.org", "name": "Host"})
    created = client.post("/api/v1/events", json=body, headers=headers(make.token(user))).get_json()
    url = created["_links"]["self"]["href"]
    assert created["virtual_action_url"] == "https://meet.example.org/room-77"
    for reader in ({}, headers(make.token(stranger))):
        seen = client.get(url, headers=reader).get_data(as_text=True)
        assert "room-77" not in seen and "9911" not in seen and "host@example.org" not in seen
        listed = client.get("/api/v1/events", headers=reader).get_data(as_text=True)
        assert "room-77" not in listed and "host@example.org" not in listed
    assert client.get(url, headers=headers(make.token(user))).get_json()["instructions"] == "Code 9911"


def test_update_cancel_and_delete_stay_visible_to_incremental_sync(client, make):
    user, org = make.organizer()
    token = make.token(user)
    created = client.post("/api/v1/events", json=new_body(), headers=headers(token)).get_json()
    url = created["_links"]["self"]["href"]
    mark = created["modified_date"]
    day = (utcnow() + timedelta(days=21)).date()
    changed = client.put(url, json={"start_date": f"{day}T17:00:00", "end_date": f"{day}T19:00:00"},
                         headers=headers(token)).get_json()
    assert changed["sequence"] == 1 and changed["timeslots"][0]["id"] == created["timeslots"][0]["id"]
    assert changed["capacity"] == 25 and changed["title"] == created["title"]

    renamed = client.put(url, json={"title": "Renamed"}, headers=headers(token)).get_json()
    assert renamed["title"] == "Renamed" and renamed["sequence"] == 1  # a title is not significant

    assert client.put(url, json={"status": "cancelled"}, headers=headers(token)).get_json()["status"] == "cancelled"
    synced = client.get(f"/api/v1/events?filter=modified_date gt '{mark}'").get_json()
    assert [e["status"] for e in synced["_embedded"]["osdi:events"]] == ["cancelled"]

    assert client.delete(url, headers=headers(token)).status_code == 200
    assert client.get(url).status_code == 404
    gone = client.get("/api/v1/events", headers=headers(token)).get_json()["_embedded"]["osdi:events"]
    assert gone[0]["status"] == "deleted" and "title" not in gone[0]


def test_bad_input_gets_field_errors_never_a_500(client, make):
    user, _ = make.organizer()
    token = make.token(user)
    cases = [
        ({"timezone_identifier": "Moon/Tranquility"}, "timezone"),
        ({"timezone_identifier": None}, "timezone_identifier"),
        ({"end_date": "2020-01-01T00:00:00"}, "timeslots-0-end"),
        ({"start_date": "next tuesday"}, "start_date"),
        ({"event_type": "picnic"}, "event_type"),
        ({"description": "x" * 30_000}, "description"),
        ({"title": "<script>alert(1)</script>", "featured_image_url": "javascript:alert(1)"}, "featured_image_url"),
        ({"capacity": -3}, "capacity"),
        ({"location": {"postal_code": "00000", "country": "US"}}, "postal_code"),
        ({"title": "bad\x00byte", "location": {"location": {"latitude": 123, "longitude": 0}}}, "latitude"),
    ]
    for overrides, field in cases:
        response = client.post("/api/v1/events", json=new_body(**overrides), headers=headers(token))
        assert response.status_code == 422, (overrides, response.status_code)
        assert field in response.get_json()["error"]["fields"], (overrides, response.get_json())
    assert client.post("/api/v1/events", data="x" * 5_000_000, headers=headers(token),
                       content_type="application/json").status_code == 413
    assert client.post("/api/v1/events", json=new_body()).status_code == 401
    assert client.get("/api/v1/events").get_json()["total_records"] == 0


def test_another_organizations_token_cannot_change_or_see_private_events(client, make, new_event):
    user, org = make.organizer()
    event = new_event(user, org, visibility="private")
    stranger, _ = make.organizer(org="Elsewhere")
    token = make.token(stranger)
    url = f"/api/v1/events/{event.uuid}"
    assert client.get(url, headers=headers(token)).status_code == 404
    assert client.put(url, json={"title": "Hijacked"}, headers=headers(token)).status_code == 404
    assert client.delete(url, headers=headers(token)).status_code == 404
    assert client.get("/api/v1/events", headers=headers(token)).get_json()["total_records"] == 0
    assert services.public_event(event.uuid, user.id).title == "Flex Friday meetup"
    assert client.get(url, headers=headers(make.token(user))).get_json()["visibility"] == "private"
