"""iCalendar (RFC 5545) from event and timeslot rows: pure functions, no queries.

The feeds, the one-event download and RSVP mail attachments all build their
VEVENTs here, so a timeslot has one UID and one shape wherever a calendar meets
it.  Rows may be ORM objects or result rows with the same attribute names.

What each audience (``public``, ``attendee``, ``organizer``) sees is decided in
``events.disclosure``.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from icalendar import Alarm, Calendar, Event, vCalAddress, vCategory, vDuration, vGeo, vText, vUri

from mobilize.events import disclosure
from mobilize.feeds.plaintext import markdown_to_text
from mobilize.feeds.timezones import UTC_NAMES, vtimezone

PRODID = "-//Mobilize//Event calendar feeds//EN"
# How often clients should poll (RFC 7986 REFRESH-INTERVAL and its older X- twin).
REFRESH_INTERVAL = timedelta(hours=1)
# Outlook's own value for an organizer without an address (MS-OXCICAL ORGANIZER).
NO_ADDRESS = "invalid:nomail"
_STATUS = {name: vText(name) for name in ("CONFIRMED", "TENTATIVE", "CANCELLED")}


@dataclass(frozen=True, slots=True)
class EventDetails:
    """What every VEVENT of one event says, decided once for all its timeslots.

    The values are icalendar's own types, encoded once and shared by the
    event's VEVENTs (an event with many timeslots is built about twice as fast).
    """

    summary: vText
    description: vText
    location: vText
    geo: vGeo | None
    url: vUri
    organizer: vCalAddress
    categories: vCategory
    cancelled: bool
    sequence: int
    zone: ZoneInfo
    modified: datetime


def uid(timeslot_uuid) -> str:
    """The timeslot's UID: stable for its life, the same in every feed and mail."""
    return f"{timeslot_uuid}@mobilize"


def type_label(event_type: str) -> str:
    return event_type.replace("_", " ").capitalize()


def _category(name: str) -> str:
    """Commas go: many parsers split CATEGORIES on escaped commas too."""
    return " ".join(name.replace(",", " ").split())


def _place(event, audience: str) -> tuple[str, tuple[float, float] | None, list[str]]:
    """LOCATION, GEO and description lines for the audience; the public gets what the event page shows."""
    if event.is_virtual:
        url, instructions = disclosure.join_link(event, audience)
        if url:
            return url, None, [f"Join online: {url}", *([instructions.strip()] if instructions else [])]
        return disclosure.public_place(event), None, ["Online event: the join link is sent to confirmed attendees."]
    if disclosure.sees_address(event, audience):
        spot = disclosure.coordinates(event, audience)
        location = disclosure.full_address(event) if audience != disclosure.PUBLIC else disclosure.public_place(event)
        return location, spot[:2] if spot else None, []
    return disclosure.public_place(event), None, ["The full address is shared with confirmed attendees."]


def _organizer(organization_name: str, name: str, email: str) -> vCalAddress:
    address = vCalAddress(f"mailto:{email}" if email else NO_ADDRESS)
    address.params["CN"] = (name or organization_name).replace('"', "'")
    return address


def event_details(event, *, url: str, organization_name: str, tags: Iterable[str] = (),
                  audience: str = "public") -> EventDetails:
    """The parts of the VEVENTs that come from the event row, for one audience."""
    if audience not in disclosure.AUDIENCES:
        raise ValueError(f"unknown audience {audience!r}")
    cancelled = event.status == "cancelled" or event.deleted_at is not None
    location, geo, place_lines = _place(event, audience)
    name, email, phone = disclosure.contact(event, audience)
    lines = []
    if cancelled:
        lines += ["This event was cancelled.", ""]
    if event.summary:
        lines += [event.summary.strip(), ""]
    text = markdown_to_text(event.description)
    if text:
        lines += [text, ""]
    if place_lines:
        lines += [*place_lines, ""]
    if event.accessibility_status == "accessible" or event.accessibility_notes:
        access = "Accessible venue." if event.accessibility_status == "accessible" else "Accessibility:"
        lines += [f"{access} {event.accessibility_notes.strip()}".strip(), ""]
    contact = " · ".join(p for p in (name, email, phone) if p)
    if contact:
        lines += [f"Contact: {contact}", ""]
    lines.append(f"Details and RSVP: {url}")
    return EventDetails(
        summary=vText(f"Cancelled: {event.title}" if cancelled else event.title),
        description=vText("\n".join(lines)),
        location=vText(location),
        geo=vGeo(geo) if geo else None,
        url=vUri(url),
        organizer=_organizer(organization_name, name, email),
        categories=vCategory([_category(c) for c in (type_label(event.event_type), *tags)]),
        cancelled=cancelled,
        sequence=event.sequence,
        zone=ZoneInfo(event.timezone),
        modified=event.modified_at,
    )


def vevent(details: EventDetails, timeslot, *, alarm: timedelta | None = None, rsvp: str | None = None,
           rsvp_revision: int = 0) -> Event:
    """One VEVENT for one timeslot.

    A deleted timeslot is a cancelled one.  In a supporter's own calendar,
    ``rsvp`` is their place's status: waitlisted is TENTATIVE, a withdrawn RSVP
    CANCELLED, and ``rsvp_revision`` (raised on each RSVP change) adds to SEQUENCE.
    """
    cancelled = details.cancelled or timeslot.deleted_at is not None or rsvp == "cancelled"
    modified = max(details.modified, timeslot.modified_at)
    summary = vText(f"Cancelled: {details.summary}") if cancelled and not details.cancelled else details.summary
    component = Event()
    component.add("uid", uid(timeslot.uuid))
    component.add("dtstamp", modified)
    component.add("dtstart", timeslot.start_at.astimezone(details.zone))
    component.add("dtend", timeslot.end_at.astimezone(details.zone))
    component.add("summary", summary)
    component.add("description", details.description)
    if details.location:
        component.add("location", details.location)
    if details.geo:
        component.add("geo", details.geo)
    component.add("url", details.url)
    component.add("organizer", details.organizer)
    component.add("categories", details.categories)
    component.add("status", _STATUS["CANCELLED" if cancelled else "TENTATIVE" if rsvp == "waitlisted" else "CONFIRMED"])
    component.add("sequence", details.sequence + rsvp_revision)
    component.add("created", timeslot.created_at)
    component.add("last-modified", modified)
    if alarm is not None and not cancelled:
        reminder = Alarm()
        reminder.add("action", "DISPLAY")
        reminder.add("description", summary)
        reminder.add("trigger", -alarm)
        component.add_component(reminder)
    return component


def calendar(vevents: Iterable[Event], *, name: str, description: str, zones: Iterable[str] = ()) -> Calendar:
    """A published VCALENDAR: a VTIMEZONE for every zone named, then the events.

    ``zones`` are the IANA names the events' DTSTART/DTEND use; X-WR-TIMEZONE
    names the first one (the feed's most common zone when the caller sorts so).
    """
    zones = [z for z in dict.fromkeys(zones) if z not in UTC_NAMES]
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", vText(name))
    cal.add("x-wr-caldesc", vText(description))
    if zones:
        cal.add("x-wr-timezone", zones[0])
    cal.add("refresh-interval", REFRESH_INTERVAL, parameters={"VALUE": "DURATION"})
    cal.add("x-published-ttl", vDuration(REFRESH_INTERVAL))
    for zone in zones:
        cal.add_component(vtimezone(zone))
    for component in vevents:
        cal.add_component(component)
    return cal


def event_calendar(event, timeslots: Iterable, *, url: str, organization_name: str, tags: Iterable[str] = (),
                   audience: str = "public", alarm: timedelta | None = None) -> bytes:
    """One event's timeslots as an .ics file: the download and the mail attachment."""
    details = event_details(event, url=url, organization_name=organization_name, tags=tags, audience=audience)
    vevents = [vevent(details, slot, alarm=alarm) for slot in timeslots]
    return calendar(vevents, name=event.title, description=f"{event.title}, hosted by {organization_name}",
                    zones=[event.timezone]).to_ical()
