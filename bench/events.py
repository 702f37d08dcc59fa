"""The events page and near-me search with 10,000 events and 30,000 timeslots, under wrk,
beside the floor's /count (one database query per request); and EXPLAIN checks that
each search walks an index rather than scanning a table.

    .venv/bin/python -m bench.events
"""

import random
import uuid
from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import insert, text

from bench import lib

# (ZIP, latitude, longitude, zone): events cluster around US cities, as real ones do.
CITIES = [
    ("10001", 40.7484, -73.9967, "America/New_York"), ("02108", 42.3576, -71.0684, "America/New_York"),
    ("19103", 39.9525, -75.1741, "America/New_York"), ("20001", 38.9108, -77.0173, "America/New_York"),
    ("30303", 33.7528, -84.3909, "America/New_York"), ("33130", 25.7672, -80.2052, "America/New_York"),
    ("60605", 41.8676, -87.6258, "America/Chicago"), ("55401", 44.9844, -93.2686, "America/Chicago"),
    ("75201", 32.7876, -96.7994, "America/Chicago"), ("77002", 29.7564, -95.3596, "America/Chicago"),
    ("80202", 39.7528, -104.9993, "America/Denver"), ("85004", 33.4515, -112.0686, "America/Phoenix"),
    ("90012", 34.0614, -118.2385, "America/Los_Angeles"), ("94103", 37.7725, -122.4108, "America/Los_Angeles"),
    ("98101", 47.6114, -122.3305, "America/Los_Angeles"), ("97204", 45.5184, -122.6745, "America/Los_Angeles"),
]
TYPES = ("rally", "meeting", "canvass", "phone_bank", "training", "webinar", "town_hall", "other")
N_EVENTS, SLOTS_PER_EVENT = 10_000, 3


def seed_events(session, organization_id: int, n_events: int = N_EVENTS, slots: int = SLOTS_PER_EVENT,
                seed: int = 7) -> None:
    """Bulk-insert events (a fifth virtual, a tenth not public, some past) and their timeslots."""
    from mobilize.core.models import utcnow
    from mobilize.events.models import Event, Timeslot

    rng = random.Random(seed)
    now = utcnow().replace(minute=0, second=0, microsecond=0)
    events = []
    for n in range(n_events):
        zipcode, lat, lng, zone = rng.choice(CITIES)
        virtual = rng.random() < 0.2
        events.append({
            "uuid": uuid.uuid4(), "organization_id": organization_id, "title": f"{rng.choice(TYPES)} #{n}",
            "summary": "Flexible work, near you.", "description": "", "description_html": "",
            "event_type": rng.choice(TYPES), "visibility": "public" if rng.random() < 0.9 else "unlisted",
            "status": "confirmed" if rng.random() < 0.97 else "cancelled", "timezone": zone, "is_virtual": virtual,
            "locality": "Town", "region": "ST", "postal_code": zipcode, "country": "US",
            "latitude": None if virtual else lat + rng.uniform(-0.5, 0.5),
            "longitude": None if virtual else lng + rng.uniform(-0.6, 0.6),
            "created_at": now, "modified_at": now,
        })
    ids = session.scalars(insert(Event).returning(Event.id, sort_by_parameter_order=True), events).all()
    rows = []
    for event_id, event in zip(ids, events, strict=True):
        first = now + timedelta(hours=rng.randint(-24 * 14, 24 * 90))
        for k in range(slots):
            start = first + timedelta(days=7 * k)
            rows.append({"uuid": uuid.uuid4(), "event_id": event_id, "start_at": start,
                         "end_at": start + timedelta(hours=2), "capacity": rng.choice((None, 20, 50, 200)),
                         "local_date": start.astimezone(ZoneInfo(event["timezone"])).date(),
                         "seats_taken": 0, "created_at": now, "modified_at": now})
    session.execute(insert(Timeslot), rows)
    session.commit()
    session.execute(text("ANALYZE events"))
    session.execute(text("ANALYZE timeslots"))
    session.commit()


def plan_of(session, statement) -> dict:
    """PostgreSQL's chosen plan (EXPLAIN, JSON) for a SQLAlchemy select."""
    compiled = statement.compile(session.get_bind(), compile_kwargs={"literal_binds": True})
    return session.execute(text(f"EXPLAIN (FORMAT JSON) {compiled}")).scalar()[0]["Plan"]


def scanned_tables(plan: dict) -> dict[str, set[str]]:
    """{table: {scan node types}} over the whole plan tree."""
    found: dict[str, set[str]] = {}
    stack = [plan]
    while stack:
        node = stack.pop()
        if "Relation Name" in node:
            found.setdefault(node["Relation Name"], set()).add(node["Node Type"])
        stack.extend(node.get("Plans", []))
    return found


def search_statements():
    """The statements behind the bench's URLs: listing page 1, and near ZIP 10001 within 25 miles."""
    from mobilize.core.models import utcnow
    from mobilize.events.listing import PAGE_SIZE, _search_statement, filters_from_args

    soon = utcnow().date() + timedelta(days=30)

    def page(args):
        return _search_statement(filters_from_args(args), limit=PAGE_SIZE + 1).limit(PAGE_SIZE + 1)

    return {
        "listing": page({}),
        "listing page 5": page({"page": "5"}),
        "near 10001, 25 mi": page({"zipcode": "10001", "radius": "25"}),
        "near 10001, in person": page({"zipcode": "10001", "radius": "25", "mode": "in_person"}),
        "one day": page({"start_date": soon.isoformat(), "end_date": soon.isoformat()}),
        "rallies": page({"type": "rally"}),
        "rallies over ten days": page({"type": "rally", "start_date": soon.isoformat(),
                                       "end_date": (soon + timedelta(days=10)).isoformat()}),
    }


def main() -> None:
    floor = lib.floor()
    with lib.app_database() as env:
        from mobilize.accounts import services as accounts
        from mobilize.extensions import db

        app = lib.app_for(env)
        with app.app_context():
            user = accounts.sign_up("bench-events@example.org", "Bench", "bench-password-123", "Bench Events")
            org_id = accounts.organizations_for(user.id)[0].id
            seed_events(db.session, org_id)
            sample = db.session.scalar(text("SELECT uuid FROM events WHERE visibility = 'public' LIMIT 1"))
            plans = {name: scanned_tables(plan_of(db.session, st)) for name, st in search_statements().items()}
            counts = db.session.execute(
                text("SELECT (SELECT count(*) FROM events), (SELECT count(*) FROM timeslots)")).one()
            db.session.remove()
            db.engine.dispose()
        with lib.gunicorn(env) as base:
            runs = {
                "home page (no query)": lib.wrk(base + "/"),
                "listing": lib.wrk(base + "/events"),
                "near-me": lib.wrk(base + "/events?zipcode=10001&radius=25"),
                "near-me in person": lib.wrk(base + "/events?zipcode=60605&radius=50&mode=in_person"),
                "event page": lib.wrk(base + f"/events/{sample}"),
                "API /events, 25 a page": lib.wrk(base + "/api/v1/events"),
            }
    for name, result in runs.items():
        assert result["non2xx"] == 0 and result["errors"] == 0, f"{name}: {result}"
    print(f"{counts[0]:,} events, {counts[1]:,} timeslots; "
          f"{lib.WRK_CONNECTIONS} connections, {lib.WRK_DURATION} each, gunicorn {lib.DEFAULT_SHAPE}")
    print(lib.table([
        row for name, result in runs.items() for row in (
            (f"{name} req/s (vs /count)", result["rps"], floor["count"]["rps"]),
            (f"{name} p50 ms", result["p50_ms"], floor["count"]["p50_ms"]),
            (f"{name} p99 ms", result["p99_ms"], floor["count"]["p99_ms"]),
        )
    ]))
    print("\nEXPLAIN: how each search reads the tables")
    full_scans = []
    for name, tables in plans.items():
        print(f"  {name}: " + "; ".join(f"{t} by {', '.join(sorted(kinds))}" for t, kinds in sorted(tables.items())))
        full_scans += [f"{name}: {t}" for t in ("events", "timeslots") if "Seq Scan" in tables.get(t, set())]
    assert not full_scans, f"full table scans: {full_scans}"


if __name__ == "__main__":
    main()
