"""What each feed holds: the right events, every property, cancellations, the window, and no private data."""

from datetime import UTC, datetime, timedelta

import pytest

from mobilize.core.models import utcnow
from mobilize.events import cohosts
from mobilize.events import services as events
from mobilize.events.models import Event
from mobilize.extensions import db
from mobilize.feeds import ical, services

SECRETS = ("https://meet.example/secret-room", "Passcode 4242", "42 Hidden Lane", "olive.private@example.org",
           "555-0100")


def uids(event) -> set[str]:
    return {ical.uid(slot.uuid) for slot in event.timeslots if slot.deleted_at is None}


def wall(days: int, hour: int) -> datetime:
    day = (utcnow() + timedelta(days=days)).date()
    return datetime(day.year, day.month, day.day, hour)


def test_every_timeslot_is_one_vevent_with_every_property(client, make, new_event, parse):
    user, org = make.organizer()
    event = new_event(user, org, contact_email_public=True, timeslots=[
        {"start_at": wall(3, 18), "end_at": wall(3, 20)}, {"start_at": wall(10, 9), "end_at": wall(10, 11)}])
    feed = parse(client.get("/events.ics").data)
    assert feed.uids() == uids(event)
    for vevent in feed.events:
        for name in ("UID", "DTSTAMP", "DTSTART", "DTEND", "SUMMARY", "DESCRIPTION", "LOCATION", "GEO", "URL",
                     "ORGANIZER", "CATEGORIES", "STATUS", "SEQUENCE", "CREATED", "LAST-MODIFIED"):
            assert name in vevent, name
        assert vevent["DTSTART"].params["TZID"] == "America/New_York"
        assert str(vevent["URL"]) == f"http://mobilize.test/events/{event.uuid}"
        assert str(vevent["URL"]) in str(vevent["DESCRIPTION"])
        assert str(vevent["ORGANIZER"]) == "mailto:olive.private@example.org"
        assert [str(c) for c in vevent["CATEGORIES"].cats] == ["Meeting", "remote work"]
        assert "Snacks provided." in str(vevent["DESCRIPTION"]) and "**" not in str(vevent["DESCRIPTION"])
    assert [tz["TZID"] for tz in feed.calendar.walk("VTIMEZONE")] == ["America/New_York"]
    assert str(feed.calendar["X-WR-CALNAME"]) == "Mobilize: all events"


def test_public_feeds_hold_public_events_only(client, make, new_event, parse):
    user, org = make.organizer()
    public = new_event(user, org)
    for visibility in ("unlisted", "private"):
        new_event(user, org, visibility=visibility, title=f"{visibility} meeting")
    for url in ("/events.ics", f"/orgs/{org.slug}/events.ics", "/events.ics?type=meeting"):
        feed = parse(client.get(url).data)
        assert feed.uids() == uids(public), url
        assert "unlisted meeting" not in feed.text and "private meeting" not in feed.text


def test_no_private_data_in_any_public_feed(client, make, new_event, parse):
    user, org = make.organizer()
    online = new_event(user, org, is_virtual=True, title="Online meetup", virtual_action_url=SECRETS[0],
                       virtual_instructions=SECRETS[1], address_line1="", venue="", postal_code="")
    hidden_place = new_event(user, org, address_visibility="private", address_line1=SECRETS[2], tags=["local"])
    urls = ["/events.ics", f"/orgs/{org.slug}/events.ics", "/events.ics?tag=local", "/events.ics?zipcode=10001",
            f"/events/{online.uuid}.ics", f"/events/{hidden_place.uuid}.ics"]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        unfolded = response.get_data(as_text=True).replace("\r\n ", "")
        for secret in SECRETS:
            assert secret not in unfolded, (url, secret)
        parse(response.data)
    feed = parse(client.get("/events.ics").data)
    place = feed.by_uid(ical.uid(hidden_place.timeslots[0].uuid))
    assert str(place["LOCATION"]) == "New York, NY" and "GEO" not in place
    assert str(feed.by_uid(ical.uid(online.timeslots[0].uuid))["LOCATION"]) == "Online"


def test_cancelled_and_deleted_events_stay_as_cancelled_with_a_raised_sequence(client, make, new_event, parse):
    user, org = make.organizer()
    cancelled, deleted, kept = new_event(user, org, title="Called off"), new_event(user, org), new_event(user, org)
    events.cancel_event(user.id, cancelled.uuid)
    events.delete_event(user.id, deleted.uuid)
    for url in ("/events.ics", f"/orgs/{org.slug}/events.ics", "/events.ics?type=meeting"):
        feed = parse(client.get(url).data)
        assert feed.uids() == uids(cancelled) | uids(deleted) | uids(kept), url
        for event in (cancelled, deleted):
            vevent = feed.by_uid(ical.uid(event.timeslots[0].uuid))
            assert vevent["STATUS"] == "CANCELLED" and vevent["SEQUENCE"] == 1
            assert feed.strict_by_uid(ical.uid(event.timeslots[0].uuid)).status.value == "CANCELLED"
        assert str(feed.by_uid(ical.uid(cancelled.timeslots[0].uuid))["SUMMARY"]) == "Cancelled: Called off"
        assert feed.by_uid(ical.uid(kept.timeslots[0].uuid))["STATUS"] == "CONFIRMED"


def test_a_removed_timeslot_is_cancelled_and_the_event_sequence_rises(client, make, new_event, parse):
    user, org = make.organizer()
    event = new_event(user, org, timeslots=[{"start_at": wall(3, 18), "end_at": wall(3, 20)},
                                            {"start_at": wall(4, 18), "end_at": wall(4, 20)}])
    first, second = event.timeslots
    events.update_event(user.id, event.uuid, {"timeslots": [{"uuid": str(first.uuid), "start_at": wall(3, 18),
                                                             "end_at": wall(3, 20)}]})
    feed = parse(client.get("/events.ics").data)
    assert feed.by_uid(ical.uid(second.uuid))["STATUS"] == "CANCELLED"
    assert feed.by_uid(ical.uid(first.uuid))["STATUS"] == "CONFIRMED"
    assert {v["SEQUENCE"] for v in feed.events} == {1}


def test_window_runs_from_30_days_ago_and_cancellations_leave_after_30_days(client, make, new_event, parse):
    user, org = make.organizer()
    recent = new_event(user, org, title="Recent", timeslots=[{"start_at": wall(-20, 18), "end_at": wall(-20, 20)}])
    new_event(user, org, title="Old", timeslots=[{"start_at": wall(-40, 18), "end_at": wall(-40, 20)}])
    long_gone = new_event(user, org, title="Long gone")
    events.delete_event(user.id, long_gone.uuid)
    row = db.session.get(Event, long_gone.id)
    row.deleted_at = row.cancelled_at = utcnow() - timedelta(days=32)
    db.session.commit()
    feed = parse(client.get("/events.ics").data)
    assert feed.uids() == uids(recent)
    assert "Old" not in feed.text and "Long gone" not in feed.text


def test_feed_is_capped_at_the_soonest_timeslots(client, make, new_event, parse, monkeypatch):
    monkeypatch.setattr(services, "MAX_TIMESLOTS", 3)
    user, org = make.organizer()
    event = new_event(user, org, timeslots=[{"start_at": wall(d, 18), "end_at": wall(d, 19)} for d in range(1, 6)])
    feed = parse(client.get("/events.ics").data)
    assert feed.uids() == {ical.uid(s.uuid) for s in event.timeslots[:3]}


def test_organization_feed_holds_hosted_and_cohosted_public_events(client, make, new_event, parse):
    user, org = make.organizer()
    other_user, other = make.organizer(org="Partner Org")
    own = new_event(user, org)
    cohosted = new_event(other_user, other, cohosts=[org.slug], title="Partner rally")
    new_event(other_user, other, title="Partner only")
    assert parse(client.get(f"/orgs/{org.slug}/events.ics").data).uids() == uids(own)  # not until it accepts
    cohosts.respond(user.id, cohosts.pending_for(user.id, org.id)[0].uuid, accept=True)
    feed = parse(client.get(f"/orgs/{org.slug}/events.ics").data)
    assert feed.uids() == uids(own) | uids(cohosted)
    assert str(feed.calendar["X-WR-CALNAME"]) == f"{org.name} events"
    assert client.get("/orgs/no-such-org/events.ics").status_code == 404


def test_filtered_feeds_use_the_events_page_filters(client, make, new_event, parse):
    user, org = make.organizer()
    rally = new_event(user, org, event_type="rally", tags=["four day week"], title="Rally")
    far = new_event(user, org, title="Far away", locality="Los Angeles", region="CA", postal_code="90012",
                    latitude=34.0614, longitude=-118.2385, timezone="America/Los_Angeles")
    online = new_event(user, org, title="Online", is_virtual=True, venue="", address_line1="", postal_code="")
    assert parse(client.get("/events.ics?type=rally").data).uids() == uids(rally)
    assert parse(client.get("/events.ics?tag=four+day+week").data).uids() == uids(rally)
    near = parse(client.get("/events.ics?zipcode=10001&radius=50").data)
    assert near.uids() == uids(rally) | uids(online)
    assert "10001" in str(near.calendar["X-WR-CALNAME"]) or "New York" in str(near.calendar["X-WR-CALNAME"])
    assert parse(client.get("/events.ics?zipcode=90012&mode=in_person").data).uids() == uids(far)
    events.delete_event(user.id, rally.uuid)
    tagged = parse(client.get("/events.ics?tag=four+day+week").data)
    assert tagged.uids() == uids(rally) and tagged.events[0]["STATUS"] == "CANCELLED"
    assert parse(client.get("/events.ics?type=canvass").data).uids() == set()


def test_filtered_feed_with_bad_filters_is_a_clear_422(client):
    response = client.get("/events.ics?zipcode=00000")
    assert response.status_code == 422
    assert "ZIP code" in response.get_data(as_text=True)


@pytest.mark.parametrize("zone, start, hours", [
    ("America/New_York", datetime(2030, 11, 3, 0, 30), 3),  # 00:30 EDT to 02:30 EST: clocks fall back
    ("Europe/Berlin", datetime(2030, 10, 27, 1, 30), 3),
    ("Australia/Sydney", datetime(2030, 10, 6, 1, 0), 3),  # springs forward at 2 AM: 01:00 AEST to 05:00 AEDT
    ("Asia/Kolkata", datetime(2030, 12, 5, 18, 0), 2),
])
def test_feed_times_are_exact_in_utc_across_zones_and_dst(client, make, new_event, parse, zone, start, hours):
    user, org = make.organizer()
    event = new_event(user, org, timezone=zone, timeslots=[
        {"start_at": start, "end_at": start + timedelta(hours=hours)}])
    slot = event.timeslots[0]
    with db.session.no_autoflush:
        db.session.refresh(slot)
    for url in ("/events.ics", f"/events/{event.uuid}.ics"):
        feed = parse(client.get(url).data)
        vevent = feed.by_uid(ical.uid(slot.uuid))
        assert vevent.decoded("DTSTART").astimezone(UTC) == slot.start_at
        assert vevent.decoded("DTEND").astimezone(UTC) == slot.end_at
        strict = feed.strict_by_uid(ical.uid(slot.uuid))
        assert (strict.dtstart.astimezone(UTC), strict.dtend.astimezone(UTC)) == (slot.start_at, slot.end_at)


def test_one_event_download_shows_what_its_page_shows(client, make, new_event, parse):
    user, org = make.organizer()
    unlisted = new_event(user, org, visibility="unlisted")
    private = new_event(user, org, visibility="private")
    response = client.get(f"/events/{unlisted.uuid}.ics")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == 'attachment; filename="event.ics"'
    assert response.headers["Cache-Control"] == "private, max-age=300"
    assert parse(response.data).uids() == uids(unlisted)
    assert client.get(f"/events/{private.uuid}.ics").status_code == 404
    assert client.get("/events/00000000-0000-0000-0000-000000000000.ics").status_code == 404
