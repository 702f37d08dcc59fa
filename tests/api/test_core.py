from mobilize.people import services as people


def test_entry_point_lists_collections(client):
    body = client.get("/api/v1/").get_json()
    assert body["max_pagesize"] == 100
    assert "osdi:people" in body["_links"]


def test_people_need_a_token(client):
    response = client.get("/api/v1/people")
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "unauthorized"


def test_bad_token_is_401_not_anonymous(client):
    assert client.get("/api/v1/", headers={"OSDI-API-Token": "mbz_forged"}).status_code == 401


def test_organizer_sees_only_people_of_their_organizations(client, make, db):
    alice, alice_org = make.organizer()
    bob, bob_org = make.organizer()
    mine = people.find_or_create_person("supporter@example.org", given_name="Sam")
    people.subscribe(mine, alice_org.id, "Yes, keep me posted")
    theirs = people.find_or_create_person("other@example.org", given_name="Ola")
    people.subscribe(theirs, bob_org.id, "Yes")
    db.session.commit()
    token = make.token(alice)
    body = client.get("/api/v1/people", headers={"OSDI-API-Token": token}).get_json()
    emails = [p["email_addresses"][0]["address"] for p in body["_embedded"]["osdi:people"]]
    assert emails == ["supporter@example.org"]
    other = client.get(f"/api/v1/people/{theirs.uuid}", headers={"OSDI-API-Token": token})
    assert other.status_code == 404


def test_pagination_and_modified_date_filter(client, make, db):
    user, org = make.organizer()
    for n in range(7):
        people.subscribe(people.find_or_create_person(f"p{n}@example.org"), org.id, "Yes")
    db.session.commit()
    headers = {"OSDI-API-Token": make.token(user)}
    page = client.get("/api/v1/people?per_page=3&page=2", headers=headers).get_json()
    assert (page["total_records"], page["total_pages"], len(page["_embedded"]["osdi:people"])) == (7, 3, 3)
    assert "next" in page["_links"] and "prev" in page["_links"]
    past_end = client.get("/api/v1/people?per_page=3&page=9", headers=headers)
    assert past_end.status_code == 200 and past_end.get_json()["_embedded"]["osdi:people"] == []
    future = client.get("/api/v1/people?filter=modified_date gt '2999-01-01T00:00:00Z'", headers=headers).get_json()
    assert future["total_records"] == 0
    past = client.get("/api/v1/people?filter=modified_date gt '2000-01-01T00:00:00Z'", headers=headers).get_json()
    assert past["total_records"] == 7


def test_bad_filter_and_paging_are_clear_4xx(client, make):
    user, _ = make.organizer()
    headers = {"OSDI-API-Token": make.token(user)}
    for query in ("filter=drop table", "filter=email eq 'x'", "filter=modified_date gt 'yesterday'", "page=abc"):
        response = client.get(f"/api/v1/people?{query}", headers=headers)
        assert response.status_code == 422, query
        assert response.get_json()["error"]["message"]


def test_openapi_document_lists_every_endpoint(client, app):
    doc = client.get("/api/v1/openapi.json").get_json()
    assert doc["openapi"].startswith("3.")
    api_rules = {r.rule for r in app.url_map.iter_rules() if r.endpoint.startswith("api.")}
    documented = set(doc["paths"])
    for rule in api_rules - {"/api/v1/openapi.json"}:
        path = rule.replace("<uuid:", "<").replace("<int:", "<").replace("<", "{").replace(">", "}").rstrip("/")
        assert (path or "/api/v1") in documented or path + "/" in documented, rule
