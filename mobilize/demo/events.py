"""Demo events across the US and online, made through the events service; skipped when already there."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from mobilize.accounts.models import Membership, Organization
from mobilize.core.transaction import unit_of_work
from mobilize.events import services
from mobilize.events.models import Event
from mobilize.extensions import db

DESCRIPTION = (
    "Flexible work is a workers' issue, a parents' issue and a climate issue. Come meet neighbours who "
    "want the same thing, hear what's moving in Congress, and leave with one concrete next step.\n\n"
    "**What to expect**\n\n- A short welcome and update (15 minutes)\n- Small-group conversations\n"
    "- Sign-up for the next action\n\nBring a friend: everyone is welcome, no experience needed."
)
# (org slug prefix, title, type, zone, ZIP or None for online, venue, street, city, state, days ahead, hour, slots)
EVENTS = [
    ("1-million", "Flex Friday meetup: Midtown", "meeting", "America/New_York", "10001", "Union Hall",
     "242 W 30th St", "New York", "NY", 6, 18, 1),
    ("1-million", "Rally for the right to request flexible work", "rally", "America/New_York", "10007",
     "City Hall Park", "Broadway & Chambers St", "New York", "NY", 13, 12, 1),
    ("1-million", "Door-knocking for flexible work: Hoboken", "canvass", "America/New_York", "07030",
     "Church Square Park", "400 Garden St", "Hoboken", "NJ", 9, 10, 3),
    ("1-million", "Organizer training: telling your flexibility story", "training", "America/New_York", None,
     "", "", "", "", 4, 19, 1),
    ("1-million", "Town hall with working parents", "town_hall", "America/Chicago", "60605",
     "Harold Washington Library", "400 S State St", "Chicago", "IL", 11, 18, 1),
    ("1-million", "Phone bank: call the Senate Commerce Committee", "phone_bank", "America/Los_Angeles", None,
     "", "", "", "", 2, 17, 2),
    ("parents-at-work", "School-hours meetings: employer breakfast", "meeting", "America/Chicago", "62701",
     "Springfield Public Library", "326 S 7th St", "Springfield", "IL", 8, 8, 1),
    ("parents-at-work", "Webinar: negotiating a flexible schedule", "webinar", "America/Denver", None,
     "", "", "", "", 5, 12, 1),
    ("remote-first", "Remote First Denver happy hour", "meeting", "America/Denver", "80202", "Union Station",
     "1701 Wynkoop St", "Denver", "CO", 10, 17, 1),
    ("remote-first", "Bay Area canvass: remote-first pledge", "canvass", "America/Los_Angeles", "94103",
     "SoMa Community Center", "1 Folsom St", "San Francisco", "CA", 12, 10, 2),
]

# Co-hosted events: title -> co-host's slug prefix. Set as accepted: the demo's organizations agree already.
COHOSTS = {"Town hall with working parents": "parents-at-work"}


def demo_organization(slug_prefix: str) -> Organization | None:
    return db.session.scalar(select(Organization).where(Organization.slug.startswith(slug_prefix)))


def _fields(spec, start: datetime) -> dict:
    _, title, kind, zone, zipcode, venue, street, city, state, _, _, slots = spec
    fields = {
        "title": title, "summary": "Meet neighbours organizing for remote work, flexible hours and job sharing.",
        "description": DESCRIPTION, "event_type": kind, "timezone": zone, "tags": ["flexible work"],
        "contact_name": "Maya Okafor", "accessibility_status": "accessible" if zipcode else "unknown",
        "timeslots": [{"start_at": start + timedelta(days=7 * n), "end_at": start + timedelta(days=7 * n, hours=2),
                       "capacity": (40 if kind != "rally" else None)} for n in range(slots)],
    }
    if zipcode:
        fields.update(venue=venue, address_line1=street, locality=city, region=state, postal_code=zipcode)
    else:
        fields.update(is_virtual=True, virtual_action_url="https://meet.example.org/flex-movement",
                      virtual_instructions="Join five minutes early to test your audio.")
    return fields


def seed_events() -> str:
    created = 0
    for spec in EVENTS:
        org = demo_organization(spec[0])
        if org is None or db.session.scalar(select(Event.id).where(Event.title == spec[1])):
            continue
        user_id = db.session.scalar(select(Membership.user_id).where(Membership.organization_id == org.id))
        day = (datetime.now(ZoneInfo(spec[3])) + timedelta(days=spec[9])).date()
        event = services.create_event(user_id, org.id, _fields(spec, datetime(day.year, day.month, day.day, spec[10])))
        if spec[1] in COHOSTS:
            with unit_of_work():
                event.cohosts.append(demo_organization(COHOSTS[spec[1]]))
        created += 1
    return f"events: {created} created"
