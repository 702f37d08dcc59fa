"""A supporter finds an event near a ZIP code and opens it; an organizer's editor on a phone.
Real Chromium against a real gunicorn; screenshots land in test-artifacts/."""

from pathlib import Path

import pytest

from tests.support.session import log_in_browser

pytestmark = pytest.mark.browser
ARTIFACTS = Path("test-artifacts")


def _shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


@pytest.fixture
def nearby_events(make, new_event):
    user, org = make.organizer(org="Flex Movement")
    near = new_event(user, org, title="Flex Friday meetup: Midtown", venue="Union Hall",
                     address_line1="242 W 30th St", postal_code="10001", tags=["remote work", "parents"],
                     description="Meet neighbours who want flexible work.\n\n- Short update\n- Small groups")
    new_event(user, org, title="Door-knocking in Hoboken", event_type="canvass", locality="Hoboken", region="NJ",
              postal_code="07030", address_line1="400 Garden St", venue="Church Square Park")
    new_event(user, org, title="Training: tell your story", event_type="training", is_virtual=True,
              postal_code="", virtual_action_url="https://meet.example.org/secret")
    new_event(user, org, title="Los Angeles rally", event_type="rally", timezone="America/Los_Angeles",
              locality="Los Angeles", region="CA", postal_code="90012", address_line1="200 N Spring St")
    return user, org, near


def test_supporter_finds_an_event_near_a_zip_code_and_opens_it(page, live_server, nearby_events):
    _, _, near = nearby_events
    page.goto(live_server + "/events")
    page.get_by_label("ZIP code").fill("10001")
    page.get_by_role("button", name="Search").click()
    page.wait_for_url("**/events?zipcode=10001*")
    assert page.get_by_role("heading", name="Events within 25 mi of New York, NY, then online").is_visible()
    cards = page.locator(".event-card h3")
    assert cards.all_inner_texts() == ["Flex Friday meetup: Midtown", "Door-knocking in Hoboken",
                                       "Training: tell your story"]
    assert page.get_by_text("mi away").first.is_visible()
    _shot(page, "events_near_zip")

    page.get_by_role("link", name="Flex Friday meetup: Midtown").click()
    page.wait_for_url(f"**/events/{near.uuid}")
    assert page.get_by_role("heading", name="Flex Friday meetup: Midtown", level=1).is_visible()
    assert page.get_by_text("242 W 30th St").is_visible()
    assert page.get_by_text("30 seats left").first.is_visible()
    assert page.get_by_role("link", name="Google").first.get_attribute("href").startswith(
        "https://calendar.google.com/")
    assert "secret" not in page.content()


def test_event_pages_on_a_phone(browser, live_server, nearby_events):
    _, _, near = nearby_events
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    page = context.new_page()
    page.goto(live_server + "/events?zipcode=10001&radius=10")
    assert page.locator(".event-card").count() == 3
    _shot(page, "events_list_phone")
    page.goto(f"{live_server}/events/{near.uuid}")
    assert page.get_by_role("heading", name="When").is_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page scrolls sideways on a phone ({width}px)"
    _shot(page, "event_page_phone")
    context.close()


def test_organizer_editor_on_a_phone_shows_errors_beside_fields(browser, live_server, nearby_events):
    user, org, near = nearby_events
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    page = context.new_page()
    log_in_browser(page, live_server, user.email)
    page.goto(f"{live_server}/orgs/{org.slug}/events/new")
    page.get_by_label("Title").fill("Phone-made rally")
    page.get_by_label("Time zone").fill("Mars/Olympus")
    page.get_by_label("Date", exact=True).fill("2027-03-14")
    page.get_by_label("Starts").fill("18:00")
    page.get_by_label("Ends", exact=True).fill("17:00")
    page.get_by_role("button", name="Publish event").click()
    assert page.get_by_text("is not an IANA time zone").is_visible()
    assert page.get_by_text("Ends before it starts.").is_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    wide = page.evaluate("""[...document.querySelectorAll('*')].filter(e => e.getBoundingClientRect().right > 391)
        .map(e => e.tagName + '#' + e.id + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right))""")
    assert width <= 390, f"the editor scrolls sideways on a phone ({width}px): {wide}"
    _shot(page, "event_editor_phone")
    page.locator("fieldset").nth(1).screenshot(path=str(ARTIFACTS / "event_editor_time_phone.png"))
    page.goto(f"{live_server}/orgs/{org.slug}/events")
    _shot(page, "events_manage_phone")
    context.close()


def test_event_page_on_a_desktop(page, live_server, nearby_events):
    _, _, near = nearby_events
    page.goto(f"{live_server}/events/{near.uuid}")
    assert page.locator('meta[property="og:title"]').get_attribute("content") == "Flex Friday meetup: Midtown"
    _shot(page, "event_page_desktop")
