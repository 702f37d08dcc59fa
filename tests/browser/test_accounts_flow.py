"""An organizer signs up, logs in and changes their password, in a real Chromium against a real gunicorn."""

import re

import pytest

from tests.support.factories import PASSWORD
from tests.support.infra import body_text
from tests.support.session import log_in_browser

pytestmark = pytest.mark.browser


def test_organizer_signs_up_by_mail_logs_out_and_logs_in(page, live_server, send_queued_mail, smtp_server):
    page.goto(live_server + "/signup")
    page.get_by_label("Your name").fill("Maya Okafor")
    page.get_by_label("Email").fill("maya-browser@example.org")
    page.get_by_label("Organization").fill("Flex Browser Org")
    page.get_by_role("button", name="Create account").click()
    page.get_by_role("heading", name="Check your inbox to finish").wait_for()
    page.screenshot(path="test-artifacts/signup_sent.png", full_page=True)

    send_queued_mail()
    [message] = smtp_server.wait_for(1, to="maya-browser@example.org")
    page.goto(re.search(r"(http://\S+/signup/finish/\S+)", body_text(message)).group(1))
    page.get_by_label("Choose a password").fill("a long enough password")
    page.get_by_label("Repeat it").fill("a long enough password")
    page.screenshot(path="test-artifacts/signup_finish.png", full_page=True)
    page.get_by_role("button", name="Create account").click()
    page.wait_for_url("**/account")
    assert page.get_by_role("heading", name="Hello, Maya Okafor").is_visible()
    assert page.get_by_text("Flex Browser Org").first.is_visible()

    page.get_by_role("button", name="Log out").click()
    page.goto(live_server + "/login")
    page.get_by_label("Email").fill("maya-browser@example.org")
    page.get_by_label("Password").fill("a long enough password")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/account")
    assert page.get_by_role("heading", name="Hello, Maya Okafor").is_visible()


def test_login_form_shows_error_on_phone(browser, live_server):
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    page = context.new_page()
    page.goto(live_server + "/login")
    page.get_by_label("Email").fill("nobody@example.org")
    page.get_by_label("Password").fill("wrong password")
    page.get_by_role("button", name="Log in").click()
    assert page.get_by_role("alert").get_by_text("do not match").is_visible()
    page.screenshot(path="test-artifacts/login_error_phone.png", full_page=True)
    context.close()


def test_password_change_on_phone_keeps_this_session(browser, live_server, make):
    user, _ = make.organizer(name="Dev Patel")
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    page = context.new_page()
    log_in_browser(page, live_server, user.email)
    page.get_by_role("link", name="Change your password").click()
    page.get_by_label("Current password").fill(PASSWORD)
    page.get_by_label("New password").fill("a brand new password")
    page.get_by_label("Repeat it").fill("a brand new password")
    page.screenshot(path="test-artifacts/password_change_phone.png", full_page=True)
    page.get_by_role("button", name="Change password").click()
    page.wait_for_url("**/account")
    assert page.get_by_text("Every other device is logged out").is_visible()
    page.reload()
    assert page.get_by_role("heading", name="Hello, Dev Patel").is_visible()
    context.close()
