"""Organizers' secret feeds: made, replaced and turned off from their page; everything their org runs."""

import re

from flask import render_template_string

from mobilize.accounts import services as accounts
from mobilize.feeds import ical
from tests.support.session import login
from tests.support.web import submit

FEED_URL = re.compile(r'value="(http://mobilize\.test/calendar/organizer/[^"]+\.ics)"')


def feed_path(html: str) -> str:
    found = FEED_URL.findall(html)
    assert found, "no organizer feed URL on the page"
    return found[0].removeprefix("http://mobilize.test")


def test_organizer_makes_a_feed_of_every_event_with_the_private_details(client, make, new_event, parse):
    user, org = make.organizer()
    public = new_event(user, org)
    hidden = new_event(user, org, visibility="private", is_virtual=True, title="Strategy call",
                       virtual_action_url="https://meet.example/secret-room", venue="", address_line1="",
                       postal_code="")
    unlisted = new_event(user, org, visibility="unlisted", address_visibility="private")
    login(client, user)
    page = f"/orgs/{org.slug}/calendar"
    assert "Make my calendar link" in client.get(page).get_data(as_text=True)
    made = submit(client, page, {"action": "create"}, follow_redirects=True)
    html = made.get_data(as_text=True)
    assert "Your new calendar link is ready" in html
    path = feed_path(html)
    assert "webcal://mobilize.test/calendar/organizer/" in html and "calendar.google.com" in html

    client.post("/logout")  # the URL alone is the credential: calendar apps carry no session
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "private, max-age=300"
    assert response.headers["X-Robots-Tag"] == "noindex"
    feed = parse(response.data)
    every = {ical.uid(e.timeslots[0].uuid) for e in (public, hidden, unlisted)}
    assert feed.uids() == every
    strategy = feed.by_uid(ical.uid(hidden.timeslots[0].uuid))
    assert str(strategy["LOCATION"]) == "https://meet.example/secret-room"
    assert "olive.private@example.org" in str(strategy["DESCRIPTION"])
    assert "1 Main St" in str(feed.by_uid(ical.uid(unlisted.timeslots[0].uuid))["LOCATION"])


def test_replacing_or_turning_off_the_link_revokes_the_old_one(client, make, new_event):
    user, org = make.organizer()
    new_event(user, org)
    login(client, user)
    page = f"/orgs/{org.slug}/calendar"
    first = feed_path(submit(client, page, {"action": "create"}, follow_redirects=True).get_data(as_text=True))
    second = feed_path(submit(client, page, {"action": "rotate"}, follow_redirects=True).get_data(as_text=True))
    assert first != second
    assert client.get(first).status_code == 404
    assert client.get(second).status_code == 200
    off = submit(client, page, {"action": "revoke"}, follow_redirects=True).get_data(as_text=True)
    assert "Make my calendar link" in off
    assert client.get(second).status_code == 404


def test_a_removed_organizer_feed_stops_and_forged_tokens_find_nothing(client, make, new_event):
    owner, org = make.organizer()
    helper, _ = make.organizer(org=None)
    accounts.add_member(owner.id, org.id, helper.email)
    new_event(owner, org)
    login(client, helper)
    path = feed_path(submit(client, f"/orgs/{org.slug}/calendar", {"action": "create"},
                            follow_redirects=True).get_data(as_text=True))
    assert client.get(path).status_code == 200
    accounts.remove_member(owner.id, org.id, helper.id)
    assert client.get(path).status_code == 404
    feed_id = path.split("/")[-1].split("-")[0]
    for forged in (f"{feed_id}-{'0' * 40}", "x-y", "99999999999999999999999-abc", f"{feed_id}"):
        assert client.get(f"/calendar/organizer/{forged}.ics").status_code == 404


def test_only_members_reach_the_calendar_page(client, make):
    _, org = make.organizer()
    outsider, _ = make.organizer(org=None)
    assert client.get(f"/orgs/{org.slug}/calendar").status_code == 302  # to the log-in page
    login(client, outsider)
    assert client.get(f"/orgs/{org.slug}/calendar").status_code == 403
    assert client.post(f"/orgs/{org.slug}/calendar", data={"action": "create"}).status_code == 400  # no CSRF token


def test_the_subscribe_partial_works_as_an_include_for_other_pages(app):
    with app.test_request_context():
        html = render_template_string(
            '{% with feed_url="https://mobilize.test/orgs/flex/events.ics", feed_name="Flex, Org" %}'
            '{% include "feeds/_subscribe.html" %}{% endwith %}')
    assert 'href="webcal://mobilize.test/orgs/flex/events.ics"' in html
    assert "calendar.google.com/calendar/render?cid=webcal%3A%2F%2Fmobilize.test%2Forgs%2Fflex%2Fevents.ics" in html
    assert ("https://outlook.live.com/calendar/0/addfromweb?url=https%3A%2F%2Fmobilize.test%2Forgs%2Fflex%2Fevents.ics"
            "&amp;name=Flex%2C+Org") in html
    assert 'value="https://mobilize.test/orgs/flex/events.ics" readonly' in html
