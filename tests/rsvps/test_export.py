"""The attendee CSV streams: 100,000 rows go out in constant memory."""

import os
import tracemalloc

import pytest
from sqlalchemy import text

from mobilize.extensions import db
from tests.support.session import login

ROWS = 100_000


def bulk_attendances(event, rows: int) -> None:
    """``rows`` people RSVPed to the event's first timeslot, written in three INSERT ... SELECTs."""
    slot = event.timeslots[0]
    params = {"rows": rows, "event_id": event.id, "slot_id": slot.id}
    db.session.execute(text("""
        INSERT INTO people (uuid, email, email_normalized, given_name, family_name, phone, postal_code, locality,
                            country, created_at, modified_at)
        SELECT gen_random_uuid(), 'p' || g || '@example.net', 'p' || g || '@example.net', 'Given' || g, 'Family',
               '', '62701', '', 'US', now(), now()
        FROM generate_series(1, :rows) AS g"""), params)
    db.session.execute(text("""
        INSERT INTO attendances (uuid, event_id, person_id, guests, source, referrer, utm_source, utm_medium,
                                 utm_campaign, utm_term, utm_content, revision, manage_key, created_at, modified_at)
        SELECT gen_random_uuid(), :event_id, id, 0, 'form', '', '', '', '', '', '', 1, md5(id::text), now(), now()
        FROM people"""), params)
    db.session.execute(text("""
        INSERT INTO attendance_timeslots (attendance_id, timeslot_id, status, queued_at, confirmed_at, created_at,
                                          modified_at)
        SELECT id, :slot_id, CASE WHEN id % 10 = 0 THEN 'waitlisted' ELSE 'confirmed' END,
               now() + id * interval '1 microsecond', now(), now(), now()
        FROM attendances"""), params)
    db.session.commit()
    with db.engine.begin() as conn:  # as autovacuum would after a bulk load
        conn.execute(text("ANALYZE people, attendances, attendance_timeslots"))


@pytest.mark.slow
@pytest.mark.skipif(os.environ.get("TEST_DATABASE") == "sqlite", reason="bulk rows via generate_series")
def test_csv_export_of_100000_rows_streams_in_constant_memory(client, make):
    user, org = make.organizer()
    event = make.event(org, capacity=None)
    bulk_attendances(event, ROWS)
    login(client, user)
    response = client.get(f"/orgs/{org.slug}/events/{event.uuid}/attendees.csv")
    assert response.is_streamed

    lines = waitlisted = chunks = 0
    tracemalloc.start()
    try:
        for chunk in response.response:
            text_chunk = chunk.decode() if isinstance(chunk, bytes) else chunk
            lines += text_chunk.count("\n")
            waitlisted += text_chunk.count(",waitlisted,")
            chunks += 1
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        response.close()
    assert lines == ROWS + 1
    assert waitlisted == ROWS // 10
    assert chunks > 100
    # Holding the rows (or the whole CSV, ~10 MB) would take far more than this.
    assert peak < 4 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB"
