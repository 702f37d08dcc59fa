"""What RSVP mails say and carry; queued in the caller's transaction, sent by the worker after commit."""

from mobilize.core.mail import (
    attachment_builder,
    composed_context,
    queue_composed_later,
    queue_mail,
    rewrite_composed_later,
)
from mobilize.events import disclosure
from mobilize.events.models import Event, Timeslot
from mobilize.events.times import format_range
from mobilize.extensions import db
from mobilize.feeds.ical import event_calendar
from mobilize.rsvps.links import event_url, manage_url
from mobilize.rsvps.models import Attendance, Place


def details(attendance: Attendance, statuses: dict[int, str] | None = None) -> dict:
    """What the supporter may see (``events.disclosure``): a confirmed place shows the join link and a private
    address."""
    event = attendance.event
    statuses = statuses if statuses is not None else {p.timeslot_id: p.status for p in attendance.places}
    confirmed = "confirmed" in statuses.values()
    audience = disclosure.audience(confirmed=confirmed)
    shown = disclosure.sees_address(event, audience)
    url, instructions = disclosure.join_link(event, audience)
    return {
        "confirmed": confirmed,
        "address": disclosure.address_lines(event) if shown else [],
        "address_hidden": not shown and not event.is_virtual,
        "virtual_action_url": url,
        "virtual_instructions": instructions,
    }


def _context(attendance: Attendance, statuses: dict[int, str] | None = None, guests: int | None = None) -> dict:
    """The mail's context for these statuses and guests (the attendance's own by default)."""
    event = attendance.event
    statuses = statuses if statuses is not None else {p.timeslot_id: p.status for p in attendance.places}
    slots = sorted((slot for slot in event.timeslots if slot.id in statuses), key=lambda slot: slot.start_at)
    summary = next((s for s in ("confirmed", "waitlisted") if s in statuses.values()), "cancelled")
    return {
        "attendance": attendance, "event": event, "person": attendance.person, "organization": event.organization,
        "places": [{"label": format_range(slot.start_at, slot.end_at, event.timezone), "status": statuses[slot.id]}
                   for slot in slots],
        "status": summary, "guests": attendance.guests if guests is None else guests,
        "manage_url": manage_url(attendance), "event_url": event_url(event), **details(attendance, statuses),
    }


def calendar_attachment(event: Event, timeslots: list[Timeslot]) -> list[dict]:
    """The confirmed timeslots as a single-event .ics, built when the mail is sent (``event_ics``)."""
    if not timeslots:
        return []
    return [{"build": "event_ics", "args": {"event_id": event.id, "timeslot_ids": sorted(s.id for s in timeslots)}}]


@attachment_builder("event_ics")
def event_ics(event_id: int, timeslot_ids: list[int]) -> dict | None:
    """The event's .ics as an attendee sees it (join link, full address), with those of the timeslots that
    still exist; None when none does."""
    event = db.session.get(Event, event_id)
    slots = [slot for slot in event.timeslots if slot.id in timeslot_ids and slot.deleted_at is None] if event else []
    if not slots:
        return None
    content = event_calendar(event, slots, url=event_url(event), organization_name=event.organization.name,
                             tags=[tag.name for tag in event.tags], audience=disclosure.ATTENDEE)
    return {"filename": "event.ics", "content": content.decode(), "mimetype": "text/calendar"}


def queue_update(attendance: Attendance, statuses: dict[int, str], guests: int, revision: int) -> int | None:
    """The confirmation (or "your RSVP changed") mail for one revision of the attendance, once; composed
    by the worker when it sends it (``_update_context``)."""
    return queue_composed_later(attendance.person.email, "rsvp_confirmation",
                                dedupe_key=f"rsvp-confirmation:{attendance.id}:{revision}",
                                **_update_arguments(attendance, statuses, guests, revision))


def rewrite_update(mail_id: int, attendance: Attendance, statuses: dict[int, str], guests: int) -> None:
    """Say what really happened, when the queued confirmation was written from a plan that changed under the lock."""
    rewrite_composed_later(mail_id, **_update_arguments(attendance, statuses, guests, attendance.revision))


def _update_arguments(attendance: Attendance, statuses: dict[int, str], guests: int, revision: int) -> dict:
    confirmed = [slot for slot in attendance.event.timeslots if statuses.get(slot.id) == "confirmed"]
    return {"attachments": calendar_attachment(attendance.event, confirmed), "attendance_id": attendance.id,
            "statuses": {str(slot_id): status for slot_id, status in statuses.items()}, "guests": guests,
            "revision": revision}


@composed_context("rsvp_confirmation")
def _update_context(attendance_id: int, statuses: dict[str, str], guests: int, revision: int) -> dict | None:
    attendance = db.session.get(Attendance, attendance_id)
    if attendance is None:
        return None
    return {"first": revision == 1, **_context(attendance, {int(k): v for k, v in statuses.items()}, guests)}


def queue_promotion(place: Place) -> None:
    """"A seat opened up": once per promotion of a place."""
    attendance = place.attendance
    stamp = int(place.confirmed_at.timestamp() * 1_000_000)
    queue_mail(
        attendance.person.email, "rsvp_promoted",
        dedupe_key=f"rsvp-promoted:{place.id}:{stamp}",
        attachments=calendar_attachment(attendance.event, [place.timeslot]),
        promoted_label=format_range(place.timeslot.start_at, place.timeslot.end_at, attendance.event.timezone),
        **_context(attendance),
    )


def queue_cancelled(attendance: Attendance, by_organizer: bool) -> None:
    queue_mail(
        attendance.person.email, "rsvp_cancelled",
        dedupe_key=f"rsvp-cancelled:{attendance.id}:{attendance.revision}",
        by_organizer=by_organizer, **_context(attendance),
    )


def queue_new_link(attendance: Attendance) -> None:
    queue_mail(
        attendance.person.email, "rsvp_new_link",
        dedupe_key=f"rsvp-link:{attendance.id}:{attendance.manage_key}", **_context(attendance),
    )
