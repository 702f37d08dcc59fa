"""Feeds over HTTP: headers, conditional GET, HEAD, and the Redis cache kept current by invalidation."""

import time

import redis
from flask import current_app
from sqlalchemy import update

from mobilize.accounts import services as accounts
from mobilize.events import cohosts
from mobilize.events import services as events
from mobilize.events.models import Event, Timeslot
from mobilize.extensions import db
from mobilize.feeds import cache, ical


def feed_key(identity: str) -> str:
    return cache.FEED_KEY.format(identity)


def redis_client() -> redis.Redis:
    return redis.Redis.from_url(current_app.config["REDIS_URL"])


def test_feed_headers(client, make, new_event):
    user, org = make.organizer()
    new_event(user, org)
    response = client.get("/events.ics")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert response.headers["Cache-Control"] == "public, max-age=300"
    assert response.headers["ETag"].startswith('"') and response.headers["Last-Modified"].endswith("GMT")
    assert response.data.startswith(b"BEGIN:VCALENDAR\r\n")


def test_conditional_get_is_304_until_an_event_changes_then_a_fresh_body(client, make, new_event):
    user, org = make.organizer()
    event = new_event(user, org)
    for url in ("/events.ics", f"/orgs/{org.slug}/events.ics", "/events.ics?tag=remote+work",
                f"/events/{event.uuid}.ics"):
        first = client.get(url)
        etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
        again = client.get(url, headers={"If-None-Match": etag})
        assert again.status_code == 304 and again.data == b"", url
        assert again.headers["ETag"] == etag and again.headers["Cache-Control"] == first.headers["Cache-Control"]
        assert client.get(url, headers={"If-Modified-Since": modified}).status_code == 304
    events.update_event(user.id, event.uuid, {"title": "Flex Friday, moved upstairs"})
    for url in ("/events.ics", f"/orgs/{org.slug}/events.ics", "/events.ics?tag=remote+work",
                f"/events/{event.uuid}.ics"):
        fresh = client.get(url, headers={"If-None-Match": etag})
        assert fresh.status_code == 200, url
        assert "moved upstairs" in fresh.get_data(as_text=True).replace("\r\n ", "")
        assert fresh.headers["ETag"] != etag


def test_head_answers_with_the_headers_only(client, make, new_event):
    user, org = make.organizer()
    new_event(user, org)
    get = client.get("/events.ics")
    head = client.head("/events.ics")
    assert head.status_code == 200 and head.data == b""
    assert head.headers["ETag"] == get.headers["ETag"]
    assert int(head.headers["Content-Length"]) == len(get.data)
    assert client.head("/events.ics", headers={"If-None-Match": get.headers["ETag"]}).status_code == 304


def test_feeds_are_cached_in_redis_and_each_poll_reads_the_cache(client, make, new_event):
    user, org = make.organizer()
    event = new_event(user, org)
    body = client.get("/events.ics").data
    stored = redis_client().hgetall(feed_key("public"))
    assert stored[b"body"] == body
    # A change the ORM never sees is not noticed until the cache's max age: the poll is served from Redis.
    db.session.execute(db.text("UPDATE events SET title = 'Renamed behind our back' WHERE id = :id"),
                       {"id": event.id})
    db.session.commit()
    assert client.get("/events.ics").data == body


def test_seat_counts_changing_leave_feeds_cached(client, make, new_event):
    user, org = make.organizer()
    event = new_event(user, org)
    client.get("/events.ics")
    stamp = redis_client().hget(feed_key("public"), "stamp")
    slot = event.timeslots[0]
    slot.seats_taken += 3  # as the RSVP service counts seats, under the row lock
    db.session.commit()
    client.get("/events.ics")
    assert redis_client().hget(feed_key("public"), "stamp") == stamp


def test_a_change_in_one_organization_leaves_another_organizations_feed_cached(client, make, new_event):
    user, org = make.organizer()
    other_user, other = make.organizer(org="Other Org")
    new_event(user, org)
    theirs = new_event(other_user, other)
    client.get(f"/orgs/{org.slug}/events.ics")
    client.get(f"/orgs/{other.slug}/events.ics")
    ours_stamp = redis_client().hget(feed_key(f"org:{org.slug}"), "stamp")
    theirs_stamp = redis_client().hget(feed_key(f"org:{other.slug}"), "stamp")
    events.update_event(other_user.id, theirs.uuid, {"title": "Changed"})
    client.get(f"/orgs/{org.slug}/events.ics")
    client.get(f"/orgs/{other.slug}/events.ics")
    assert redis_client().hget(feed_key(f"org:{org.slug}"), "stamp") == ours_stamp
    assert redis_client().hget(feed_key(f"org:{other.slug}"), "stamp") != theirs_stamp


def test_becoming_a_cohost_refreshes_the_cohosts_feed(client, make, new_event, parse):
    user, org = make.organizer()
    partner_user, partner = make.organizer(org="Partner Org")
    event = new_event(user, org)
    assert parse(client.get(f"/orgs/{partner.slug}/events.ics").data).uids() == set()
    events.update_event(user.id, event.uuid, {"cohosts": [partner.slug]})
    assert parse(client.get(f"/orgs/{partner.slug}/events.ics").data).uids() == set()  # invited, not yet co-hosting
    cohosts.respond(partner_user.id, cohosts.pending_for(partner_user.id, partner.id)[0].uuid, accept=True)
    assert parse(client.get(f"/orgs/{partner.slug}/events.ics").data).uids() == {
        ical.uid(event.timeslots[0].uuid)}
    events.update_event(user.id, event.uuid, {"cohosts": []})
    assert parse(client.get(f"/orgs/{partner.slug}/events.ics").data).uids() == set()


def test_a_rolled_back_change_invalidates_nothing(client, make, new_event):
    user, org = make.organizer()
    event = new_event(user, org)
    client.get("/events.ics")
    stamp = redis_client().hget(feed_key("public"), "stamp")
    event.title = "Never saved"
    db.session.flush()
    db.session.rollback()
    client.get("/events.ics")
    assert redis_client().hget(feed_key("public"), "stamp") == stamp


def test_last_modified_stays_while_the_body_is_the_same(client, make, new_event):
    user, org = make.organizer()
    new_event(user, org)
    client.get(f"/orgs/{org.slug}/events.ics")
    key = feed_key(f"org:{org.slug}")
    redis_client().hset(key, "modified", 1_700_000_000)  # as if built long ago
    time.sleep(cache.TRUST_SECONDS)  # until this process asks Redis again
    first = client.get(f"/orgs/{org.slug}/events.ics")
    assert first.headers["Last-Modified"] == "Tue, 14 Nov 2023 22:13:20 GMT"
    stamp = redis_client().hget(key, "stamp")
    cache.bump({"epoch"})  # a version bump that changes nothing in this feed: rebuilt, with the same bytes
    again = client.get(f"/orgs/{org.slug}/events.ics")
    assert redis_client().hget(key, "stamp") != stamp
    assert again.headers["ETag"] == first.headers["ETag"]
    assert again.headers["Last-Modified"] == first.headers["Last-Modified"]


def test_while_one_process_rebuilds_a_feed_the_others_serve_the_previous_body(client, make, new_event):
    user, org = make.organizer()
    event = new_event(user, org)
    before = client.get("/events.ics")
    events.update_event(user.id, event.uuid, {"title": "Renamed"})
    redis_client().set(cache.LOCK_KEY.format("public"), 1, ex=60)  # another process is building it
    during = client.get("/events.ics")
    assert during.data == before.data and during.headers["ETag"] == before.headers["ETag"]
    redis_client().delete(cache.LOCK_KEY.format("public"))
    assert b"Renamed" in client.get("/events.ics").data


def test_feeds_work_without_redis_and_with_redis_down(client, make, new_event, monkeypatch):
    user, org = make.organizer()
    new_event(user, org)
    for url in (None, "redis://127.0.0.1:9/0"):  # the embedded setup; a Redis that refuses connections
        monkeypatch.setitem(current_app.config, "REDIS_URL", url)
        first = client.get("/events.ics")
        assert first.status_code == 200 and b"Flex Friday meetup" in first.data
        assert client.get("/events.ics", headers={"If-None-Match": first.headers["ETag"]}).status_code == 304


def test_bulk_updates_of_events_refresh_feeds_but_bulk_seat_counts_do_not(client, make, new_event):
    user, org = make.organizer()
    event = new_event(user, org)
    client.get("/events.ics")
    stamp = redis_client().hget(feed_key("public"), "stamp")
    db.session.execute(update(Timeslot).where(Timeslot.event_id == event.id)
                       .values(seats_taken=Timeslot.seats_taken + 2))
    db.session.commit()
    client.get("/events.ics")
    assert redis_client().hget(feed_key("public"), "stamp") == stamp
    db.session.execute(update(Event).where(Event.id == event.id).values(title="Bulk renamed"))
    db.session.commit()
    assert b"Bulk renamed" in client.get("/events.ics").data


def test_renaming_the_organization_renames_its_calendar(client, make, new_event, parse):
    user, org = make.organizer()
    new_event(user, org)
    assert str(parse(client.get(f"/orgs/{org.slug}/events.ics").data).calendar["X-WR-CALNAME"]) == f"{org.name} events"
    accounts.update_organization(user.id, org.id, name="Flex Workers United")
    feed = parse(client.get(f"/orgs/{org.slug}/events.ics").data)
    assert str(feed.calendar["X-WR-CALNAME"]) == "Flex Workers United events"


def test_a_process_trusts_a_fresh_feed_for_a_second_then_asks_redis_again(client, make, new_event):
    user, org = make.organizer()
    new_event(user, org)
    etag = client.get("/events.ics").headers["ETag"]
    stamp = redis_client().hget(feed_key("public"), "stamp")
    redis_client().incr(cache.VERSION_KEY.format("all"))  # another process changed an event
    assert client.get("/events.ics", headers={"If-None-Match": etag}).status_code == 304
    assert redis_client().hget(feed_key("public"), "stamp") == stamp  # not asked: trusted
    time.sleep(cache.TRUST_SECONDS)
    client.get("/events.ics", headers={"If-None-Match": etag})
    assert redis_client().hget(feed_key("public"), "stamp") != stamp  # asked, found stale, rebuilt
