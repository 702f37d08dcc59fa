from mobilize.accounts import services
from tests.support.session import login
from tests.support.web import submit


def test_sign_up_form_creates_account_and_logs_in(client):
    response = submit(client, "/signup", {"name": "Maya", "email": "maya@example.org",
                                          "password": "long enough password", "organization": "Flex Now"})
    assert response.status_code == 302
    dashboard = client.get("/account").get_data(as_text=True)
    assert "Hello, Maya" in dashboard and "Flex Now" in dashboard


def test_sign_up_form_shows_field_errors(client):
    response = submit(client, "/signup", {"name": "", "email": "not-an-email", "password": "short",
                                          "organization": "X"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'aria-invalid="true"' in html and "Invalid email address" in html


def test_duplicate_sign_up_is_a_form_error_not_a_500(client, make):
    user, _ = make.organizer(email="taken@example.org")
    response = submit(client, "/signup", {"name": "Again", "email": "taken@example.org",
                                          "password": "long enough password", "organization": "Other"})
    assert response.status_code == 200
    assert "already exists" in response.get_data(as_text=True)


def test_post_without_csrf_token_is_refused(client):
    response = client.post("/signup", data={"name": "A", "email": "a@example.org", "password": "x" * 12,
                                            "organization": "Org"})
    assert response.status_code == 400
    assert "form expired" in response.get_data(as_text=True)


def test_wrong_password_shows_message(client, make):
    user, _ = make.organizer()
    response = submit(client, "/login", {"email": user.email, "password": "wrong password here"})
    assert "do not match" in response.get_data(as_text=True)


def test_login_ignores_offsite_next(client, make):
    user, _ = make.organizer()
    page = client.get("/login?next=https://evil.example/")
    from tests.support.web import csrf_token_from

    response = client.post("/login?next=https://evil.example/", data={
        "csrf_token": csrf_token_from(page.get_data(as_text=True)), "email": user.email,
        "password": "correct horse battery"})
    assert response.headers["Location"] == "/account"


def test_dashboard_requires_login(client):
    response = client.get("/account")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_logout_is_a_post_with_csrf(client, make):
    user, _ = make.organizer()
    login(client, user)
    assert client.get("/logout").status_code == 405
    submit(client, "/account", {}, action="/logout")
    assert client.get("/account").status_code == 302


def test_organizer_cannot_open_another_organizations_settings(client, make):
    alice, alice_org = make.organizer()
    bob, _ = make.organizer()
    login(client, bob)
    assert client.get(f"/orgs/{alice_org.slug}/manage").status_code == 403
    response = submit(client, "/account", {"email": bob.email}, action=f"/orgs/{alice_org.slug}/members")
    assert response.status_code == 302
    assert services.organizations_for(bob.id)[0].id != alice_org.id
    assert [m.user_id for m in alice_org.memberships] == [alice.id]


def test_api_token_created_and_revoked_in_account_page(client, make, db):
    user, _ = make.organizer()
    login(client, user)
    created = submit(client, "/account", {"name": "CRM sync"}, action="/account/tokens")
    raw = created.get_data(as_text=True).split('id="new-token">')[1].split("<")[0]
    assert client.get("/api/v1/people", headers={"OSDI-API-Token": raw}).status_code == 200
    token_id = services.api_tokens_for(user.id)[0].id
    submit(client, "/account", {}, action=f"/account/tokens/{token_id}/revoke")
    assert client.get("/api/v1/people", headers={"OSDI-API-Token": raw}).status_code == 401


def test_password_reset_through_the_forms(client, make, send_queued_mail, smtp_server):
    user, _ = make.organizer()
    response = submit(client, "/password/forgot", {"email": user.email})
    assert response.status_code == 302
    send_queued_mail()
    link = smtp_server.wait_for(1, to=user.email)[0].as_string().split("http://mobilize.test")[1].split()[0]
    response = submit(client, link, {"password": "fresh password 123", "confirm": "fresh password 123"})
    assert response.status_code == 302
    assert services.authenticate(user.email, "fresh password 123").id == user.id


def test_login_attempts_are_rate_limited_with_a_clear_429(client, make):
    user, _ = make.organizer()
    statuses = [submit(client, "/login", {"email": user.email, "password": "wrong password x"}).status_code
                for _ in range(21)]
    assert statuses[:20] == [200] * 20
    assert statuses[20] == 429
    limited = submit(client, "/login", {"email": user.email, "password": "wrong password x"})
    assert "Too many requests" in limited.get_data(as_text=True)
    assert limited.headers.get("Retry-After")
