"""OSDI attendances: an event's and a person's, the record-attendance helper, and PUT for status and attended.

Attendances carry people, so every call needs an organizer's token and sees
only events their organizations host or co-host.
"""

from pydantic import BaseModel, Field
from sqlalchemy import case, func, select
from sqlalchemy.orm import selectinload

from mobilize.api.core import endpoint, hal, iso, odata_filter, paginate
from mobilize.core.errors import NotFound
from mobilize.people.services import person_visible_to
from mobilize.rsvps import attendees, services
from mobilize.rsvps.models import Attendance, Place, waitlist_positions

STATUS_NAMES = {"confirmed": "accepted", "waitlisted": "waitlisted", "cancelled": "declined"}


def _self_href(attendance: Attendance) -> str:
    return f"/api/v1/events/{attendance.event.uuid}/attendances/{attendance.uuid}"


def attendance_json(attendance: Attendance) -> dict:
    positions = waitlist_positions(attendance)
    status = STATUS_NAMES[attendance.status]
    places = sorted(attendance.places, key=lambda p: p.timeslot.start_at)
    return {
        "identifiers": [attendance.identifier],
        "origin_system": "mobilize",
        "created_date": iso(attendance.created_at),
        "modified_date": iso(max([attendance.modified_at, *(p.modified_at for p in places)])),
        "action_date": iso(attendance.created_at),
        "status": status,
        "waitlist_position": min(positions.values()) if status == "waitlisted" else None,
        "attended": attendance.attended,
        "guests": attendance.guests,
        "timeslots": [
            {"identifiers": [p.timeslot.identifier], "start_date": iso(p.timeslot.start_at),
             "end_date": iso(p.timeslot.end_at), "status": STATUS_NAMES[p.status],
             "waitlist_position": positions.get(p.timeslot_id)}
            for p in places
        ],
        "referrer_data": {"source": attendance.utm_source, "referrer": attendance.referrer,
                          "website": attendance.utm_medium, "campaign": attendance.utm_campaign},
        "_links": {
            "self": {"href": _self_href(attendance)},
            "osdi:event": {"href": f"/api/v1/events/{attendance.event.uuid}"},
            "osdi:person": {"href": f"/api/v1/people/{attendance.person.uuid}"},
        },
    }


def _filtered(query):
    """With OSDI's OData filter; modified_date counts changes to the places too (promotions)."""
    places_changed = (select(func.max(Place.modified_at)).where(Place.attendance_id == Attendance.id)
                      .correlate(Attendance).scalar_subquery())
    modified = case((places_changed > Attendance.modified_at, places_changed), else_=Attendance.modified_at)
    return query.where(*odata_filter({"modified_date": modified, "created_date": Attendance.created_at})).options(
        selectinload(Attendance.places).selectinload(Place.timeslot),
        selectinload(Attendance.person), selectinload(Attendance.event),
    )


FILTER_HELP = {"filter": "OData: modified_date gt|lt|eq '<ISO 8601>'"}


@endpoint("/events/<uuid:event_id>/attendances", summary="An event's attendances, every status included",
          auth="required", tag="attendances", query=FILTER_HELP)
def list_event_attendances(user, event_id):
    event = attendees.event_for_api(user.id, event_id)
    query = _filtered(select(Attendance).where(Attendance.event_id == event.id).order_by(Attendance.id))
    return hal(paginate(query, attendance_json, "osdi:attendances", "api.list_event_attendances", event_id=event_id))


@endpoint("/people/<uuid:person_id>/attendances", summary="A person's attendances at your organizations' events",
          auth="required", tag="attendances", query=FILTER_HELP)
def list_person_attendances(user, person_id):
    person = person_visible_to(user.id, person_id)
    if person is None:
        raise NotFound("No such person among your organizations' supporters.")
    query = _filtered(attendees.attendances_visible_to(user.id).where(Attendance.person_id == person.id))
    return hal(paginate(query, attendance_json, "osdi:attendances", "api.list_person_attendances",
                        person_id=person_id))


def _attendance(user, event_id, attendance_id) -> Attendance:
    event = attendees.event_for_api(user.id, event_id)
    return attendees.attendance_by_uuid(event, attendance_id)


@endpoint("/events/<uuid:event_id>/attendances/<uuid:attendance_id>", summary="One attendance",
          auth="required", tag="attendances")
def get_attendance(user, event_id, attendance_id):
    return hal(attendance_json(_attendance(user, event_id, attendance_id)))


class EmailAddress(BaseModel):
    address: str = Field(max_length=320)
    primary: bool | None = None
    status: str | None = Field(None, description='"subscribed" records an opt-in to the hosting organization')


class PhoneNumber(BaseModel):
    number: str | int


class PostalAddress(BaseModel):
    postal_code: str = Field("", max_length=20)


class PersonIn(BaseModel):
    given_name: str = Field(min_length=1, max_length=100)
    family_name: str = Field("", max_length=100)
    email_addresses: list[EmailAddress] = Field(min_length=1)
    phone_numbers: list[PhoneNumber] = []
    postal_addresses: list[PostalAddress] = []


class ReferrerData(BaseModel):
    source: str = Field("", max_length=200)
    referrer: str = Field("", max_length=1000)
    website: str = Field("", max_length=200)
    campaign: str = Field("", max_length=200)


class RecordAttendance(BaseModel):
    person: PersonIn
    timeslots: list[str] = Field([], description="Timeslot identifiers; may be left out when the event has one")
    guests: int = Field(0, ge=0)
    referrer_data: ReferrerData = ReferrerData()


@endpoint("/events/<uuid:event_id>/attendances", methods=("POST",), body=RecordAttendance,
          summary="Record attendance helper: RSVP a person (found or created by email), with capacity and waitlist "
                  "as on the RSVP form", auth="required", tag="attendances")
def record_attendance(user, event_id, body: RecordAttendance):
    event = attendees.event_for_api(user.id, event_id)
    person = body.person
    email = next((e for e in person.email_addresses if e.primary), person.email_addresses[0])
    open_slots = services.open_timeslots(event)
    slots = body.timeslots or ([str(open_slots[0].uuid)] if len(open_slots) == 1 else [])
    referrer = body.referrer_data
    attendance = services.rsvp(
        event.id, email=email.address, given_name=person.given_name, family_name=person.family_name,
        phone=str(person.phone_numbers[0].number) if person.phone_numbers else "",
        postal_code=person.postal_addresses[0].postal_code if person.postal_addresses else "",
        timeslot_ids=slots, guests=body.guests, opt_in=email.status == "subscribed",
        referrer=referrer.referrer,
        utm={"utm_source": referrer.source, "utm_medium": referrer.website, "utm_campaign": referrer.campaign},
        source="api",
    )
    return hal(attendance_json(attendance))


class UpdateAttendance(BaseModel):
    status: str | None = Field(None, description="accepted or declined")
    attended: bool | None = None


@endpoint("/events/<uuid:event_id>/attendances/<uuid:attendance_id>", methods=("PUT",), body=UpdateAttendance,
          summary="Change an attendance's status (accepted / declined) or attended", auth="required",
          tag="attendances")
def update_attendance(user, event_id, attendance_id, body: UpdateAttendance):
    attendance = _attendance(user, event_id, attendance_id)
    services.set_status(user.id, attendance.id, status=body.status, attended=body.attended,
                        set_attended="attended" in body.model_fields_set)
    return hal(attendance_json(attendance))
