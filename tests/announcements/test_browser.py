"""An organizer schedules an announcement, and a supporter unsubscribes, in a real Chromium."""

import pytest

from mobilize.core.models import utcnow
from tests.announcements.conftest import unsubscribe_token
from tests.support.session import log_in_browser

pytestmark = pytest.mark.browser

SHOTS = "test-artifacts"


def test_organizer_writes_schedules_previews_and_lists_an_announcement(page, live_server, make, announcements):
    user, org = make.organizer()
    announcements.supporters(org, 12)
    make.event(org, title="Flex Friday: remote work town hall")
    log_in_browser(page, live_server, user.email)

    page.get_by_role("link", name="Announcements").first.click()
    page.wait_for_url(f"**/orgs/{org.slug}/announcements")
    assert page.get_by_role("heading", name="No announcements yet").is_visible()
    page.screenshot(path=f"{SHOTS}/announcements_empty.png", full_page=True)

    page.get_by_role("button", name="New announcement").click()
    page.get_by_label("Subject").fill("Town hall this Friday: bring a coworker")
    page.get_by_label("Message").fill(
        "Hi friends,\n\nOur **remote work town hall** is this Friday. City council members will be there to "
        "listen.\n\n- Share your story in two minutes\n- Bring a coworker who wants flexible hours\n\n"
        "See you there!")
    page.get_by_label("Link to").select_option(label="Event: Flex Friday: remote work town hall")
    page.get_by_label("Send at").fill(f"{utcnow().year + 1}-03-20T09:30")
    page.get_by_label("Time zone").fill("America/Chicago")
    page.screenshot(path=f"{SHOTS}/announcement_form.png", full_page=True)
    page.get_by_role("button", name="Schedule").click()

    page.wait_for_url(f"**/orgs/{org.slug}/announcements/*")
    assert page.get_by_text("Scheduled for").is_visible()
    assert page.get_by_text("9:30 AM CDT").first.is_visible()
    assert page.get_by_text("12 supporters match right now").is_visible()
    page.screenshot(path=f"{SHOTS}/announcement_preview.png", full_page=True)

    sent = announcements.start(announcements.announcement(user, org, subject="Thank you for signing!"))
    announcements.send_all(sent)
    announcements.announcement(user, org, subject="Save the date: Labor Day rally", schedule=False, send_local=None)
    page.get_by_role("link", name="Announcements").first.click()
    assert page.get_by_role("cell", name="Scheduled").is_visible()
    assert page.get_by_role("row", name="Thank you for signing!").get_by_text("12", exact=True).is_visible()
    page.screenshot(path=f"{SHOTS}/announcements_list.png", full_page=True)


def test_form_on_a_phone_shows_errors_beside_the_fields(browser, live_server, make):
    user, org = make.organizer()
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    page = context.new_page()
    log_in_browser(page, live_server, user.email)
    page.goto(f"{live_server}/orgs/{org.slug}/announcements/new")
    page.get_by_label("Subject").fill("Sign before Monday")
    page.get_by_label("Message").fill("We are close to the goal.")
    page.get_by_label("Send at").fill("2020-01-01T09:00")
    page.get_by_label("Only supporters near ZIP code").fill("00000")
    page.get_by_role("button", name="Schedule").click()
    assert page.get_by_text("Choose a time in the future.").is_visible()
    assert page.get_by_text("Enter a US ZIP code, like 62701.").is_visible()
    page.screenshot(path=f"{SHOTS}/announcement_form_errors_phone.png", full_page=True)
    context.close()


def test_supporter_unsubscribes_from_the_page(page, live_server, make, announcements):
    _, org = make.organizer(org="Working Parents United")
    (fan,) = announcements.supporters(org, 1)
    page.goto(f"{live_server}/unsubscribe/{unsubscribe_token(fan, org)}")
    assert page.get_by_role("heading", name=f"Unsubscribe from {org.name}?").is_visible()
    page.screenshot(path=f"{SHOTS}/unsubscribe_confirm.png", full_page=True)

    page.get_by_role("button", name="Unsubscribe").click()
    assert page.get_by_role("heading", name="You’re unsubscribed").is_visible()
    page.screenshot(path=f"{SHOTS}/unsubscribe_done.png", full_page=True)
