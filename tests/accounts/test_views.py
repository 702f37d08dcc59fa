import re

import pytest
from flask import g
from flask.testing import FlaskClient
from sqlalchemy import select

from mobilize.accounts import services, throttle
from mobilize.accounts.models import User
from mobilize.extensions import db
from tests.support.factories import PASSWORD
from tests.support.infra import body_text
from tests.support.session import login
from tests.support.web import csrf_token_from, submit


class Browser(FlaskClient):
    """A test client standing for a browser of its own. Flask-Login and Flask-WTF keep the request's user
    and CSRF token in ``g``, which every request in the test's app context shares: each request here
    starts without them, as it would in a server."""

    def open(self, *args, **kwargs):
        g.pop("_login_user", None)
        g.pop("csrf_token", None)
        return super().open(*args, **kwargs)


def browser(app, address: str = "127.0.0.1") -> Browser:
    client = Browser(app, app.response_class, use_cookies=True)
    client.environ_base["REMOTE_ADDR"] = address
    return client


@pytest.fixture
def client(app):
    return browser(app)


def _users() -> list[str]:
    return list(db.session.scalars(select(User.email).order_by(User.id)))


def mailed_link(smtp_server, to: str, path: str) -> str:
    """The path of the link to ``path`` in the last message to ``to``."""
    message = smtp_server.wait_for(1, to=to)[-1]
    return re.search(rf"http://mobilize\.test({re.escape(path)}\S+)", body_text(message)).group(1)


def test_sign_up_mails_a_link_where_the_password_is_chosen_and_the_account_made(client, send_queued_mail,
                                                                              smtp_server):
    response = submit(client, "/signup", {"name": "Maya", "email": "Maya@Example.org", "organization": "Flex Now"})
    assert response.status_code == 302 and response.headers["Location"] == "/signup/sent"
    assert "Check your inbox" in client.get("/signup/sent").get_data(as_text=True)
    assert _users() == []
    send_queued_mail()
    link = mailed_link(smtp_server, "maya@example.org", "/signup/finish/")
    assert "maya@example.org" in client.get(link).get_data(as_text=True)
    response = submit(client, link, {"password": "long enough password", "confirm": "long enough password"})
    assert response.status_code == 302 and response.headers["Location"] == "/account"
    dashboard = client.get("/account").get_data(as_text=True)
    assert "Hello, Maya" in dashboard and "Flex Now" in dashboard
    used = client.get(link)
    assert used.status_code == 409 and "already has an account" in used.get_data(as_text=True)


def test_sign_up_form_shows_field_errors(client):
    response = submit(client, "/signup", {"name": "", "email": "not-an-email", "organization": "X"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'aria-invalid="true"' in html and "Invalid email address" in html


def test_sign_up_answers_the_same_for_a_taken_email_and_mails_its_owner(app, make, send_queued_mail, smtp_server):
    owner, _ = make.organizer(email="taken@example.org")
    answers = []
    for email in ("new@example.org", "Taken@example.org"):
        client = browser(app)
        posted = submit(client, "/signup", {"name": "Someone", "email": email, "organization": "Other"})
        page = client.get(posted.headers["Location"])
        answers.append((posted.status_code, posted.headers["Location"], posted.get_data(), page.status_code,
                        page.get_data()))
    assert answers[0] == answers[1]
    assert _users() == [owner.email]

    send_queued_mail()
    [note] = smtp_server.wait_for(1, to="taken@example.org")
    assert "tried to sign up" in note["Subject"]
    assert "/login" in body_text(note)
    reset = mailed_link(smtp_server, "taken@example.org", "/password/reset/")
    response = submit(browser(app), reset, {"password": "fresh password 123", "confirm": "fresh password 123"})
    assert response.status_code == 302
    assert "/signup/finish/" in body_text(smtp_server.wait_for(1, to="new@example.org")[0])


def test_sign_up_is_rate_limited_per_ip(client, app):
    statuses = [submit(client, "/signup", {"name": "Bot", "email": f"bot{n}@example.org", "organization": "Spam"})
                .status_code for n in range(6)]
    assert statuses == [302] * 5 + [429]
    elsewhere = browser(app)
    elsewhere.environ_base["REMOTE_ADDR"] = "10.0.0.9"
    assert submit(elsewhere, "/signup", {"name": "A", "email": "a@example.org", "organization": "Org"}).status_code \
        == 302


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


def test_password_reset_through_the_forms_logs_out_every_session(app, client, make, send_queued_mail,
                                                                 smtp_server):
    user, _ = make.organizer()
    elsewhere = browser(app)
    submit(elsewhere, "/login", {"email": user.email, "password": PASSWORD, "remember": "y"})
    assert elsewhere.get("/account").status_code == 200
    response = submit(client, "/password/forgot", {"email": user.email})
    assert response.status_code == 302
    send_queued_mail()
    link = mailed_link(smtp_server, user.email, "/password/reset/")
    response = submit(client, link, {"password": "fresh password 123", "confirm": "fresh password 123"})
    assert response.status_code == 302
    assert services.authenticate(user.email, "fresh password 123").id == user.id
    assert elsewhere.get("/account").status_code == 302
    elsewhere.delete_cookie("session")
    assert elsewhere.get_cookie("remember_token") is not None
    assert elsewhere.get("/account").status_code == 302


def test_login_attempts_are_rate_limited_per_ip_with_a_clear_429(client):
    statuses = [submit(client, "/login", {"email": f"nobody{n}@example.org", "password": "wrong password x"})
                .status_code for n in range(21)]
    assert statuses[:20] == [200] * 20
    assert statuses[20] == 429
    limited = submit(client, "/login", {"email": "someone@example.org", "password": "wrong password x"})
    assert "Too many requests" in limited.get_data(as_text=True)
    assert limited.headers.get("Retry-After")


def _fail_from_many_ips(app, email: str, times: int) -> list[int]:
    return [submit(browser(app, f"10.1.0.{n}"), "/login", {"email": email, "password": "wrong password x"})
            .status_code for n in range(times)]


def test_login_slows_down_per_account_across_ips_and_alike_for_unknown_emails(app, make):
    user, _ = make.organizer()
    answers = []
    for email in (user.email, "nobody@example.org"):
        assert _fail_from_many_ips(app, email, throttle.SLOW_AFTER) == [200] * throttle.SLOW_AFTER
        client = browser(app, "10.2.0.1")
        response = submit(client, "/login", {"email": email, "password": PASSWORD})
        html = response.get_data(as_text=True)
        assert "Try again in" in html
        assert 1 <= int(response.headers["Retry-After"]) <= 2
        assert client.get("/account").status_code == 302
        answers.append((response.status_code, re.search(r"Too many[^<]*", html).group()))
    assert answers[0] == answers[1] and answers[0][0] == 429


def test_successful_login_forgets_the_failures(app, make):
    user, _ = make.organizer()
    _fail_from_many_ips(app, user.email, throttle.SLOW_AFTER - 1)
    login(browser(app, "10.2.0.1"), user)
    assert _fail_from_many_ips(app, user.email, throttle.SLOW_AFTER) == [200] * throttle.SLOW_AFTER


def test_login_lock_mails_the_owner_once_and_a_reset_lifts_it(app, make, monkeypatch, send_queued_mail,
                                                               smtp_server):
    monkeypatch.setattr(throttle, "SLOW_AFTER", throttle.LOCK_AFTER)  # no waits on the way to the lock
    user, _ = make.organizer()
    assert _fail_from_many_ips(app, user.email, throttle.LOCK_AFTER) == [200] * throttle.LOCK_AFTER
    for n in range(3):
        locked = submit(browser(app, f"10.3.0.{n}"), "/login", {"email": user.email, "password": PASSWORD})
        assert locked.status_code == 429 and "Try again in 15 minutes" in locked.get_data(as_text=True)

    assert send_queued_mail() == 1
    [mail] = smtp_server.wait_for(1, to=user.email)
    assert "trying to log in" in mail["Subject"]
    link = mailed_link(smtp_server, user.email, "/password/reset/")
    client = browser(app, "10.4.0.1")
    submit(client, link, {"password": "fresh password 123", "confirm": "fresh password 123"})
    login(client, user, "fresh password 123")


def test_password_change_ends_other_sessions_and_remember_me_cookies_but_not_this_one(app, client, make):
    user, _ = make.organizer()
    login(client, user)
    other = browser(app)
    submit(other, "/login", {"email": user.email, "password": PASSWORD, "remember": "y"})
    remembered = browser(app)
    remembered.set_cookie("remember_token", other.get_cookie("remember_token").value)
    assert remembered.get("/account").status_code == 200

    response = submit(client, "/account/password", {"current_password": PASSWORD, "password": "a new password 42",
                                                    "confirm": "a new password 42"})
    assert response.status_code == 302 and response.headers["Location"] == "/account"
    assert client.get("/account").status_code == 200
    fresh = browser(app)
    fresh.set_cookie("remember_token", other.get_cookie("remember_token").value)
    for stale in (other, remembered, fresh):
        assert stale.get("/account").status_code == 302
    login(other, user, "a new password 42")


def test_password_change_needs_the_current_password_and_a_long_new_one(client, make):
    user, _ = make.organizer()
    login(client, user)
    response = submit(client, "/account/password", {"current_password": PASSWORD, "password": "short",
                                                    "confirm": "short"})
    assert response.status_code == 200 and 'aria-invalid="true"' in response.get_data(as_text=True)
    response = submit(client, "/account/password", {"current_password": "not my password",
                                                    "password": "long enough now", "confirm": "long enough now"})
    assert "Not your current password" in response.get_data(as_text=True)
    assert services.authenticate(user.email, PASSWORD).id == user.id
