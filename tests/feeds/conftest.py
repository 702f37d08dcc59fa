"""Feeds tests: events made through the events service, and every feed parsed by two parsers."""


import icalendar
import pytest
from ical.calendar_stream import IcsCalendarStream

from mobilize.events import services as events
from tests.support.factories import event_fields


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
