"""A supporter's own feed: the events they RSVPed to, as their RSVP stands, behind a revocable secret URL."""

from datetime import timedelta

from mobilize.feeds import ical, personal
from mobilize.rsvps import services as rsvps
from tests.support.factories import event_fields

JOIN = "https://meet.example/secret-room"


def online_event(new_event, user, org, **fields):
    online = dict(is_virtual=True, title="Online meetup", virtual_action_url=JOIN, virtual_instructions="Passcode 4242",
                  venue="", address_line1="", postal_code="")
    return new_event(user, org, **{**online, **fields})


def rsvp(event, email="sam@example.org"):
    return rsvps.rsvp(event.id, email=email, given_name="Sam", timeslot_ids=[event.timeslots[0].uuid])


def test_confirmed_rsvps_carry_the_join_link_and_waitlisted_ones_are_tentative(client, make, new_event, parse):
    user, org = make.organizer()
    going = online_event(new_event, user, org)
    full = online_event(new_event, user, org, title="Full meetup",
                        timeslots=[{**event_fields()["timeslots"][0], "capacity": 1}])
    rsvp(full, email="first@example.org")
    attendance = rsvp(going)
    waiting = rsvp(full)
    assert waiting.status == "waitlisted"
    new_event(user, org, title="Not going")
    token = personal.feed_token_for(attendance.person_id)
    response = client.get(f"/calendar/me/{token}.ics")
    assert response.status_code == 200 and response.headers["Cache-Control"] == "private, max-age=300"
    feed = parse(response.data)
    assert feed.uids() == {ical.uid(going.timeslots[0].uuid), ical.uid(full.timeslots[0].uuid)}
    confirmed = feed.by_uid(ical.uid(going.timeslots[0].uuid))
    assert confirmed["STATUS"] == "CONFIRMED" and str(confirmed["LOCATION"]) == JOIN
    assert "Passcode 4242" in str(confirmed["DESCRIPTION"])
    tentative = feed.by_uid(ical.uid(full.timeslots[0].uuid))
    assert tentative["STATUS"] == "TENTATIVE" and JOIN not in str(tentative["DESCRIPTION"])


def test_a_cancelled_rsvp_leaves_the_calendar_as_a_cancelled_entry(client, make, new_event, parse):
    user, org = make.organizer()
    event = online_event(new_event, user, org)
    attendance = rsvp(event)
    url = f"/calendar/me/{personal.feed_token_for(attendance.person_id)}.ics"
    before = client.get(url)
    uid = ical.uid(event.timeslots[0].uuid)
    sequence = parse(before.data).by_uid(uid)["SEQUENCE"]
    rsvps.cancel_rsvp(attendance.id)
    after = client.get(url, headers={"If-None-Match": before.headers["ETag"]})
    assert after.status_code == 200
    entry = parse(after.data).by_uid(uid)
    assert entry["STATUS"] == "CANCELLED" and entry["SEQUENCE"] > sequence
    assert JOIN not in after.get_data(as_text=True)


def test_rsvping_to_another_event_refreshes_the_cached_feed(client, make, new_event, parse):
    user, org = make.organizer()
    first, second = online_event(new_event, user, org), online_event(new_event, user, org, title="Second meetup")
    url = f"/calendar/me/{personal.feed_token_for(rsvp(first).person_id)}.ics"
    before = client.get(url)
    assert client.get(url, headers={"If-None-Match": before.headers["ETag"]}).status_code == 304  # cached
    rsvp(second)
    after = client.get(url, headers={"If-None-Match": before.headers["ETag"]})
    assert after.status_code == 200
    assert parse(after.data).uids() == {ical.uid(first.timeslots[0].uuid), ical.uid(second.timeslots[0].uuid)}


def test_an_alarm_reminds_before_each_event_and_odd_values_are_refused(client, make, new_event, parse):
    user, org = make.organizer()
    attendance = rsvp(online_event(new_event, user, org))
    token = personal.feed_token_for(attendance.person_id)
    feed = parse(client.get(f"/calendar/me/{token}.ics?alarm=60").data)
    assert [a.decoded("TRIGGER") for e in feed.events for a in e.walk("VALARM")] == [-timedelta(hours=1)]
    assert not parse(client.get(f"/calendar/me/{token}.ics").data).events[0].walk("VALARM")
    assert client.get(f"/calendar/me/{token}.ics?alarm=7").status_code == 422


def test_a_replaced_link_stops_the_old_feed(client, make, new_event):
    user, org = make.organizer()
    attendance = rsvp(online_event(new_event, user, org))
    old = personal.feed_token_for(attendance.person_id)
    new = personal.rotate_feed_token(attendance.person_id)
    assert client.get(f"/calendar/me/{old}.ics").status_code == 404
    assert client.get(f"/calendar/me/{new}.ics").status_code == 200
    assert client.get("/calendar/me/not-a-token.ics").status_code == 404


def test_feed_token_is_stable_until_rotated(make, new_event):
    user, org = make.organizer()
    person_id = rsvp(online_event(new_event, user, org)).person_id
    token = personal.feed_token_for(person_id)
    assert personal.feed_token_for(person_id) == token
    assert personal.person_for_feed_token(token).id == person_id
    new = personal.rotate_feed_token(person_id)
    assert new != token and personal.person_for_feed_token(token) is None
    assert personal.person_for_feed_token(new).id == person_id
