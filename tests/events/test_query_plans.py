"""On PostgreSQL, with bench-sized data, every search reads events and timeslots through indexes."""

import pytest

from bench.events import plan_of, scanned_tables, search_statements, seed_events
from mobilize.extensions import db


@pytest.fixture
def bench_data(make):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("query plans are checked on PostgreSQL, the production database")
    _, org = make.organizer()
    seed_events(db.session, org.id)


def test_listing_and_near_me_searches_use_indexes_not_full_scans(bench_data):
    for name, statement in search_statements().items():
        tables = scanned_tables(plan_of(db.session, statement))
        assert tables.get("events") and tables.get("timeslots"), (name, tables)
        for table in ("events", "timeslots"):
            assert "Seq Scan" not in tables[table], f"{name} scans all of {table}: {tables}"
