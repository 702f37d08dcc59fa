"""Feeds tests: events made through the events service, and every feed parsed by two parsers."""

from datetime import datetime, timedelta

import icalendar
import pytest
from ical.calendar_stream import IcsCalendarStream

from mobilize.core.models import utcnow
from mobilize.events import services as events


def event_fields(**overrides) -> dict:
    """A public in-person event a week from now, 6-8 PM in New York, unless overridden."""
    day = (utcnow() + timedelta(days=7)).date()
    fields = {
        "title": "Flex Friday meetup", "summary": "Talk flexible work with neighbours.",
        "description": "Bring a friend. **Snacks** provided.", "event_type": "meeting", "visibility": "public",
        "timezone": "America/New_York", "venue": "Union Hall", "address_line1": "1 Main St",
        "locality": "New York", "region": "NY", "postal_code": "10001", "country": "US",
        "latitude": 40.7506, "longitude": -73.9972,
        "timeslots": [{"start_at": datetime(day.year, day.month, day.day, 18),
                       "end_at": datetime(day.year, day.month, day.day, 20), "capacity": 30}],
        "tags": ["remote work"], "contact_name": "Olive Organizer", "contact_email": "olive.private@example.org",
        "contact_phone": "555-0100",
    }
    fields.update(overrides)
    return fields


@pytest.fixture
def new_event():
    """create(user, org, **fields): an event made as an organizer makes it."""

    def create(user, org, **overrides):
        return events.create_event(user.id, org.id, event_fields(**overrides))

    return create


class Parsed:
    """One feed as both parsers read it."""

    def __init__(self, body: bytes):
        self.body = body
        self.text = body.decode("utf-8")
        self.calendar = icalendar.Calendar.from_ical(body)
        for component in self.calendar.walk():
            assert component.errors == [], f"{component.name}: {component.errors}"
        self.strict = IcsCalendarStream.calendar_from_ics(self.text)  # pydantic: raises on any violation
        self.events = self.calendar.walk("VEVENT")

    def by_uid(self, uid: str):
        found = [e for e in self.events if str(e["UID"]) == uid]
        assert len(found) == 1, f"{uid} appears {len(found)} times"
        return found[0]

    def strict_by_uid(self, uid: str):
        found = [e for e in self.strict.events if e.uid == uid]
        assert len(found) == 1
        return found[0]

    def uids(self) -> set[str]:
        return {str(e["UID"]) for e in self.events}


def check_lines(body: bytes) -> None:
    """RFC 5545 3.1: CRLF line ends, no line over 75 octets, folds never split a UTF-8 character."""
    assert body.endswith(b"\r\n")
    lines = body[:-2].split(b"\r\n")
    for line in lines:
        assert b"\n" not in line and b"\r" not in line
        assert len(line) <= 75, line
        line.decode("utf-8")  # a fold inside a multi-byte character would fail here


@pytest.fixture
def parse():
    def run(body: bytes) -> Parsed:
        check_lines(body)
        return Parsed(body)

    return run
