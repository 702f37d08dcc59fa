"""Subscribing as a calendar client does, against a real gunicorn; and the subscribe links in a real browser."""

import time

import pytest
import requests

from mobilize.events import services as events
from mobilize.feeds import cache, ical
from tests.support.session import log_in_browser


def test_a_subscribed_client_polls_gets_304s_and_sees_changes_and_cancellations(live_server, make, new_event,
                                                                                 parse):
    user, org = make.organizer()
    event = new_event(user, org, title="Flex Friday")
    url = f"{live_server}/orgs/{org.slug}/events.ics"
    client = requests.Session()
    client.headers["User-Agent"] = "Calendar/1.0 (subscription)"
    first = client.get(url, timeout=10)
    assert first.status_code == 200 and first.headers["Content-Type"] == "text/calendar; charset=utf-8"
    uid = ical.uid(event.timeslots[0].uuid)
    assert str(parse(first.content).by_uid(uid)["SUMMARY"]) == "Flex Friday"
    validators = {"If-None-Match": first.headers["ETag"], "If-Modified-Since": first.headers["Last-Modified"]}
    for _ in range(3):
        polled = client.get(url, headers=validators, timeout=10)
        assert polled.status_code == 304 and polled.content == b""

    events.update_event(user.id, event.uuid, {"title": "Flex Friday (new room)"})
    time.sleep(cache.TRUST_SECONDS)  # the server's processes trust a fresh feed this long
    changed = client.get(url, headers=validators, timeout=10)
    assert changed.status_code == 200
    assert str(parse(changed.content).by_uid(uid)["SUMMARY"]) == "Flex Friday (new room)"

    events.cancel_event(user.id, event.uuid)
    time.sleep(cache.TRUST_SECONDS)
    cancelled = client.get(url, headers={"If-None-Match": changed.headers["ETag"]}, timeout=10)
    vevent = parse(cancelled.content).by_uid(uid)
    assert vevent["STATUS"] == "CANCELLED" and vevent["SEQUENCE"] == 1
    head = client.head(url, timeout=10)
    assert head.status_code == 200 and head.headers["ETag"] == cancelled.headers["ETag"]


@pytest.mark.browser
def test_organizer_finds_subscribe_links_for_both_calendars(page, live_server, make, new_event):
    user, org = make.organizer()
    new_event(user, org)
    log_in_browser(page, live_server, user.email)
    page.goto(f"{live_server}/orgs/{org.slug}/calendar")
    page.get_by_role("button", name="Make my calendar link").click()
    assert page.get_by_text("Your new calendar link is ready").is_visible()
    page.get_by_text("Subscribe to your organizer calendar").click()
    google = page.get_by_role("link", name="Google Calendar").first
    assert google.is_visible() and "calendar.google.com" in google.get_attribute("href")
    webcal = page.get_by_role("link", name="Apple Calendar, Outlook app or Thunderbird").first
    assert webcal.get_attribute("href").startswith("webcal://127.0.0.1")
    feed_url = page.locator("input.feed-url").first.input_value()
    assert feed_url.startswith(live_server + "/calendar/organizer/")
    assert requests.get(feed_url, timeout=10).status_code == 200
    page.screenshot(path="test-artifacts/feeds_organizer_calendar.png", full_page=True)
