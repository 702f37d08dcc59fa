"""Calendar feeds with 10,000 timeslots: cold generation beside icalendar building and serializing
the same events directly (the floor), then warm and 304 requests per second under wrk beside the
floor's /ping.

    .venv/bin/python -m bench.feeds

Aims (issue 6): cold generation within 1.5x of the icalendar floor; 304s at least 0.5x /ping.
"""

import random
import statistics
import time
import uuid
from datetime import timedelta
from zoneinfo import ZoneInfo

import requests
from sqlalchemy import insert, text

from bench import lib

N_EVENTS, SLOTS_PER_EVENT = 2_500, 4
ZONES = ("America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles", "Europe/London")
TYPES = ("rally", "meeting", "canvass", "phone_bank", "training", "webinar", "town_hall", "other")
TAGS = ("remote work", "four day week", "caregivers", "job sharing", "flex hours")
DESCRIPTION = ("Join neighbours to talk about **flexible work**, and what we ask of employers in {city}.\n\n"
               "- Bring a friend\n- Snacks provided\n\nRead the [campaign brief](https://example.org/brief/{n}) "
               "before you come; questions welcome, as always.")
REPEATS = 3


def seed(session, organization_id: int, rng: random.Random) -> None:
    """Public events, a few cancelled, each with SLOTS_PER_EVENT weekly timeslots in the next months."""
    from mobilize.core.markdown import render_markdown
    from mobilize.core.models import utcnow
    from mobilize.events.models import Event, Tag, Timeslot, event_tags

    now = utcnow().replace(minute=0, second=0, microsecond=0)
    tag_ids = session.scalars(insert(Tag).returning(Tag.id, sort_by_parameter_order=True),
                              [{"name": t, "created_at": now, "modified_at": now} for t in TAGS]).all()
    events = []
    for n in range(N_EVENTS):
        city = rng.choice(("Springfield", "Riverside", "Fairview", "Madison", "Georgetown"))
        description = DESCRIPTION.format(city=city, n=n)
        events.append({
            "uuid": uuid.uuid4(), "organization_id": organization_id, "title": f"Flex work {rng.choice(TYPES)} #{n}",
            "summary": "Flexible work, near you; all welcome.", "description": description,
            "description_html": render_markdown(description), "event_type": rng.choice(TYPES),
            "visibility": "public", "status": "confirmed" if rng.random() < 0.97 else "cancelled",
            "timezone": rng.choice(ZONES), "venue": "Union Hall", "address_line1": f"{n} Main St",
            "locality": city, "region": "IL", "postal_code": "62701", "country": "US",
            "latitude": 39.8 + rng.uniform(-1, 1), "longitude": -89.6 + rng.uniform(-1, 1),
            "contact_name": "Olive Organizer", "contact_email": "olive@example.org", "contact_email_public": True,
            "created_at": now, "modified_at": now,
        })
    ids = session.scalars(insert(Event).returning(Event.id, sort_by_parameter_order=True), events).all()
    slots, links = [], []
    for event_id, event in zip(ids, events, strict=True):
        first = now + timedelta(hours=rng.randint(1, 24 * 60))
        for k in range(SLOTS_PER_EVENT):
            start = first + timedelta(days=7 * k)
            slots.append({"uuid": uuid.uuid4(), "event_id": event_id, "start_at": start,
                          "end_at": start + timedelta(hours=2), "capacity": 50, "seats_taken": 0,
                          "local_date": start.astimezone(ZoneInfo(event["timezone"])).date(),
                          "created_at": now, "modified_at": now})
        links += [{"event_id": event_id, "tag_id": t} for t in rng.sample(tag_ids, 2)]
    session.execute(insert(Timeslot), slots)
    session.execute(insert(event_tags), links)
    session.commit()
    for table in ("events", "timeslots", "event_tags"):
        session.execute(text(f"ANALYZE {table}"))
    session.commit()


def floor_inputs(body: bytes) -> tuple[list[dict], list]:
    """The feed's VEVENTs as plain values and its zones as icalendar VTIMEZONEs, ready for the floor.

    Untimed: the floor starts from these, so it pays neither for queries nor for time zone rules.
    """
    import icalendar

    calendar = icalendar.Calendar.from_ical(body)
    items = []
    for vevent in calendar.walk("VEVENT"):
        item = {name: vevent.decoded(name) for name in ("UID", "DTSTAMP", "DTSTART", "DTEND", "SEQUENCE",
                                                          "CREATED", "LAST-MODIFIED")}
        item.update({name: str(vevent[name]) for name in ("SUMMARY", "DESCRIPTION", "LOCATION", "URL", "STATUS")})
        item["GEO"] = (vevent["GEO"].latitude, vevent["GEO"].longitude)
        item["ORGANIZER"] = (str(vevent["ORGANIZER"]), vevent["ORGANIZER"].params["CN"])
        item["CATEGORIES"] = [str(c) for c in vevent["CATEGORIES"].cats]
        items.append(item)
    zones = [icalendar.Timezone.from_tzid(str(tz["TZID"])) for tz in calendar.walk("VTIMEZONE")]
    return items, zones


def icalendar_floor(items: list[dict], zones: list) -> bytes:
    """icalendar alone: the same properties on the same events, with VTIMEZONEs, serialized."""
    import icalendar

    cal = icalendar.Calendar()
    for name, value in (("prodid", "-//floor//EN"), ("version", "2.0"), ("calscale", "GREGORIAN"),
                        ("method", "PUBLISH"), ("x-wr-calname", "Floor"), ("x-wr-caldesc", "Floor"),
                        ("x-wr-timezone", ZONES[0])):
        cal.add(name, value)
    for zone in zones:
        cal.add_component(zone)
    for item in items:
        event = icalendar.Event()
        event.add("uid", item["UID"])
        event.add("dtstamp", item["DTSTAMP"])
        event.add("dtstart", item["DTSTART"])
        event.add("dtend", item["DTEND"])
        event.add("summary", item["SUMMARY"])
        event.add("description", item["DESCRIPTION"])
        event.add("location", item["LOCATION"])
        event.add("geo", item["GEO"])
        event.add("url", item["URL"])
        event.add("organizer", item["ORGANIZER"][0], parameters={"CN": item["ORGANIZER"][1]})
        event.add("categories", item["CATEGORIES"])
        event.add("status", item["STATUS"])
        event.add("sequence", item["SEQUENCE"])
        event.add("created", item["CREATED"])
        event.add("last-modified", item["LAST-MODIFIED"])
        cal.add_component(event)
    return cal.to_ical()


def seconds(function, *args) -> tuple[float, object]:
    start = time.perf_counter()
    result = function(*args)
    return time.perf_counter() - start, result


def main() -> None:
    floors = [lib.floor()]  # and again after the app's runs: the shared machine's load drifts
    port = lib.free_port()  # known before the app starts: the feeds carry it in their URLs
    with lib.app_database() as env:
        from mobilize.accounts import services as accounts
        from mobilize.extensions import db
        from mobilize.feeds import cache, services

        app = lib.app_for(env, PUBLIC_URL=f"http://127.0.0.1:{port}")
        with app.app_context():
            user = accounts.sign_up("bench-feeds@example.org", "Bench", "bench-password-123", "Bench Feeds")
            seed(db.session, accounts.organizations_for(user.id)[0].id, random.Random(6))
            feed = services.public_feed()
            _, body = seconds(services.render, feed)  # the first run also loads the zones' rules
            items, zones = floor_inputs(body)
            ours, theirs = [], []
            for _ in range(REPEATS):  # interleaved, so the shared machine's drift hits both alike
                ours.append(seconds(services.render, feed)[0])
                elapsed, floor_body = seconds(icalendar_floor, items, zones)
                theirs.append(elapsed)
            cold, floor_seconds = statistics.median(ours), statistics.median(theirs)
            ratio = statistics.median(a / b for a, b in zip(ours, theirs, strict=True))
            vevents = body.count(b"BEGIN:VEVENT")
            cache.client().flushdb()
            db.session.remove()
            db.engine.dispose()
        with lib.gunicorn(env, port=port) as base:
            url = base + "/events.ics"
            start = time.perf_counter()
            first = requests.get(url, timeout=120)
            cold_http = time.perf_counter() - start
            assert first.status_code == 200 and first.content.count(b"BEGIN:VEVENT") == vevents
            warms, not_modifieds = [], []
            for _ in range(REPEATS):  # in turns, medians: single 10 s runs swing with the shared machine's load
                warms.append(lib.wrk(url))
                not_modifieds.append(lib.wrk(url, args=(f"If-None-Match: {first.headers['ETag']}",)))
            assert requests.get(url, headers={"If-None-Match": first.headers["ETag"]}, timeout=10).status_code == 304
    warm, not_modified = _median_run(warms), _median_run(not_modifieds)
    floors.append(lib.floor())
    ping = {key: statistics.mean(f["ping"][key] for f in floors) for key in ("rps", "p99_ms")}
    for name, result in (*(("warm", r) for r in warms), *(("304", r) for r in not_modifieds)):
        assert result["errors"] == 0 and result["non2xx"] == 0, f"{name}: {result}"  # non2xx: statuses >= 400
    print(f"{vevents:,} VEVENTs ({N_EVENTS:,} events x {SLOTS_PER_EVENT} timeslots, {len(zones)} zones), "
          f"{len(body) / 1e6:.1f} MB; icalendar floor body {len(floor_body) / 1e6:.1f} MB; "
          f"median of {REPEATS}; wrk {lib.WRK_CONNECTIONS} connections, {lib.WRK_DURATION}, "
          f"gunicorn {lib.DEFAULT_SHAPE}; floor /ping before and after: "
          f"{' and '.join(format(f['ping']['rps'], ',.0f') for f in floors)} req/s (their mean below)")
    print(f"cold generation / icalendar floor, median of the paired runs: {ratio:.2f}x")
    print("304 req/s of each run: " + ", ".join(format(r["rps"], ",.0f") for r in not_modifieds))
    print(lib.table([
        ("cold generation ms (vs icalendar floor)", cold * 1000, floor_seconds * 1000),
        ("cold first request over HTTP ms", cold_http * 1000, None),
        ("warm feed req/s (vs /ping)", warm["rps"], ping["rps"]),
        ("warm feed p99 ms", warm["p99_ms"], ping["p99_ms"]),
        ("304 req/s (vs /ping)", not_modified["rps"], ping["rps"]),
        ("304 p99 ms", not_modified["p99_ms"], ping["p99_ms"]),
    ]))


def _median_run(runs: list[dict]) -> dict:
    return sorted(runs, key=lambda r: r["rps"])[len(runs) // 2]


if __name__ == "__main__":
    main()
