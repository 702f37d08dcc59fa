"""A supporter RSVPs in a real Chromium, gets the mail from a real worker, and cancels from its link."""

import re
from urllib.parse import urlsplit

import pytest

from tests.rsvps.test_mail import subject
from tests.support.infra import body_text
from tests.support.session import log_in_browser

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api").expect

SHOTS = "test-artifacts"


def test_supporter_rsvps_reads_the_mail_follows_the_link_and_cancels(page, live_server, celery_worker, smtp_server,
                                                                      make, rsvp_to):
    _, org = make.organizer()
    event = make.event(org, title="Flex Friday: remote work town hall", capacity=5, max_guests=2,
                       summary="Tell your city council why flexible work matters.")
    rsvp_to(event, "early@example.net", guests=1)

    page.goto(f"{live_server}/events/{event.uuid}?utm_source=browser-test")
    expect(page.get_by_text("2 going").first).to_be_visible()
    page.screenshot(path=f"{SHOTS}/rsvp_event_page.png", full_page=True)
    page.get_by_label("First name").fill("Robin")
    page.get_by_label("Last name").fill("Reyes")
    page.get_by_role("textbox", name="Email").fill("robin@example.net")
    page.get_by_label("ZIP code").fill("62701")
    page.get_by_label("Guests you are bringing").select_option("1")
    page.get_by_label(re.compile("may email me")).check()
    page.get_by_role("button", name="RSVP", exact=True).click()
    page.wait_for_url("**/rsvp/thanks")
    expect(page.get_by_role("heading", name="You’re going!")).to_be_visible()
    page.screenshot(path=f"{SHOTS}/rsvp_thanks.png", full_page=True)

    [message] = smtp_server.wait_for(1, to="robin@example.net")
    assert "You’re going to Flex Friday" in subject(message)
    link = re.search(r"https?://\S+/rsvp/\S+", body_text(message)).group(0)
    page.goto(live_server + urlsplit(link).path)
    expect(page.get_by_role("heading", name="Your RSVP, Robin")).to_be_visible()
    expect(page.get_by_text("Confirmed · you + 1")).to_be_visible()
    page.screenshot(path=f"{SHOTS}/rsvp_manage.png", full_page=True)

    page.get_by_role("button", name="Cancel my RSVP").click()
    expect(page.get_by_text("Your RSVP is cancelled")).to_be_visible()
    expect(page.get_by_text("Cancelled", exact=True)).to_be_visible()
    page.screenshot(path=f"{SHOTS}/rsvp_cancelled.png", full_page=True)

    page.goto(f"{live_server}/events/{event.uuid}")
    expect(page.get_by_text("2 going").first).to_be_visible()
    expect(page.get_by_text("3 seats left")).to_be_visible()


def test_rsvp_box_on_a_phone_shows_errors_beside_the_fields(browser, live_server, make):
    _, org = make.organizer()
    event = make.event(org, title="Job-share meetup", capacity=20, slots=3)
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    page = context.new_page()
    page.goto(f"{live_server}/events/{event.uuid}")
    page.get_by_label("First name").fill("Kim")
    page.get_by_role("textbox", name="Email").fill("not-an-email")
    page.get_by_role("button", name="RSVP", exact=True).click()
    expect(page.get_by_text("Choose at least one time").first).to_be_visible()
    page.screenshot(path=f"{SHOTS}/rsvp_errors_phone.png", full_page=True)
    context.close()


def test_organizer_sees_attendees_and_waitlist(page, live_server, make, rsvp_to):
    user, org = make.organizer()
    event = make.event(org, title="Remote-first hiring fair", capacity=4, slots=2)
    for n, name in enumerate(("Ana Lopez", "Bo Chen", "Cy Diallo", "Dee Evans", "Eli Fox")):
        given, family = name.split()
        rsvp_to(event, f"{given.lower()}@example.net", given_name=given, family_name=family, guests=n % 2,
                utm={"utm_source": "newsletter" if n % 2 else ""})
    log_in_browser(page, live_server, user.email)
    page.goto(f"{live_server}/orgs/{org.slug}/events/{event.uuid}/attendees")
    expect(page.get_by_role("cell", name="ana@example.net")).to_be_visible()
    expect(page.get_by_text("Waitlist #1")).to_be_visible()
    page.get_by_role("spinbutton", name="Capacity").first.fill("2")
    page.get_by_role("button", name="Save capacity").first.click()
    expect(page.get_by_text("cannot go below 4")).to_be_visible()
    page.screenshot(path=f"{SHOTS}/rsvp_attendees.png", full_page=True)
