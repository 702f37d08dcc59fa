"""Events: organizers create, change, cancel and delete them; supporters open them.

Every rule about writing an event lives here, for the HTML side and the API
alike. Writes lock the event row, so two editors never lose a sequence number.
Who may manage an event is decided in ``access``, what each audience sees of it
in ``disclosure``, and lists of events are built in ``listing``.
"""

import math
import re
from datetime import datetime, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from sqlalchemy import select

from mobilize.accounts.models import Organization
from mobilize.accounts.services import require_member
from mobilize.core.checks import FieldErrors
from mobilize.core.errors import Conflict, Forbidden, Invalid, NotFound
from mobilize.core.markdown import render_markdown
from mobilize.core.models import utcnow
from mobilize.core.signals import event_changed_significantly
from mobilize.core.sql import upsert
from mobilize.core.text import clean_text
from mobilize.core.transaction import unit_of_work
from mobilize.events import access, cohosts, search, times
from mobilize.events.models import ACCESSIBILITY, EVENT_TYPES, VISIBILITIES, Event, Tag, Timeslot
from mobilize.extensions import db
from mobilize.people.services import clean_email

MAX_DESCRIPTION = 20_000
MAX_TIMESLOTS = 100
MAX_TAGS = 10
MAX_COHOSTS = 10
MAX_SLOT_LENGTH = timedelta(days=31)
MAX_CAPACITY = 1_000_000

# Called with the event's id inside the transaction of every significant change
# (time, place, cancellation), before the commit: append to be told.

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
PHONE = re.compile(r"^[0-9+().\-\s/x]*$")


# One event, for supporters.

def public_event(event_uuid, user_id: int | None = None) -> Event:
    """The event as anyone with its link may see it: public and unlisted, or private to its organizers.

    A cancelled event stays visible as cancelled; a deleted one is gone.
    """
    event = access.event_by_uuid(event_uuid)
    if event is None or event.deleted_at is not None:
        raise NotFound("We could not find that event. It may have been removed by its organizers.")
    if event.visibility == "private" and not access.can_manage(user_id, event):
        raise NotFound("We could not find that event. It may have been removed by its organizers.")
    return event


def active_timeslots(event: Event) -> list[Timeslot]:
    return [slot for slot in event.timeslots if slot.deleted_at is None]


def status_of(event: Event) -> str:
    return "deleted" if event.deleted_at else event.status


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
    errors = FieldErrors()
    for name in TEXT_LIMITS:
        if name in fields:
            value = clean_text(fields[name])
            if len(value) > TEXT_LIMITS[name]:
                errors.add(name, f"Keep this under {TEXT_LIMITS[name]:,} characters (it has {len(value):,}).")
                continue
            setattr(event, name, value)
    for name, allowed in CHOICES.items():
        if name in fields and fields[name] is not None:
            if fields[name] not in allowed:
                errors.add(name, f"Choose one of: {', '.join(allowed)}.")
            else:
                setattr(event, name, fields[name])
    for name in FLAGS:
        if name in fields and fields[name] is not None:
            setattr(event, name, bool(fields[name]))
    if "timezone" in fields:
        try:
            event.timezone = times.zone(fields["timezone"]).key
        except Invalid as error:
            errors.absorb(error)
    if "country" in fields:
        country = clean_text(fields["country"]).upper() or "US"
        if not re.fullmatch(r"[A-Z]{2}", country):
            errors.add("country", "Use the two-letter country code, like US.")
        else:
            event.country = country
    for name in ("latitude", "longitude"):
        if name in fields:
            try:
                setattr(event, name, _coordinate(fields[name], name))
            except Invalid as error:
                errors.absorb(error)
    if "max_guests" in fields and fields["max_guests"] is not None:
        try:
            guests = int(fields["max_guests"])
        except (TypeError, ValueError):
            guests = -1
        if not 0 <= guests <= 20:
            errors.add("max_guests", "Between 0 and 20.")
        else:
            event.max_guests = guests
    errors.raise_if_any()


def _check_event(event: Event) -> None:
    """Rules across fields, once everything is set."""
    errors = FieldErrors()
    if not event.title:
        errors.add("title", "Give the event a title.")
    if not event.timezone:
        errors.add("timezone", "Choose the event's time zone.")
    # Images load only over https (the pages' Content-Security-Policy); join links may be either.
    for name, schemes in (("featured_image_url", ("https",)), ("virtual_action_url", ("http", "https"))):
        try:
            _url(getattr(event, name), name, schemes)
        except Invalid as error:
            errors.absorb(error)
    if event.contact_email:
        try:
            event.contact_email = clean_email(event.contact_email)
        except Invalid:
            errors.add("contact_email", "Enter a valid email address.")
    if not PHONE.match(event.contact_phone or ""):
        errors.add("contact_phone", "Use digits, spaces and + ( ) - only.")
    if (event.latitude is None) != (event.longitude is None):
        errors.add("latitude", "Give both the latitude and the longitude, or neither.")
    elif event.latitude is not None and not (-90 <= event.latitude <= 90 and -180 <= event.longitude <= 180):
        errors.add("latitude", "Latitude is between -90 and 90, longitude between -180 and 180.")
    if not event.is_virtual and "latitude" not in errors:
        if event.latitude is None and event.country == "US" and event.postal_code:
            found = search.zip_location(event.postal_code)
            if found is None:
                errors.add("postal_code", "We do not know this US ZIP code.")
            else:
                event.latitude, event.longitude = found["latitude"], found["longitude"]
        if event.latitude is None:  # not when the ZIP code is unknown: that says it already
            errors.add("postal_code", "Give a US ZIP code, or the latitude and longitude, so people nearby find it.")
    errors.raise_if_any()


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
    from mobilize.rsvps.seats import change_capacity  # rsvps builds on events, not the reverse

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
    """Raise the calendar SEQUENCE and tell who listens (core.signals), inside the caller's transaction:
    a receiver that fails rolls the change back."""
    event.sequence = (event.sequence or 0) + 1
    event.significant_change_at = utcnow()
    db.session.flush()
    event_changed_significantly.send(event.id)


def _write(event: Event, fields: dict) -> list[Organization] | None:
    """Apply ``fields``, reporting every field's problem at once rather than the first.

    Returns the co-hosts named, when ``fields`` names them, for ``cohosts.name_cohosts`` once the event is flushed.
    """
    errors = FieldErrors()  # the first, most specific, problem per field
    messages: list[str] = []

    def attempt(step, *args):
        try:
            return step(*args)
        except Invalid as error:
            if error.fields:
                errors.absorb(error)
            else:
                errors.add("form", error.message)
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
    errors.raise_if_any(messages[0] if len(messages) == 1 else "Some fields need attention.")
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
    with unit_of_work():
        db.session.add(event)
        named = _write(event, {"timeslots": [], **fields})
        db.session.flush()
        if named is not None:
            cohosts.name_cohosts(user_id, event, named, is_host=True)
    return event


def update_event(user_id: int, event_uuid, fields: dict) -> Event:
    """Change the fields given. A new time or place raises the sequence and tells the hooks."""
    event = access.event_for_organizer(user_id, event_uuid, lock=True)
    before = (_place(event), _schedule(event))
    with unit_of_work():
        named = _write(event, fields)
        db.session.flush()
        if named is not None:
            cohosts.name_cohosts(user_id, event, named, is_host=access.is_host(user_id, event))
        if event.status == "confirmed" and (_place(event), _schedule(event)) != before:
            _record_significant_change(event)
        event.modified_at = utcnow()  # also when only timeslots, tags or co-hosts changed: sync sees it
    return event


def cancel_event(user_id: int, event_uuid) -> Event:
    """Cancel the event; it stays visible as cancelled. Cancelling twice changes nothing."""
    event = access.event_for_organizer(user_id, event_uuid, lock=True)
    with unit_of_work():
        if event.status != "cancelled":
            event.status = "cancelled"
            event.cancelled_at = utcnow()
            _record_significant_change(event)
    return event


def delete_event(user_id: int, event_uuid) -> None:
    """Remove the event from every page; its row stays, marked, so syncing clients see it go."""
    event = access.event_for_organizer(user_id, event_uuid, lock=True)
    if not access.is_host(user_id, event):
        raise Forbidden("Only the host organization's organizers delete an event; co-hosts can cancel it.")
    now = utcnow()
    with unit_of_work():
        if event.status != "cancelled":
            event.status = "cancelled"
            event.cancelled_at = now
            _record_significant_change(event)
        event.deleted_at = now


def copy_fields(event: Event) -> dict:
    """An event's fields as a starting point for a new one (duplicate)."""
    fields = {name: getattr(event, name) for name in EDITABLE}
    fields["title"] = event.title
    fields["tags"] = [tag.name for tag in event.tags]
    fields["cohosts"] = [org.slug for org in cohosts.named(event)]
    fields["timeslots"] = [{"start_at": slot.start_at, "end_at": slot.end_at, "capacity": slot.capacity}
                           for slot in active_timeslots(event)]
    return fields

