"""Which events each feed holds, for whom, and the cached iCalendar bytes.

Every feed covers timeslots that end no earlier than the start of the UTC day
30 days ago, soonest first, capped at MAX_TIMESLOTS (the furthest future is
left out past the cap).  Cancelled and deleted events, deleted timeslots and
withdrawn RSVPs stay in for 30 days after they went, as STATUS:CANCELLED, so
subscribed calendars remove them instead of keeping a ghost.
"""

import hashlib
import hmac
import json
import secrets
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, time, timedelta

from flask import current_app
from sqlalchemy import ColumnElement, and_, func, or_, select

from mobilize.accounts.models import Membership, Organization
from mobilize.accounts.services import get_organization, require_member
from mobilize.core.errors import Invalid, NotFound
from mobilize.core.models import utcnow
from mobilize.core.sql import upsert
from mobilize.core.transaction import unit_of_work
from mobilize.core.urls import external_url
from mobilize.events import access, disclosure, listing, search
from mobilize.events import services as events
from mobilize.events.models import Event, Tag, Timeslot, event_tags
from mobilize.extensions import db
from mobilize.feeds import cache, ical
from mobilize.feeds.models import OrganizerFeed
from mobilize.feeds.personal import person_for_feed_token
from mobilize.rsvps.models import Attendance, Place

WINDOW_DAYS = 30
MAX_TIMESLOTS = 10_000
# A cached feed is rebuilt at least this often, whatever the versions say.
CACHE_MAX_AGE = timedelta(minutes=30)
# Clients may keep a feed this long before asking again (Cache-Control max-age).
HTTP_MAX_AGE = 300
ALARM_MINUTES = (10, 30, 60, 120, 1440)
NOT_FOUND = "We could not find that calendar. Its link may have been replaced; ask for the new one."
_ZERO_UUID = "00000000-0000-0000-0000-000000000000"

EVENT_COLUMNS = [Event.__table__.c[name] for name in (
    "id", "uuid", "organization_id", "title", "summary", "description", "event_type", "status", "deleted_at",
    "sequence", "timezone", "is_virtual", "virtual_action_url", "virtual_instructions", "venue", "address_line1",
    "address_line2", "locality", "region", "postal_code", "country", "latitude", "longitude", "address_visibility",
    "contact_name", "contact_email", "contact_phone", "contact_name_public", "contact_email_public",
    "contact_phone_public", "accessibility_status", "accessibility_notes", "modified_at")]
TIMESLOT_COLUMNS = [Timeslot.__table__.c[name] for name in (
    "id", "event_id", "uuid", "start_at", "end_at", "deleted_at", "created_at", "modified_at")]


@dataclass(frozen=True)
class Feed:
    """A feed to serve: how it is cached, and (read only when it is built) what it holds.

    A poll answered from the cache touches no database, so ``contents`` is
    called at build time: (calendar name, description, where-clause over
    Event and Timeslot).
    """

    identity: str  # the cache key: equal identities have equal bodies
    scopes: tuple[str, ...]  # the version scopes whose changes make it stale
    contents: Callable[[], tuple[str, str, ColumnElement[bool]]]
    audience: str = disclosure.PUBLIC
    private: bool = False  # a secret URL: no shared caches
    person_id: int | None = None  # a personal feed: each timeslot as the person's RSVP stands
    alarm: timedelta | None = None


def window_start(now: datetime) -> datetime:
    """Midnight UTC 30 days back: a feed changes at most daily by the window alone."""
    return datetime.combine((now - timedelta(days=WINDOW_DAYS)).date(), time(), UTC)


def _site() -> str:
    return current_app.config["SITE_NAME"]


# ------------------------------------------------------------------ choosing a feed

def public_feed(args=None) -> Feed:
    """All public events, or those matching the events page's filters (type, tag, org, dates, near)."""
    if not args or not any(key in args for key in ("type", "tag", "org", "start_date", "end_date", "mode",
                                                     "zipcode", "lat", "lng")):
        return Feed("public", ("all",), lambda: (f"{_site()}: all events",
                                                  f"Public events from every organization on {_site()}.",
                                                  Event.visibility == "public"))
    filters = replace(listing.filters_from_args(args), page=1)
    key = hashlib.sha256(json.dumps(filters.args(), sort_keys=True).encode()).hexdigest()[:32]
    wanted = ", ".join(_describe(filters))
    return Feed(f"filtered:{key}", ("all",), lambda: (f"{_site()}: {wanted}", f"Public events on {_site()}: {wanted}.",
                                                      _filtered(filters)))


def _describe(filters: listing.EventFilters) -> list[str]:
    parts = [", ".join(ical.type_label(t) for t in filters.event_types) or "events"]
    if filters.tag:
        parts.append(f"#{filters.tag}")
    if filters.organization:
        parts.append(f"by {filters.organization}")
    if filters.mode != "any":
        parts.append(filters.mode.replace("_", " "))
    if filters.is_near:
        place = filters.place_name or filters.zipcode or f"{filters.latitude:.3f}, {filters.longitude:.3f}"
        parts.append(f"within {filters.radius:g} {filters.unit} of {place}")
    if filters.start_date or filters.end_date:
        parts.append(f"{filters.start_date or '…'} to {filters.end_date or '…'}")
    return parts


def _filtered(filters: listing.EventFilters):
    """The events page's matches (cancelled ones too), and deleted events that matched the same filters.

    The events page leaves deleted events out, so for them the filters are
    applied here; a feed must keep them, cancelled, for 30 days.
    """
    since = window_start(utcnow())
    matching = listing.public_events_query(replace(filters, since=since, include_cancelled=True))
    live = Event.id.in_(matching.with_only_columns(Event.id).order_by(None))
    deleted = [Event.deleted_at.is_not(None), Event.visibility == "public", *listing.filter_clauses(filters)]
    if filters.is_near:
        distance = search.distance_sql(Event.latitude, Event.longitude, filters.latitude, filters.longitude,
                                       filters.unit)
        nearby = and_(Event.is_virtual.is_(False), distance <= filters.radius)
        deleted.append(or_(nearby, Event.is_virtual.is_(True)) if filters.mode == "any" else nearby)
    days = []
    if filters.start_date:
        days.append(Timeslot.local_date >= filters.start_date)
    if filters.end_date:
        days.append(Timeslot.local_date <= filters.end_date)
    return and_(or_(live, and_(*deleted)), *days)


def organization_feed(slug: str) -> Feed:
    """The public events an organization hosts or co-hosts (NotFound, when built, for an unknown slug)."""

    def contents():
        org = get_organization(slug)
        return (f"{org.name} events", f"Public events hosted by {org.name} on {_site()}.",
                and_(Event.visibility == "public", access.of_organizations(org.id)))

    return Feed(f"org:{slug}", (f"org:{slug}",), contents)


def event_feed(event_uuid, user_id: int | None = None) -> Feed:
    """One event's timeslots: what its page shows, and everything for its organizers."""
    event = events.public_event(event_uuid, user_id)
    audience = disclosure.audience(organizer=access.can_manage(user_id, event))
    title, event_id = event.title, event.id
    return Feed(f"event:{event_id}:{audience}", ("all",),
                lambda: (title, f"{title} on {_site()}.", Event.id == event_id), audience=audience,
                private=audience != disclosure.PUBLIC or event.visibility != "public")


def personal_feed(token: str, alarm_minutes=None) -> Feed:
    """The events a supporter RSVPed to: join link and address where their place is confirmed."""
    person = person_for_feed_token(token)
    if person is None:
        raise NotFound(NOT_FOUND)
    alarm = None
    if alarm_minutes not in (None, ""):
        if str(alarm_minutes) not in {str(m) for m in ALARM_MINUTES}:
            raise Invalid(f"Reminders can be {', '.join(map(str, ALARM_MINUTES))} minutes before.",
                          {"alarm": "Not one of the choices."})
        alarm = timedelta(minutes=int(alarm_minutes))
    places = select(Place.timeslot_id).join(Attendance).where(Attendance.person_id == person.id)
    return Feed(f"person:{person.id}:{alarm_minutes or 0}", ("all", f"person:{person.id}"),
                lambda: (f"My {_site()} events", f"The events you RSVPed to on {_site()}.", Timeslot.id.in_(places)),
                private=True, person_id=person.id, alarm=alarm)


# ------------------------------------------------------------------ organizer feeds

def _signature(feed: OrganizerFeed) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"organizer-feed:{feed.id}:{feed.secret}".encode(), hashlib.sha256).hexdigest()[:40]


def organizer_feed_token(feed: OrganizerFeed) -> str:
    return f"{feed.id}-{_signature(feed)}"


def organizer_feed_for(user_id: int, organization_id: int) -> OrganizerFeed | None:
    require_member(user_id, organization_id)
    return db.session.scalar(select(OrganizerFeed).where(OrganizerFeed.user_id == user_id,
                                                         OrganizerFeed.organization_id == organization_id))


def create_organizer_feed(user_id: int, organization_id: int) -> OrganizerFeed:
    """The organizer's feed URL for the organization, with a new secret (revoking any earlier URL)."""
    require_member(user_id, organization_id)
    now = utcnow()
    statement = upsert(OrganizerFeed).values(user_id=user_id, organization_id=organization_id,
                                             secret=secrets.token_hex(32), created_at=now, modified_at=now)
    with unit_of_work():
        db.session.execute(statement.on_conflict_do_update(
            index_elements=["user_id", "organization_id"],
            set_={"secret": statement.excluded.secret, "modified_at": now}))
    return organizer_feed_for(user_id, organization_id)


def revoke_organizer_feed(user_id: int, organization_id: int) -> None:
    feed = organizer_feed_for(user_id, organization_id)
    if feed is not None:
        with unit_of_work():
            db.session.delete(feed)


def organizer_feed(token: str) -> Feed:
    """All the organization's events for an organizer who is still a member; NotFound otherwise."""
    feed_id, _, signature = (token or "").partition("-")
    feed = db.session.get(OrganizerFeed, int(feed_id)) if feed_id.isdigit() and len(feed_id) < 19 else None
    if feed is None or not hmac.compare_digest(_signature(feed), signature):
        raise NotFound(NOT_FOUND)
    member = db.session.scalar(select(Membership.id).where(Membership.user_id == feed.user_id,
                                                           Membership.organization_id == feed.organization_id))
    if member is None:
        raise NotFound(NOT_FOUND)
    org = db.session.get(Organization, feed.organization_id)
    name, org_id = org.name, org.id
    description = f"Every event {name} hosts or co-hosts, unlisted and private ones included."
    return Feed(f"organizer:{org_id}", (f"org:{org.slug}",),
                lambda: (f"{name}: all events (organizers)", description, access.of_organizations(org_id)),
                audience=disclosure.ORGANIZER, private=True)


# ------------------------------------------------------------------ building and serving

def serve(feed: Feed) -> cache.CachedFeed:
    return cache.get_or_build(feed.identity, feed.scopes, lambda: render(feed), CACHE_MAX_AGE)


def _event_url_template() -> str:
    return external_url("events.show", event_id=_ZERO_UUID)


def _timeslot_rows(selects, since: datetime) -> list:
    gone_at = func.coalesce(Event.deleted_at, Event.cancelled_at, Timeslot.deleted_at, Event.modified_at)
    live = and_(Event.status == "confirmed", Event.deleted_at.is_(None), Timeslot.deleted_at.is_(None))
    statement = (select(*TIMESLOT_COLUMNS).join(Event, Event.id == Timeslot.event_id)
                 .where(selects, Timeslot.end_at >= since, or_(live, gone_at >= since))
                 .order_by(Timeslot.start_at, Timeslot.id).limit(MAX_TIMESLOTS))
    return db.session.execute(statement).all()


def _events_by_id(event_ids: list[int]) -> tuple[dict, dict]:
    """({event id: row with organization_name}, {event id: [tag names]}), in batches of ids."""
    rows, tags = {}, {}
    for start in range(0, len(event_ids), 5000):
        batch = event_ids[start:start + 5000]
        for row in db.session.execute(
            select(*EVENT_COLUMNS, Organization.name.label("organization_name"))
            .join(Organization, Organization.id == Event.organization_id).where(Event.id.in_(batch))
        ):
            rows[row.id] = row
        for event_id, name in db.session.execute(
            select(event_tags.c.event_id, Tag.name).join(Tag, Tag.id == event_tags.c.tag_id)
            .where(event_tags.c.event_id.in_(batch)).order_by(Tag.name)
        ):
            tags.setdefault(event_id, []).append(name)
    return rows, tags


def _places(person_id: int) -> dict[int, tuple]:
    """{timeslot id: row of the place's status, cancelled_at, modified_at and its attendance's revision}."""
    rows = db.session.execute(
        select(Place.timeslot_id, Place.status, Place.cancelled_at, Place.modified_at, Attendance.revision)
        .join(Attendance, Attendance.id == Place.attendance_id).where(Attendance.person_id == person_id))
    return {row.timeslot_id: row for row in rows}


def render(feed: Feed, now: datetime | None = None) -> bytes:
    """The feed's VCALENDAR as bytes: a few queries, then one VEVENT per timeslot."""
    since = window_start(now or utcnow())
    name, description, selects = feed.contents()
    slots = _timeslot_rows(selects, since)
    event_rows, tags = _events_by_id(sorted({slot.event_id for slot in slots}))
    places = _places(feed.person_id) if feed.person_id is not None else {}
    url = _event_url_template()
    details: dict[tuple[int, str], ical.EventDetails] = {}
    vevents, zones = [], Counter()
    for slot in slots:
        event = event_rows[slot.event_id]
        audience, rsvp, revision = feed.audience, None, 0
        if feed.person_id is not None:
            place = places[slot.id]
            if place.status == "cancelled" and (place.cancelled_at or place.modified_at) < since:
                continue
            audience = disclosure.audience(confirmed=place.status == "confirmed")
            rsvp, revision = place.status, place.revision
        key = (event.id, audience)
        if key not in details:
            details[key] = ical.event_details(event, url=url.replace(_ZERO_UUID, str(event.uuid)),
                                              organization_name=event.organization_name,
                                              tags=tags.get(event.id, ()), audience=audience)
        vevents.append(ical.vevent(details[key], slot, alarm=feed.alarm, rsvp=rsvp, rsvp_revision=revision))
        zones[event.timezone] += 1
    calendar = ical.calendar(vevents, name=name, description=description,
                             zones=[zone for zone, _ in zones.most_common()])
    return calendar.to_ical()

