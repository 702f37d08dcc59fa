"""OSDI events, with Mobilize's names (timeslots, event_type, is_virtual...) where OSDI has none.

Anyone may read public events; an organizer's token also sees its organizations'
events and, for those only, the join link, instructions, private contact details and
the co-host invitations not (yet) accepted.
"""

from datetime import datetime
from typing import Literal

from flask import url_for
from pydantic import BaseModel, ConfigDict, Field

from mobilize.accounts.services import get_organization, organization_ids_for, organizations_for
from mobilize.api.core import collection, endpoint, hal, iso, odata_filter, paginate
from mobilize.core.errors import Invalid
from mobilize.events import access, cohosts, disclosure, listing, services, times
from mobilize.events.models import ACCESSIBILITY, EVENT_TYPES, VISIBILITIES, Event

# --- Output ---


def _local_iso(instant: datetime | None, tz_name: str) -> str | None:
    return times.local(instant, tz_name).isoformat() if instant else None


def _location(event: Event, audience: str) -> dict | None:
    if event.is_virtual:
        return None
    location = {"locality": event.locality, "region": event.region, "country": event.country}
    if disclosure.sees_address(event, audience):
        location.update(venue=event.venue, postal_code=event.postal_code,
                        address_lines=[line for line in (event.address_line1, event.address_line2) if line])
    spot = disclosure.coordinates(event, audience)
    if spot is not None:
        latitude, longitude, exact = spot
        location["location"] = {"latitude": latitude, "longitude": longitude,
                                "accuracy": "Rooftop" if exact else "Approximate"}
    return location


def _timeslot_json(slot, tz_name: str) -> dict:
    return {"id": str(slot.uuid), "identifiers": [slot.identifier],
            "start_date": _local_iso(slot.start_at, tz_name), "end_date": _local_iso(slot.end_at, tz_name),
            "max_attendees": slot.capacity, "total_accepted": slot.seats_taken,
            "is_full": slot.seats_left == 0}


def _invitation_json(invitation) -> dict:
    return {"organization": invitation.organization.slug, "status": invitation.status,
            "invited_date": iso(invitation.created_at), "responded_date": iso(invitation.responded_at)}


def event_json(event: Event, full: bool = False) -> dict:
    """An OSDI event; ``full`` for its own organizers (join link, instructions, private address and contact)."""
    links = {"self": {"href": url_for("api.get_event", event_id=event.uuid, _external=True)}}
    status = services.status_of(event)
    if status == "deleted":
        return {"identifiers": [event.identifier], "created_date": iso(event.created_at),
                "modified_date": iso(event.modified_at), "deleted_date": iso(event.deleted_at),
                "status": "deleted", "_links": links}
    slots = services.active_timeslots(event)
    capacities = [slot.capacity for slot in slots]
    audience = disclosure.audience(organizer=full)
    contact = {key: value for key, value in zip(("name", "email_address", "phone_number"),
                                                 disclosure.contact(event, audience), strict=True) if value}
    body = {
        "identifiers": [event.identifier],
        "origin_system": "mobilize",
        "created_date": iso(event.created_at),
        "modified_date": iso(event.modified_at),
        "title": event.title,
        "summary": event.summary,
        "description": event.description_html,
        "browser_url": url_for("events.show", event_id=event.uuid, _external=True),
        "featured_image_url": event.featured_image_url or None,
        "type": "open",
        "event_type": event.event_type,
        "status": status,
        "cancelled_date": iso(event.cancelled_at),
        "visibility": event.visibility,
        "high_priority": event.high_priority,
        "timezone_identifier": event.timezone,
        "start_date": _local_iso(slots[0].start_at if slots else None, event.timezone),
        "end_date": _local_iso(slots[-1].end_at if slots else None, event.timezone),
        "capacity": None if None in capacities or not capacities else sum(capacities),
        "total_accepted": sum(slot.seats_taken for slot in slots),
        "guests_can_invite_others": event.max_guests > 0,
        "timeslots": [_timeslot_json(slot, event.timezone) for slot in slots],
        "is_virtual": event.is_virtual,
        "location": _location(event, audience),
        "address_visibility": event.address_visibility,
        "accessibility_status": event.accessibility_status,
        "accessibility_notes": event.accessibility_notes,
        "tags": [tag.name for tag in event.tags],
        "contact": contact,
        "sponsor": {"name": event.organization.name, "slug": event.organization.slug},
        "cohost_organizations": [org.slug for org in event.cohosts],
        "sequence": event.sequence,
        "_links": {**links, "osdi:attendances": {"href": f"{links['self']['href']}/attendances"},
                   "osdi:record_attendance_helper": {"href": f"{links['self']['href']}/attendances"}},
    }
    if full:
        url, instructions = disclosure.join_link(event, audience)
        body.update(virtual_action_url=url or None, instructions=instructions,
                    description_markdown=event.description,
                    cohost_invitations=[_invitation_json(i) for i in cohosts.unanswered(event)])
    return body


# --- Input ---

class GeoIn(BaseModel):
    latitude: float | None = None
    longitude: float | None = None


class LocationIn(BaseModel):
    model_config = ConfigDict(extra="ignore")
    venue: str | None = None
    address_lines: list[str] = Field(default_factory=list, max_length=2)
    locality: str | None = None
    region: str | None = None
    postal_code: str | None = None
    country: str | None = None
    location: GeoIn | None = None


class TimeslotIn(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: str | None = Field(None, description="A timeslot's id, to change it rather than add one.")
    start_date: datetime = Field(description="With an offset: that instant. Without: wall time in the event's zone.")
    end_date: datetime
    max_attendees: int | None = Field(None, ge=0, le=1_000_000, description="null: unlimited")


class ContactIn(BaseModel):
    model_config = ConfigDict(extra="ignore")
    name: str | None = None
    email_address: str | None = None
    phone_number: str | None = None
    name_public: bool | None = None
    email_public: bool | None = None
    phone_public: bool | None = None


class EventIn(BaseModel):
    """An event to create or change; on PUT only the fields sent change. Unknown OSDI fields are ignored."""

    model_config = ConfigDict(extra="ignore")
    organization: str | None = Field(None, description="Host organization's slug; needed if you have several.")
    title: str | None = Field(None, max_length=200)
    summary: str | None = Field(None, max_length=500)
    description: str | None = Field(None, max_length=services.MAX_DESCRIPTION, description="Markdown")
    featured_image_url: str | None = None
    event_type: Literal[EVENT_TYPES] | None = None
    visibility: Literal[VISIBILITIES] | None = None
    status: Literal["confirmed", "cancelled"] | None = Field(None, description="cancelled cancels the event")
    high_priority: bool | None = None
    timezone_identifier: str | None = Field(None, description="IANA zone; required to create")
    start_date: datetime | None = None
    end_date: datetime | None = None
    capacity: int | None = Field(None, ge=0, le=1_000_000)
    timeslots: list[TimeslotIn] | None = Field(None, max_length=services.MAX_TIMESLOTS)
    is_virtual: bool | None = None
    virtual_action_url: str | None = None
    instructions: str | None = None
    location: LocationIn | None = None
    address_visibility: Literal["public", "private"] | None = None
    accessibility_status: Literal[ACCESSIBILITY] | None = None
    accessibility_notes: str | None = None
    tags: list[str] | None = Field(None, max_length=services.MAX_TAGS)
    contact: ContactIn | None = None
    cohost_organizations: list[str] | None = Field(
        None, max_length=services.MAX_COHOSTS,
        description="Slugs of every organization named as co-host. Each new one is invited (its organizers are "
                    "mailed) and co-hosts only once one of them accepts: until then it is listed in the event's "
                    "cohost_invitations (pending, or declined), not in cohost_organizations. An organization left "
                    "out loses its invitation or stops co-hosting; one kept keeps its answer, so a declined "
                    "invitation is not sent again unless it is left out and named again later.")
    max_guests: int | None = Field(None, ge=0, le=20)


SIMPLE = ("title", "summary", "description", "featured_image_url", "event_type", "visibility", "high_priority",
          "is_virtual", "virtual_action_url", "address_visibility", "accessibility_status", "accessibility_notes",
          "tags", "max_guests")


def _fields(body: EventIn, event: Event | None) -> dict:
    """Service fields from the fields the client sent."""
    sent = body.model_fields_set
    fields = {name: getattr(body, name) for name in SIMPLE if name in sent}
    if "timezone_identifier" in sent:
        fields["timezone"] = body.timezone_identifier
    if "instructions" in sent:
        fields["virtual_instructions"] = body.instructions
    if "cohost_organizations" in sent:
        fields["cohosts"] = body.cohost_organizations or []
    if body.location is not None:
        loc = body.location
        for name in ("venue", "locality", "region", "postal_code", "country"):
            if name in loc.model_fields_set:
                fields[name] = getattr(loc, name) or ""
        if "address_lines" in loc.model_fields_set:
            lines = [*loc.address_lines, "", ""]
            fields["address_line1"], fields["address_line2"] = lines[0], lines[1]
        if loc.location is not None:
            fields["latitude"], fields["longitude"] = loc.location.latitude, loc.location.longitude
    if body.contact is not None:
        c = body.contact
        for key, attr in (("name", "contact_name"), ("email_address", "contact_email"),
                          ("phone_number", "contact_phone")):
            if key in c.model_fields_set:
                fields[attr] = getattr(c, key) or ""
        for key, attr in (("name_public", "contact_name_public"), ("email_public", "contact_email_public"),
                          ("phone_public", "contact_phone_public")):
            if key in c.model_fields_set:
                fields[attr] = getattr(c, key)
    if body.timeslots is not None:
        fields["timeslots"] = [{"uuid": s.id, "start_at": s.start_date, "end_at": s.end_date,
                                "capacity": s.max_attendees} for s in body.timeslots]
    elif {"start_date", "end_date"} & sent:
        current = services.active_timeslots(event) if event else []
        if len(current) > 1:
            raise Invalid("This event has several timeslots; change them with `timeslots`.",
                          {"start_date": "Use timeslots."})
        slot = current[0] if current else None
        start, end = body.start_date or (slot and slot.start_at), body.end_date or (slot and slot.end_at)
        if start is None or end is None:
            raise Invalid("Send both start_date and end_date (or timeslots).", {"end_date": "Required."})
        capacity = body.capacity if "capacity" in sent else (slot.capacity if slot else None)
        fields["timeslots"] = [{"uuid": slot and slot.uuid, "start_at": start, "end_at": end, "capacity": capacity}]
    elif "capacity" in sent and event is not None:
        current = services.active_timeslots(event)
        if len(current) != 1:
            raise Invalid("This event has several timeslots; set max_attendees on each.", {"capacity": "Ambiguous."})
        fields["timeslots"] = [{"uuid": current[0].uuid, "start_at": current[0].start_at,
                                "end_at": current[0].end_at, "capacity": body.capacity}]
    return fields


def _host(user, slug: str | None):
    if slug:
        return get_organization(slug)
    orgs = organizations_for(user.id)
    if len(orgs) != 1:
        raise Invalid("Say which organization hosts the event.", {"organization": "Send its slug."})
    return orgs[0]


# --- Endpoints ---

@endpoint("/events", summary="Events: public ones, and all of your organizations' (cancelled and deleted included)",
          tag="events", query={"filter": "OData: modified_date gt|lt|eq '<ISO 8601>', status eq 'cancelled'",
                               "page": "from 1", "per_page": "up to 100"})
def list_events(user):
    query = listing.events_visible_to(user.id if user else None).where(*odata_filter({
        "modified_date": Event.modified_at, "created_date": Event.created_at, "status": Event.status,
        "event_type": Event.event_type, "visibility": Event.visibility}))
    org_ids = set(organization_ids_for(user.id)) if user else set()

    def serialize(event):
        return event_json(event, full=access.organizes(org_ids, event))

    return hal(paginate(query, serialize, "osdi:events", "api.list_events"))


@endpoint("/events/<uuid:event_id>", summary="One event", tag="events")
def get_event(user, event_id):
    event = services.public_event(event_id, user.id if user else None)
    return hal(event_json(event, full=access.can_manage(user.id if user else None, event)))


@endpoint("/events", methods=("POST",), summary="Create an event", body=EventIn, auth="required", tag="events")
def create_event(user, body: EventIn):
    if body.timezone_identifier is None:
        raise Invalid("timezone_identifier is required.", {"timezone_identifier": "Required, e.g. America/New_York."})
    org = _host(user, body.organization)
    event = services.create_event(user.id, org.id, _fields(body, None))
    if body.status == "cancelled":
        event = services.cancel_event(user.id, event.uuid)
    location = url_for("api.get_event", event_id=event.uuid, _external=True)
    return hal(event_json(event, full=True), 201, {"Location": location})


@endpoint("/events/<uuid:event_id>", methods=("PUT",), summary="Change the fields given; status cancelled cancels",
          body=EventIn, auth="required", tag="events")
def update_event(user, event_id, body: EventIn):
    event = access.event_for_organizer(user.id, event_id)
    fields = _fields(body, event)
    if fields:
        event = services.update_event(user.id, event_id, fields)
    if body.status == "cancelled":
        event = services.cancel_event(user.id, event_id)
    elif body.status == "confirmed" and event.status == "cancelled":
        raise Invalid("A cancelled event stays cancelled; create a new one.", {"status": "Cannot un-cancel."})
    return hal(event_json(event, full=True))


@endpoint("/events/<uuid:event_id>", methods=("DELETE",), summary="Delete an event (it stays listed as deleted)",
          auth="required", tag="events")
def delete_event(user, event_id):
    services.delete_event(user.id, event_id)
    return hal({"notice": "The event is deleted."})


collection("osdi:events", "api.list_events")
