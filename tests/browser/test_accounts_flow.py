"""An organizer signs up and logs in, in a real Chromium against a real gunicorn."""

import pytest

pytestmark = pytest.mark.browser


def test_organizer_signs_up_logs_out_and_logs_in(page, live_server):
    page.goto(live_server + "/signup")
    page.get_by_label("Your name").fill("Maya Okafor")
    page.get_by_label("Email").fill("maya-browser@example.org")
    page.get_by_label("Password").fill("a long enough password")
    page.get_by_label("Organization").fill("Flex Browser Org")
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
