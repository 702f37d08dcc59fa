"""The pure iCalendar builders: text escaping and folding, time zones, what each audience sees."""

import uuid
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest

from mobilize.feeds import ical, timezones
from mobilize.feeds.plaintext import markdown_to_text


def event_row(**overrides):
    fields = dict(
        uuid=uuid.uuid4(), title="Flex Friday", summary="", description="", event_type="town_hall",
        status="confirmed", deleted_at=None, sequence=3, timezone="America/New_York", is_virtual=False,
        virtual_action_url="", virtual_instructions="", venue="Union Hall", address_line1="1 Main St",
        address_line2="Room 2", locality="Springfield", region="IL", postal_code="62701", country="US",
        latitude=39.8017, longitude=-89.6437, address_visibility="public", contact_name="Olive",
        contact_email="olive@example.org", contact_phone="555-0100", contact_name_public=True,
        contact_email_public=False, contact_phone_public=False, accessibility_status="unknown",
        accessibility_notes="", modified_at=datetime(2026, 10, 1, 12, tzinfo=UTC),
    )
    fields.update(overrides)
    return SimpleNamespace(**fields)


def slot_row(start: datetime, hours: float = 2, **overrides):
    fields = dict(uuid=uuid.uuid4(), start_at=start, end_at=start + timedelta(hours=hours), deleted_at=None,
                  created_at=datetime(2026, 9, 1, tzinfo=UTC), modified_at=datetime(2026, 9, 2, tzinfo=UTC))
    fields.update(overrides)
    return SimpleNamespace(**fields)


def one_event_feed(event, slots, **kwargs) -> bytes:
    return ical.event_calendar(event, slots, url="https://mobilize.test/events/x", organization_name="Flex Org",
                               **kwargs)


def test_text_with_commas_semicolons_backslashes_newlines_and_non_ascii_survives_both_parsers(parse):
    title = ('Café, "flex"; work \\ life — 働き方 ✊ ' + "long " * 30).strip()
    event = event_row(title=title, summary="Line one\nLine two; with, punctuation \\ and ünïcödé 🎉" * 5,
                      venue="Hall; East, Wing", tags=None)
    slot = slot_row(datetime(2026, 12, 5, 23, tzinfo=UTC))
    body = one_event_feed(event, [slot], tags=["a,b", "c;d", "work\\life"])
    feed = parse(body)
    vevent = feed.by_uid(ical.uid(slot.uuid))
    assert str(vevent["SUMMARY"]) == title
    assert "Line one\nLine two; with, punctuation \\ and ünïcödé 🎉" in str(vevent["DESCRIPTION"])
    assert str(vevent["LOCATION"]).startswith("Hall; East, Wing, 1 Main St")
    strict = feed.strict_by_uid(ical.uid(slot.uuid))
    assert strict.summary == title
    assert strict.location.startswith("Hall; East, Wing, 1 Main St")
    assert set(strict.categories) == {"Town hall", "a b", "c;d", "work\\life"}  # commas split in some parsers
    assert max(len(line) for line in body.split(b"\r\n")) == 75  # long lines were folded, at 75 octets


ZONES = ["America/New_York", "America/Los_Angeles", "Europe/London", "Europe/Berlin", "Europe/Dublin",
         "Australia/Sydney", "Pacific/Auckland", "Pacific/Chatham", "Asia/Kolkata", "Asia/Tokyo",
         "America/Sao_Paulo", "Asia/Jerusalem", "America/Santiago", "UTC"]


@pytest.mark.parametrize("zone", ZONES)
def test_vtimezone_gives_the_same_offsets_as_the_tz_database(zone):
    """Across three years from a month ago, every instant maps to the same local offset."""
    tz = timezones.vtimezone(zone).to_tz()
    database = ZoneInfo(zone)
    now = datetime.now(UTC)
    for hours in range(-24 * 31, 24 * 365 * 3, 5):
        instant = now + timedelta(hours=hours)
        local = instant.astimezone(database)
        assert local.replace(tzinfo=tz).utcoffset() == local.utcoffset(), (zone, instant)


@pytest.mark.parametrize("zone", ["America/New_York", "Europe/Berlin", "Australia/Sydney", "Pacific/Chatham"])
def test_outlook_reads_zones_from_rrules_not_rdates(zone):
    """Outlook ignores RDATE in VTIMEZONE (MS-STANOICAL 2.2.47): zones with DST use one yearly RRULE each."""
    component = timezones.vtimezone(zone)
    observances = component.walk("STANDARD") + component.walk("DAYLIGHT")
    assert len(observances) == 2
    for observance in observances:
        assert "RDATE" not in observance
        rule = observance["RRULE"]
        assert rule["FREQ"] == ["YEARLY"] and len(rule["BYMONTH"]) == 1 and len(rule["BYDAY"]) == 1


def test_start_and_end_in_utc_are_exact_in_many_zones_and_across_a_dst_change(parse):
    cases = [
        # New York falls back on 1 Nov 2026: 00:30 EDT to 02:30 EST is three hours, not two.
        ("America/New_York", datetime(2026, 11, 1, 4, 30, tzinfo=UTC), 3),
        ("America/New_York", datetime(2027, 3, 14, 6, 30, tzinfo=UTC), 2),  # springs forward at 2 AM local
        ("Europe/Berlin", datetime(2026, 10, 25, 0, 30, tzinfo=UTC), 2),
        ("Australia/Sydney", datetime(2027, 4, 3, 14, 0, tzinfo=UTC), 3),
        ("Pacific/Chatham", datetime(2026, 9, 26, 13, 0, tzinfo=UTC), 2),
        ("Asia/Kolkata", datetime(2026, 12, 5, 12, 30, tzinfo=UTC), 1.5),
        ("UTC", datetime(2026, 12, 5, 12, 0, tzinfo=UTC), 1),
    ]
    rows = [(event_row(timezone=zone), slot_row(start, hours)) for zone, start, hours in cases]
    vevents = [ical.vevent(ical.event_details(e, url="https://m.test/e", organization_name="Org"), s)
               for e, s in rows]
    body = ical.calendar(vevents, name="Zones", description="Zones", zones=[z for z, _, _ in cases]).to_ical()
    feed = parse(body)
    assert set(feed.text.count(f"TZID:{z}\r\n") for z, _, _ in cases if z != "UTC") == {1}
    for _, slot in rows:
        vevent = feed.by_uid(ical.uid(slot.uuid))
        assert vevent.decoded("DTSTART").astimezone(UTC) == slot.start_at
        assert vevent.decoded("DTEND").astimezone(UTC) == slot.end_at
        strict = feed.strict_by_uid(ical.uid(slot.uuid))
        assert strict.dtstart.astimezone(UTC) == slot.start_at
        assert strict.dtend.astimezone(UTC) == slot.end_at


def test_public_audience_never_sees_join_link_private_address_or_private_contacts():
    virtual = event_row(is_virtual=True, virtual_action_url="https://meet.example/secret-room",
                        virtual_instructions="Passcode 4242")
    private_place = event_row(address_visibility="private")
    for event in (virtual, private_place):
        details = ical.event_details(event, url="https://m.test/e", organization_name="Org")
        text = ical.vevent(details, slot_row(datetime(2026, 12, 5, tzinfo=UTC))).to_ical().decode()
        unfolded = text.replace("\r\n ", "")
        for secret in ("secret-room", "4242", "1 Main St", "Room 2", "Union Hall", "olive@example.org",
                       "555-0100", "39.8017"):
            assert secret not in unfolded
    assert ical.event_details(private_place, url="u", organization_name="Org").location == "Springfield, IL"


def test_confirmed_attendees_see_the_join_link_and_address_organizers_also_the_contacts():
    virtual = event_row(is_virtual=True, virtual_action_url="https://meet.example/secret-room",
                        virtual_instructions="Passcode 4242")
    attendee = ical.event_details(virtual, url="u", organization_name="Org", audience="attendee")
    assert attendee.location == "https://meet.example/secret-room" and "Passcode 4242" in attendee.description
    assert "olive@example.org" not in attendee.description
    private_place = event_row(address_visibility="private")
    attendee = ical.event_details(private_place, url="u", organization_name="Org", audience="attendee")
    assert attendee.location == "Union Hall, 1 Main St, Room 2, Springfield, IL 62701, US"
    organizer = ical.event_details(private_place, url="u", organization_name="Org", audience="organizer")
    assert "olive@example.org" in organizer.description and "555-0100" in organizer.description
    assert str(organizer.organizer) == "mailto:olive@example.org"


def test_public_contact_email_becomes_the_organizer_address():
    event = event_row(contact_email_public=True)
    details = ical.event_details(event, url="u", organization_name="Flex Org")
    assert str(details.organizer) == "mailto:olive@example.org"
    assert details.organizer.params["CN"] == "Olive"
    hidden = ical.event_details(event_row(contact_name_public=False), url="u", organization_name="Flex Org")
    assert str(hidden.organizer) == ical.NO_ADDRESS and hidden.organizer.params["CN"] == "Flex Org"


def test_cancelled_event_deleted_timeslot_and_withdrawn_rsvp_are_cancelled_entries():
    start = datetime(2026, 12, 5, tzinfo=UTC)
    cancelled = ical.event_details(event_row(status="cancelled", sequence=4), url="u", organization_name="Org")
    vevent = ical.vevent(cancelled, slot_row(start), alarm=timedelta(minutes=30))
    assert vevent["STATUS"] == "CANCELLED" and vevent["SEQUENCE"] == 4
    assert str(vevent["SUMMARY"]) == "Cancelled: Flex Friday"
    assert not vevent.walk("VALARM")  # no reminder for what will not happen
    live = ical.event_details(event_row(), url="u", organization_name="Org")
    gone_slot = ical.vevent(live, slot_row(start, deleted_at=start))
    assert gone_slot["STATUS"] == "CANCELLED" and str(gone_slot["SUMMARY"]) == "Cancelled: Flex Friday"
    assert ical.vevent(live, slot_row(start), rsvp="cancelled", rsvp_revision=2)["SEQUENCE"] == 5
    assert ical.vevent(live, slot_row(start), rsvp="waitlisted")["STATUS"] == "TENTATIVE"


def test_alarm_reminds_before_each_timeslot(parse):
    slot = slot_row(datetime(2026, 12, 5, 18, tzinfo=UTC))
    feed = parse(one_event_feed(event_row(), [slot], alarm=timedelta(hours=1)))
    alarm = feed.by_uid(ical.uid(slot.uuid)).walk("VALARM")[0]
    assert alarm["ACTION"] == "DISPLAY" and alarm.decoded("TRIGGER") == -timedelta(hours=1)
    assert feed.strict_by_uid(ical.uid(slot.uuid)).alarm[0].trigger == -timedelta(hours=1)


def test_calendar_has_the_properties_clients_read():
    body = one_event_feed(event_row(), [slot_row(datetime(2026, 12, 5, tzinfo=UTC))]).decode()
    for line in ("VERSION:2.0", "CALSCALE:GREGORIAN", "METHOD:PUBLISH", "X-WR-CALNAME:Flex Friday",
                 "X-WR-TIMEZONE:America/New_York", "REFRESH-INTERVAL;VALUE=DURATION:PT1H", "X-PUBLISHED-TTL:PT1H",
                 f"PRODID:{ical.PRODID}"):
        assert f"\r\n{line}\r\n" in body
    assert "X-WR-CALDESC:" in body


def test_markdown_becomes_readable_plain_text():
    text = markdown_to_text("# Join us\n\nCome **talk** about [flex work](https://ex.org/a).\n\n"
                            "- one\n- two\n  1. sub\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n<b>raw</b>")
    assert text == ("Join us\n\nCome talk about flex work (https://ex.org/a).\n\n- one\n- two\n  1. sub\n\n"
                    "a | b\n1 | 2\n\n<b>raw</b>")
