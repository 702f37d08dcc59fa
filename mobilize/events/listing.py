"""Lists of events: the public search (the events page, the feeds and the public API share it), an
organization's events for its organizers, and what an API reader syncs."""

import math
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import Float, and_, cast, exists, func, null, or_, select, union_all
from sqlalchemy.orm import aliased, defer, joinedload, selectinload

from mobilize.accounts.models import Membership, Organization
from mobilize.accounts.services import require_member
from mobilize.core.errors import Invalid
from mobilize.core.models import utcnow
from mobilize.core.text import clean_text
from mobilize.core.urls import page_number
from mobilize.events import access, search
from mobilize.events.models import EVENT_TYPES, CohostInvitation, Event, Tag, Timeslot, event_tags
from mobilize.extensions import db

PAGE_SIZE = 20
MODES = ("any", "in_person", "virtual")


def organization_named(slug: str):
    """A scalar subquery: the id of the organization with this slug (for ``access.of_organizations``)."""
    return select(Organization.id).where(Organization.slug == slug).scalar_subquery()


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
    where = [*window(slot), first, Event.visibility == "public", Event.deleted_at.is_(None), *filter_clauses(filters)]
    if not filters.include_cancelled:
        where.append(Event.status == "confirmed")

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


def filter_clauses(filters: EventFilters) -> list:
    """The event's own filters (type, tag, organization, mode) as SQL: the listing and the feeds' record of
    deleted events ask the same of an event."""
    clauses = []
    if filters.event_types:
        clauses.append(Event.event_type.in_(filters.event_types))
    if filters.tag:
        clauses.append(exists().where(event_tags.c.event_id == Event.id, event_tags.c.tag_id == Tag.id,
                                      Tag.name == filters.tag))
    if filters.organization:
        clauses.append(access.of_organizations(organization_named(filters.organization)))
    if filters.mode != "any":
        clauses.append(Event.is_virtual.is_(filters.mode == "virtual"))
    return clauses


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


# For organizers and syncing clients.

def events_visible_to(user_id: int | None):
    """A select of every event a reader may sync: public ones, and all of their organizations' events,
    cancelled and deleted ones included so a client sees them go. What a page shows is loaded with it."""
    clause = Event.visibility == "public"
    if user_id is not None:
        clause = or_(clause, access.of_organizations(
            select(Membership.organization_id).where(Membership.user_id == user_id)))
    return select(Event).where(clause).order_by(Event.id).options(
        selectinload(Event.timeslots), selectinload(Event.tags), selectinload(Event.cohosts),
        selectinload(Event.cohost_invitations).joinedload(CohostInvitation.organization),
        joinedload(Event.organization))


def managed_events(user_id: int, organization_id: int, now: datetime | None = None) -> tuple[list, list]:
    """(upcoming, past) events hosted or co-hosted by the organization, for its organizers."""
    require_member(user_id, organization_id)
    now = now or utcnow()
    last_end = (select(func.max(Timeslot.end_at)).where(Timeslot.event_id == Event.id, Timeslot.deleted_at.is_(None))
                .correlate(Event).scalar_subquery())
    first_start = (select(func.min(Timeslot.start_at))
                   .where(Timeslot.event_id == Event.id, Timeslot.deleted_at.is_(None))
                   .correlate(Event).scalar_subquery())
    rows = db.session.execute(
        select(Event, first_start, last_end)
        .where(access.of_organizations(organization_id), Event.deleted_at.is_(None))
        .order_by(first_start.asc(), Event.id)
        .options(selectinload(Event.timeslots), selectinload(Event.organization))
    ).all()
    upcoming = [(event, start) for event, start, end in rows if end is None or end >= now]
    past = [(event, start) for event, start, end in rows if end is not None and end < now][::-1]
    return upcoming, past

