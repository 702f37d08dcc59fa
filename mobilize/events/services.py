"""Events: organizers create, change, cancel and delete them; supporters find them.

Every rule about events lives here, for the HTML side, the API and the feeds
alike. Writes lock the event row, so two editors never lose a sequence number.
"""

import math
import re
import uuid as uuid_module
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from sqlalchemy import Float, and_, cast, exists, func, null, or_, select, union_all
from sqlalchemy.orm import aliased, defer, joinedload, selectinload

from mobilize.accounts.models import Membership, Organization
from mobilize.accounts.services import require_member
from mobilize.core.errors import Conflict, Forbidden, Invalid, NotFound
from mobilize.core.markdown import render_markdown
from mobilize.core.models import utcnow
from mobilize.core.sql import upsert
from mobilize.core.urls import page_number
from mobilize.events import cohosts, search, times
from mobilize.events.models import (
    ACCESSIBILITY,
    EVENT_TYPES,
    VISIBILITIES,
    CohostInvitation,
    Event,
    Tag,
    Timeslot,
    event_cohosts,
    event_tags,
)
from mobilize.extensions import db
from mobilize.people.services import clean_email

PAGE_SIZE = 20
MAX_DESCRIPTION = 20_000
MAX_TIMESLOTS = 100
MAX_TAGS = 10
MAX_COHOSTS = 10
MAX_SLOT_LENGTH = timedelta(days=31)
MAX_CAPACITY = 1_000_000
MODES = ("any", "in_person", "virtual")

# Called with the event's id inside the transaction of every significant change
# (time, place, cancellation), before the commit: append to be told.
ON_SIGNIFICANT_CHANGE: list[Callable[[int], None]] = []

TEXT_LIMITS = {
    "title": 200, "summary": 500, "featured_image_url": 1000, "contact_name": 200, "contact_email": 320,
    "contact_phone": 40, "accessibility_notes": 2000, "virtual_action_url": 1000, "virtual_instructions": 5000,
    "venue": 200, "address_line1": 200, "address_line2": 200, "locality": 100, "region": 100, "postal_code": 20,
    "description": MAX_DESCRIPTION,
}
CHOICES = {
    "event_type": EVENT_TYPES, "visibility": VISIBILITIES, "accessibility_status": ACCESSIBILITY,
    "address_visibility": ("public", "private"),
}
FLAGS = ("high_priority", "contact_name_public", "contact_email_public", "contact_phone_public", "is_virtual",
         "allow_waitlist")
PLACE_FIELDS = ("is_virtual", "venue", "address_line1", "address_line2", "locality", "region", "postal_code",
                "country", "latitude", "longitude", "virtual_action_url")
EDITABLE = (*TEXT_LIMITS, *CHOICES, *FLAGS, "country", "latitude", "longitude", "timezone", "max_guests")
CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
PHONE = re.compile(r"^[0-9+().\-\s/x]*$")


def clean_text(value, limit: int | None = None) -> str:
    """Text as stored: no control characters (PostgreSQL refuses NUL), trimmed."""
    text = CONTROL_CHARS.sub("", str(value or "")).strip()
    return text[:limit] if limit else text


# Finding public events: the events page, the feeds and the public API share this.

@dataclass(frozen=True)
class EventFilters:
    """What a supporter is looking for. Dates are calendar days in each event's own zone."""

    event_types: tuple[str, ...] = ()
    tag: str | None = None
    organization: str | None = None  # slug; hosted or co-hosted
    start_date: date | None = None
    end_date: date | None = None
    mode: str = "any"  # any, in_person, virtual
    zipcode: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    radius: float = 25.0
    unit: str = "mi"
    since: datetime | None = None  # only timeslots starting then or later; None means now
    include_cancelled: bool = False
    page: int = 1
    place_name: str = field(default="", compare=False)  # "Brooklyn, NY" for a ZIP code

    @property
    def is_near(self) -> bool:
        return self.latitude is not None and self.longitude is not None

    def args(self, **changes) -> dict:
        """Query arguments that reproduce these filters (for links and the next page)."""
        f = replace(self, **changes)
        args = {"type": list(f.event_types), "tag": f.tag, "org": f.organization,
                "start_date": f.start_date and f.start_date.isoformat(),
                "end_date": f.end_date and f.end_date.isoformat(),
                "mode": None if f.mode == "any" else f.mode, "page": None if f.page == 1 else f.page}
        if f.zipcode:
            args.update(zipcode=f.zipcode)
        elif f.is_near:
            args.update(lat=f.latitude, lng=f.longitude)
        if f.is_near:
            args.update(radius=f"{f.radius:g}", unit=f.unit)
        return {k: v for k, v in args.items() if v not in (None, "", [])}


def _arg(args, name: str) -> str:
    return clean_text(args.get(name), 200)


def _date_arg(args, name: str) -> date | None:
    raw = _arg(args, name)
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise Invalid("Dates look like 2026-12-05.", {name: f"“{raw[:20]}” is not a date."}) from None


def _number_arg(args, name: str) -> float | None:
    raw = _arg(args, name)
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise Invalid("Enter a number.", {name: f"“{raw[:20]}” is not a number."})
    return value


def filters_from_args(args) -> EventFilters:
    """EventFilters from query arguments (a dict or a MultiDict), or Invalid naming the bad ones."""
    getlist = getattr(args, "getlist", lambda name: [args[name]] if args.get(name) else [])
    types = tuple(dict.fromkeys(clean_text(t) for t in getlist("type") if clean_text(t)))
    unknown = [t for t in types if t not in EVENT_TYPES]
    if unknown:
        raise Invalid(f"Event types are {', '.join(EVENT_TYPES)}.", {"type": f"Unknown type “{unknown[0][:30]}”."})
    start_date, end_date = _date_arg(args, "start_date"), _date_arg(args, "end_date")
    if start_date and end_date and end_date < start_date:
        raise Invalid("The end date is before the start date.", {"end_date": "Pick a day on or after the start."})
    mode = _arg(args, "mode") or "any"
    if mode not in MODES:
        raise Invalid("Choose any, in person or virtual.", {"mode": "Unknown choice."})
    unit = _arg(args, "unit") or "mi"
    if unit not in search.UNITS:
        raise Invalid("Distances are in miles (mi) or kilometres (km).", {"unit": "Use mi or km."})
    radius = _number_arg(args, "radius")
    if radius is None:
        radius = 25.0 if unit == "mi" else 40.0
    if not 0 < radius <= search.MAX_RADIUS[unit]:
        raise Invalid(f"The distance must be more than 0 and at most {search.MAX_RADIUS[unit]:g} {unit}.",
                      {"radius": "Out of range."})
    zipcode, place, lat, lng = _arg(args, "zipcode"), "", _number_arg(args, "lat"), _number_arg(args, "lng")
    if zipcode:
        found = search.zip_location(zipcode)
        if found is None:
            raise Invalid("We could not find that ZIP code. Enter five digits, like 10001.",
                          {"zipcode": f"“{zipcode[:10]}” is not a US ZIP code we know."})
        lat, lng, place = found["latitude"], found["longitude"], f"{found['city']}, {found['state']}"
    elif (lat is None) != (lng is None):
        raise Invalid("Give both a latitude and a longitude.", {"lat": "Both are needed."})
    if lat is not None:
        search.check_coordinates(lat, lng, "lat")
    page = page_number(_arg(args, "page"))
    return EventFilters(event_types=types, tag=_arg(args, "tag").lower().lstrip("#") or None,
                        organization=_arg(args, "org") or None, start_date=start_date, end_date=end_date, mode=mode,
                        zipcode=zipcode or None, latitude=lat, longitude=lng, radius=radius, unit=unit, page=page,
                        place_name=place)


# Built once: aliasing a table copies its columns, a cost worth not paying on every request.
_SLOT, _EARLIER = aliased(Timeslot, name="slot"), aliased(Timeslot, name="earlier")


def _branch(filters: EventFilters, since: datetime):
    """One way of matching (in person near a point, or not near anything): each event once, at its
    first matching timeslot, as (select, next_start, distance, slot_id) ordered soonest or nearest first.

    The first-timeslot anti-join lets PostgreSQL walk ix_timeslots_start_event
    in order and stop at the page's end; near a point it starts instead from
    the bounding box on ix_events_location and sorts the few candidates by
    exact distance.
    """
    slot, earlier = _SLOT, _EARLIER

    def window(ts):
        clauses = [ts.deleted_at.is_(None), ts.start_at >= since]
        if filters.start_date:
            # The widest the day can start anywhere (UTC+14), then the exact day in the event's zone.
            clauses += [ts.start_at >= datetime.combine(filters.start_date, time(), UTC) - timedelta(hours=14),
                        ts.local_date >= filters.start_date]
        if filters.end_date:
            clauses += [ts.start_at < datetime.combine(filters.end_date, time(), UTC) + timedelta(hours=36),
                        ts.local_date <= filters.end_date]
        return clauses

    first = ~exists().where(
        earlier.event_id == slot.event_id, *window(earlier),
        or_(earlier.start_at < slot.start_at, and_(earlier.start_at == slot.start_at, earlier.id < slot.id)),
    )
    where = [*window(slot), first, Event.visibility == "public", Event.deleted_at.is_(None)]
    if not filters.include_cancelled:
        where.append(Event.status == "confirmed")
    if filters.event_types:
        where.append(Event.event_type.in_(filters.event_types))
    if filters.tag:
        where.append(exists().where(event_tags.c.event_id == Event.id, event_tags.c.tag_id == Tag.id,
                                    Tag.name == filters.tag))
    if filters.organization:
        org_id = select(Organization.id).where(Organization.slug == filters.organization).scalar_subquery()
        where.append(or_(Event.organization_id == org_id,
                         exists().where(event_cohosts.c.event_id == Event.id,
                                        event_cohosts.c.organization_id == org_id)))
    if filters.mode == "virtual":
        where.append(Event.is_virtual.is_(True))
    elif filters.mode == "in_person":
        where.append(Event.is_virtual.is_(False))

    distance = cast(null(), Float)
    order = [slot.start_at, slot.id]
    if filters.is_near:
        lat, lng = filters.latitude, filters.longitude
        min_lat, max_lat, min_lng, max_lng = search.bounding_box(lat, lng, filters.radius, filters.unit)
        where.append(Event.latitude.between(min_lat, max_lat))
        if min_lng is not None:
            where.append(Event.longitude.between(min_lng, max_lng))
        distance = search.distance_sql(Event.latitude, Event.longitude, lat, lng, filters.unit)
        where.append(distance <= filters.radius)
        order = [distance, *order]
    statement = (select(Event, slot.start_at.label("next_start"), distance.label("distance"))
                 .select_from(slot).join(Event, Event.id == slot.event_id).where(*where).order_by(*order))
    return statement, slot.start_at, distance, slot.id


def _search_statement(filters: EventFilters, now: datetime | None = None, limit: int | None = None):
    """select(Event, next_start, distance) for the filters, in page order.

    Near a point with virtual events included, the nearby in-person events
    come first by distance, then the virtual ones by date: two index-driven
    branches (each cut at ``limit`` rows) joined by UNION ALL, since an OR
    across them would defeat both indexes.
    """
    since = filters.since or now or utcnow()
    if not (filters.is_near and filters.mode == "any"):
        return _branch(filters, since)[0]
    branches = []
    for part in (replace(filters, mode="in_person"), replace(filters, mode="virtual", latitude=None, longitude=None)):
        statement, next_start, distance, slot_id = _branch(part, since)
        statement = statement.with_only_columns(Event.id.label("event_id"), next_start.label("next_start"),
                                                distance.label("distance"), slot_id.label("slot_id"))
        if limit is not None:
            statement = statement.limit(limit)
        branches.append(select(statement.subquery()))
    hits = union_all(*branches).subquery("hits")
    return (select(Event, hits.c.next_start, hits.c.distance).join(hits, Event.id == hits.c.event_id)
            .order_by(hits.c.distance.asc().nulls_last(), hits.c.next_start, hits.c.slot_id))


def public_events_query(filters: EventFilters, now: datetime | None = None):
    """A select of Event: the public events matching ``filters``, in page order (soonest, or nearest)."""
    return _search_statement(filters, now).with_only_columns(Event)


@dataclass
class Hit:
    event: Event
    next_start: datetime
    distance: float | None


@dataclass
class SearchPage:
    hits: list[Hit]
    filters: EventFilters
    has_next: bool

    @property
    def has_prev(self) -> bool:
        return self.filters.page > 1


def search_events(filters: EventFilters, now: datetime | None = None, per_page: int = PAGE_SIZE) -> SearchPage:
    """One page of public events; one row more than a page tells whether another follows (no count)."""
    offset = (filters.page - 1) * per_page
    statement = (_search_statement(filters, now, limit=offset + per_page + 1).limit(per_page + 1).offset(offset)
                 .options(selectinload(Event.tags), joinedload(Event.organization),
                          defer(Event.description), defer(Event.description_html), defer(Event.virtual_instructions)))
    rows = db.session.execute(statement).all()
    hits = [Hit(event, next_start, distance) for event, next_start, distance in rows[:per_page]]
    return SearchPage(hits, filters, len(rows) > per_page)


# One event, for supporters and for its organizers.

def _managing_org_ids(event: Event) -> set[int]:
    cohosts = db.session.scalars(select(event_cohosts.c.organization_id).where(event_cohosts.c.event_id == event.id))
    return {event.organization_id, *cohosts}


def managing_organization(user_id: int | None, event: Event) -> Organization | None:
    """The organization through which the user manages the event: the host first, else a co-host."""
    if user_id is None:
        return None
    return db.session.scalar(
        select(Organization).join(Membership)
        .where(Membership.user_id == user_id, Organization.id.in_(_managing_org_ids(event)))
        .order_by((Organization.id != event.organization_id), Organization.id).limit(1)
    )


def can_manage(user_id: int | None, event: Event) -> bool:
    """Organizers of the host or a co-host see and manage the event."""
    return managing_organization(user_id, event) is not None


def _event_by_uuid(event_uuid, lock: bool = False) -> Event | None:
    try:
        key = event_uuid if isinstance(event_uuid, uuid_module.UUID) else uuid_module.UUID(str(event_uuid))
    except ValueError:
        return None
    statement = select(Event).where(Event.uuid == key)
    if lock:
        statement = statement.with_for_update()
    return db.session.scalar(statement)


def public_event(event_uuid, user_id: int | None = None) -> Event:
    """The event as anyone with its link may see it: public and unlisted, or private to its organizers.

    A cancelled event stays visible as cancelled; a deleted one is gone.
    """
    event = _event_by_uuid(event_uuid)
    if event is None or event.deleted_at is not None:
        raise NotFound("We could not find that event. It may have been removed by its organizers.")
    if event.visibility == "private" and not can_manage(user_id, event):
        raise NotFound("We could not find that event. It may have been removed by its organizers.")
    return event


def event_for_organizer(user_id: int | None, event_uuid, lock: bool = False) -> Event:
    """The event if the user organizes for its host or a co-host; NotFound otherwise, so ids leak nothing."""
    event = _event_by_uuid(event_uuid, lock=lock)
    if event is None or event.deleted_at is not None or not can_manage(user_id, event):
        raise NotFound("No such event among your organizations' events.")
    return event


def events_visible_to(user_id: int | None):
    """A select of every event a reader may sync: public ones, and all of their organizations' events,
    cancelled and deleted ones included so a client sees them go. What a page shows is loaded with it."""
    clause = Event.visibility == "public"
    if user_id is not None:
        org_ids = select(Membership.organization_id).where(Membership.user_id == user_id)
        cohosted = select(event_cohosts.c.event_id).where(event_cohosts.c.organization_id.in_(org_ids))
        clause = or_(clause, Event.organization_id.in_(org_ids), Event.id.in_(cohosted))
    return select(Event).where(clause).order_by(Event.id).options(
        selectinload(Event.timeslots), selectinload(Event.tags), selectinload(Event.cohosts),
        selectinload(Event.cohost_invitations).joinedload(CohostInvitation.organization),
        joinedload(Event.organization))


def organizes(organization_ids: set[int], event: Event) -> bool:
    """Whether organizers of these organizations manage the event (as its host or a co-host)."""
    return event.organization_id in organization_ids or any(org.id in organization_ids for org in event.cohosts)


def active_timeslots(event: Event) -> list[Timeslot]:
    return [slot for slot in event.timeslots if slot.deleted_at is None]


def status_of(event: Event) -> str:
    return "deleted" if event.deleted_at else event.status


def managed_events(user_id: int, organization_id: int, now: datetime | None = None) -> tuple[list, list]:
    """(upcoming, past) events hosted or co-hosted by the organization, for its organizers."""
    require_member(user_id, organization_id)
    now = now or utcnow()
    last_end = (select(func.max(Timeslot.end_at)).where(Timeslot.event_id == Event.id, Timeslot.deleted_at.is_(None))
                .correlate(Event).scalar_subquery())
    first_start = (select(func.min(Timeslot.start_at))
                   .where(Timeslot.event_id == Event.id, Timeslot.deleted_at.is_(None))
                   .correlate(Event).scalar_subquery())
    cohosted = select(event_cohosts.c.event_id).where(event_cohosts.c.organization_id == organization_id)
    rows = db.session.execute(
        select(Event, first_start, last_end)
        .where(or_(Event.organization_id == organization_id, Event.id.in_(cohosted)), Event.deleted_at.is_(None))
        .order_by(first_start.asc(), Event.id)
        .options(selectinload(Event.timeslots), selectinload(Event.organization))
    ).all()
    upcoming = [(event, start) for event, start, end in rows if end is None or end >= now]
    past = [(event, start) for event, start, end in rows if end is not None and end < now][::-1]
    return upcoming, past


# Writing events.

def _url(value: str, name: str, schemes=("http", "https")) -> str:
    if not value:
        return ""
    parts = urlsplit(value)
    if parts.scheme not in schemes or not parts.netloc:
        start = " or ".join(f"{scheme}://" for scheme in schemes)
        hint = " starting with https://." if schemes == ("https",) else "."
        raise Invalid(f"Links must start with {start}.", {name: f"Enter a full web address{hint}"})
    return value


def _coordinate(value, name: str) -> float | None:
    if value in (None, ""):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if not math.isfinite(number):
        raise Invalid("Coordinates are numbers, like 40.7484.", {name: "Not a number."})
    return number


def _apply_fields(event: Event, fields: dict) -> None:
    """Validate and set the plain fields given; unknown keys are ignored."""
    errors: dict[str, str] = {}
    for name in TEXT_LIMITS:
        if name in fields:
            value = clean_text(fields[name]) if name != "description" else CONTROL_CHARS.sub(
                "", str(fields[name] or "")).strip()
            if len(value) > TEXT_LIMITS[name]:
                errors[name] = f"Keep this under {TEXT_LIMITS[name]:,} characters (it has {len(value):,})."
                continue
            setattr(event, name, value)
    for name, allowed in CHOICES.items():
        if name in fields and fields[name] is not None:
            if fields[name] not in allowed:
                errors[name] = f"Choose one of: {', '.join(allowed)}."
            else:
                setattr(event, name, fields[name])
    for name in FLAGS:
        if name in fields and fields[name] is not None:
            setattr(event, name, bool(fields[name]))
    if "timezone" in fields:
        try:
            event.timezone = times.zone(fields["timezone"]).key
        except Invalid as error:
            errors.update(error.fields)
    if "country" in fields:
        country = clean_text(fields["country"]).upper() or "US"
        if not re.fullmatch(r"[A-Z]{2}", country):
            errors["country"] = "Use the two-letter country code, like US."
        else:
            event.country = country
    for name in ("latitude", "longitude"):
        if name in fields:
            try:
                setattr(event, name, _coordinate(fields[name], name))
            except Invalid as error:
                errors.update(error.fields)
    if "max_guests" in fields and fields["max_guests"] is not None:
        try:
            guests = int(fields["max_guests"])
        except (TypeError, ValueError):
            guests = -1
        if not 0 <= guests <= 20:
            errors["max_guests"] = "Between 0 and 20."
        else:
            event.max_guests = guests
    if errors:
        raise Invalid("Some fields need attention.", errors)


def _check_event(event: Event) -> None:
    """Rules across fields, once everything is set."""
    errors: dict[str, str] = {}
    if not event.title:
        errors["title"] = "Give the event a title."
    if not event.timezone:
        errors["timezone"] = "Choose the event's time zone."
    # Images load only over https (the pages' Content-Security-Policy); join links may be either.
    for name, schemes in (("featured_image_url", ("https",)), ("virtual_action_url", ("http", "https"))):
        try:
            _url(getattr(event, name), name, schemes)
        except Invalid as error:
            errors.update(error.fields)
    if event.contact_email:
        try:
            event.contact_email = clean_email(event.contact_email)
        except Invalid:
            errors["contact_email"] = "Enter a valid email address."
    if not PHONE.match(event.contact_phone or ""):
        errors["contact_phone"] = "Use digits, spaces and + ( ) - only."
    if (event.latitude is None) != (event.longitude is None):
        errors["latitude"] = "Give both the latitude and the longitude, or neither."
    elif event.latitude is not None and not (-90 <= event.latitude <= 90 and -180 <= event.longitude <= 180):
        errors["latitude"] = "Latitude is between -90 and 90, longitude between -180 and 180."
    if not event.is_virtual and "latitude" not in errors:
        if event.latitude is None and event.country == "US" and event.postal_code:
            found = search.zip_location(event.postal_code)
            if found is None:
                errors["postal_code"] = "We do not know this US ZIP code."
            else:
                event.latitude, event.longitude = found["latitude"], found["longitude"]
        if event.latitude is None and "postal_code" not in errors:
            errors["postal_code"] = "Give a US ZIP code, or the latitude and longitude, so people nearby find it."
    if errors:
        raise Invalid("Some fields need attention.", errors)


def _slot_time(value, tz, name: str) -> datetime:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise Invalid("Times look like 2026-12-05T18:00.", {name: f"“{value[:30]}” is not a date and time."}) \
                from None
    if not isinstance(value, datetime):
        raise Invalid("Each timeslot needs a start and an end.", {name: "Required."})
    return times.to_utc(value, tz, name)


def _capacity(value, name: str) -> int | None:
    if value in (None, ""):
        return None
    try:
        capacity = int(value)
    except (TypeError, ValueError):
        capacity = -1
    if not 0 <= capacity <= MAX_CAPACITY:
        raise Invalid("Capacity is a whole number of people, or empty for unlimited.", {name: "Not a valid capacity."})
    return capacity


def _apply_timeslots(event: Event, slots: list[dict], tz: ZoneInfo) -> None:
    """Make the event's active timeslots exactly ``slots``; a slot with a known uuid is updated in place.

    Times without an offset are wall-clock times in the event's zone. Removed
    slots are marked deleted, so their RSVPs and sync records survive.
    """
    if not slots:
        raise Invalid("Add at least one timeslot.", {"timeslots": "Required."})
    if len(slots) > MAX_TIMESLOTS:
        raise Invalid(f"An event has at most {MAX_TIMESLOTS} timeslots.", {"timeslots": "Too many."})
    existing = {str(slot.uuid): slot for slot in active_timeslots(event)}
    kept = set()
    for n, data in enumerate(slots):
        prefix = f"timeslots-{n}"
        start = _slot_time(data.get("start_at"), tz, f"{prefix}-start")
        end = _slot_time(data.get("end_at"), tz, f"{prefix}-end")
        if end <= start:
            raise Invalid("A timeslot must end after it starts.", {f"{prefix}-end": "Ends before it starts."})
        if end - start > MAX_SLOT_LENGTH:
            raise Invalid("A timeslot lasts at most 31 days; add more timeslots instead.",
                          {f"{prefix}-end": "Too long."})
        capacity = _capacity(data.get("capacity"), f"{prefix}-capacity")
        slot = existing.get(str(data.get("uuid") or ""))
        if slot is None:
            slot = Timeslot(start_at=start, end_at=end, capacity=capacity)
            event.timeslots.append(slot)
        else:
            if capacity != slot.capacity:  # first: the timeslot lock reloads the row
                _change_capacity(slot, capacity, f"{prefix}-capacity")
            slot.start_at, slot.end_at = start, end
            kept.add(str(slot.uuid))
    now = utcnow()
    for key, slot in existing.items():
        if key not in kept:
            slot.deleted_at = now


def _change_capacity(slot: Timeslot, capacity: int | None, field_name: str) -> None:
    """Through the RSVP service, so seats already taken are respected and the waitlist promoted."""
    from mobilize.rsvps.services import change_capacity  # rsvps builds on events, not the reverse

    try:
        change_capacity(slot.id, capacity, field_name)
    except Conflict as error:
        raise Invalid(error.message, error.fields) from None


def _tag_ids(names) -> list[int]:
    cleaned = []
    for name in names or []:
        tag = re.sub(r"\s+", " ", clean_text(name).lower().lstrip("#"))
        if tag and tag not in cleaned:
            cleaned.append(tag)
    if len(cleaned) > MAX_TAGS or any(len(tag) > 60 for tag in cleaned):
        raise Invalid(f"Use at most {MAX_TAGS} tags of up to 60 characters.", {"tags": "Too many or too long."})
    if not cleaned:
        return []
    now = utcnow()
    db.session.execute(upsert(Tag).values([{"name": t, "created_at": now, "modified_at": now} for t in cleaned])
                       .on_conflict_do_nothing(index_elements=["name"]))
    return list(db.session.scalars(select(Tag.id).where(Tag.name.in_(cleaned))))


def _set_tags(event: Event, names) -> None:
    ids = _tag_ids(names)
    event.tags = list(db.session.scalars(select(Tag).where(Tag.id.in_(ids)))) if ids else []


def _cohost_organizations(slugs) -> list[Organization]:
    """The organizations named, by their slugs; Invalid naming an unknown one."""
    slugs = [clean_text(s).lower() for s in (slugs or []) if clean_text(s)]
    if len(slugs) > MAX_COHOSTS:
        raise Invalid(f"At most {MAX_COHOSTS} co-hosts.", {"cohosts": "Too many."})
    orgs = list(db.session.scalars(select(Organization).where(Organization.slug.in_(slugs)))) if slugs else []
    missing = sorted(set(slugs) - {org.slug for org in orgs})
    if missing:
        raise Invalid("Co-hosts are named by their organization's address name.",
                      {"cohosts": f"No organization called “{missing[0][:60]}”."})
    return orgs


def _place(event: Event) -> tuple:
    return tuple(getattr(event, name) for name in PLACE_FIELDS)


def _schedule(event: Event) -> set:
    return {(slot.start_at, slot.end_at) for slot in active_timeslots(event)}


def _record_significant_change(event: Event) -> None:
    """Raise the calendar SEQUENCE and tell the hooks, inside the caller's transaction."""
    event.sequence = (event.sequence or 0) + 1
    event.significant_change_at = utcnow()
    db.session.flush()
    for hook in ON_SIGNIFICANT_CHANGE:
        hook(event.id)


def _write(event: Event, fields: dict) -> list[Organization] | None:
    """Apply ``fields``, reporting every field's problem at once rather than the first.

    Returns the co-hosts named, when ``fields`` names them, for ``cohosts.name_cohosts`` once the event is flushed.
    """
    errors: dict[str, str] = {}
    messages: list[str] = []

    def attempt(step, *args):
        try:
            return step(*args)
        except Invalid as error:
            for name, message in (error.fields or {"form": error.message}).items():
                errors.setdefault(name, message)  # the first, most specific, problem per field
            messages.append(error.message)
            return None

    named = None
    with db.session.no_autoflush:  # nothing half-checked reaches the database
        before = (event.postal_code, event.latitude, event.longitude)
        attempt(_apply_fields, event, {k: v for k, v in fields.items() if k in EDITABLE})
        if event.postal_code != before[0] and (event.latitude, event.longitude) == before[1:]:
            event.latitude = event.longitude = None  # a new ZIP code without new coordinates: look them up
        attempt(_check_event, event)
        if "timeslots" in fields:
            # With an unknown zone the times are still checked (as UTC); nothing is saved anyway.
            zone = times.zone(event.timezone) if event.timezone in times.zone_names() else ZoneInfo("UTC")
            attempt(_apply_timeslots, event, fields["timeslots"], zone)
        if "tags" in fields:
            attempt(_set_tags, event, fields["tags"])
        if "cohosts" in fields:
            named = attempt(_cohost_organizations, fields["cohosts"])
    if errors:
        raise Invalid(messages[0] if len(messages) == 1 else "Some fields need attention.", errors)
    if "description" in fields:
        event.description_html = render_markdown(event.description)
    return named


def create_event(user_id: int, organization_id: int, fields: dict) -> Event:
    """A new event hosted by the organization. ``fields`` holds Event's field names plus
    ``timeslots`` (dicts with start_at, end_at, capacity), ``tags`` (names) and ``cohosts`` (slugs: invited,
    they co-host once they accept)."""
    require_member(user_id, organization_id)
    event = Event(organization_id=organization_id, created_by_id=user_id, timezone="", title="")
    for name, column in Event.__table__.columns.items():  # the column defaults, before the rules read them
        if getattr(event, name) is None and column.default is not None and column.default.is_scalar:
            setattr(event, name, column.default.arg)
    db.session.add(event)
    try:
        named = _write(event, {"timeslots": [], **fields})
        db.session.flush()
        if named is not None:
            cohosts.name_cohosts(user_id, event, named, is_host=True)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return event


def update_event(user_id: int, event_uuid, fields: dict) -> Event:
    """Change the fields given. A new time or place raises the sequence and tells the hooks."""
    event = event_for_organizer(user_id, event_uuid, lock=True)
    before = (_place(event), _schedule(event))
    try:
        named = _write(event, fields)
        db.session.flush()
        if named is not None:
            cohosts.name_cohosts(user_id, event, named, is_host=_is_host(user_id, event))
        if event.status == "confirmed" and (_place(event), _schedule(event)) != before:
            _record_significant_change(event)
        event.modified_at = utcnow()  # also when only timeslots, tags or co-hosts changed: sync sees it
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return event


def _is_host(user_id: int, event: Event) -> bool:
    return db.session.scalar(select(exists().where(
        Membership.user_id == user_id, Membership.organization_id == event.organization_id))) or False


def cancel_event(user_id: int, event_uuid) -> Event:
    """Cancel the event; it stays visible as cancelled. Cancelling twice changes nothing."""
    event = event_for_organizer(user_id, event_uuid, lock=True)
    if event.status != "cancelled":
        event.status = "cancelled"
        event.cancelled_at = utcnow()
        _record_significant_change(event)
    db.session.commit()
    return event


def delete_event(user_id: int, event_uuid) -> None:
    """Remove the event from every page; its row stays, marked, so syncing clients see it go."""
    event = event_for_organizer(user_id, event_uuid, lock=True)
    if not _is_host(user_id, event):
        raise Forbidden("Only the host organization's organizers delete an event; co-hosts can cancel it.")
    now = utcnow()
    if event.status != "cancelled":
        event.status = "cancelled"
        event.cancelled_at = now
        _record_significant_change(event)
    event.deleted_at = now
    db.session.commit()


def copy_fields(event: Event) -> dict:
    """An event's fields as a starting point for a new one (duplicate)."""
    fields = {name: getattr(event, name) for name in EDITABLE}
    fields["title"] = event.title
    fields["tags"] = [tag.name for tag in event.tags]
    fields["cohosts"] = [org.slug for org in cohosts.named(event)]
    fields["timeslots"] = [{"start_at": slot.start_at, "end_at": slot.end_at, "capacity": slot.capacity}
                           for slot in active_timeslots(event)]
    return fields


def address_is_public(event: Event) -> bool:
    return not event.is_virtual and event.address_visibility == "public"


def public_place(event: Event) -> str:
    """Where the event is, as anyone may be told: "Online", the full address, or only the town
    when the organizers share the address with attendees alone."""
    if event.is_virtual:
        return "Online"
    town = ", ".join(part for part in (event.locality, event.region) if part)
    if not address_is_public(event):
        return town
    lines = [event.venue, event.address_line1, event.address_line2,
             " ".join(part for part in (town, event.postal_code) if part)]
    return ", ".join(line for line in lines if line)
