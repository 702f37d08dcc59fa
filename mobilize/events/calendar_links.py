"""Add-to-calendar links for Google Calendar and Outlook, per timeslot.

Only public details go in: the place as anyone may see it, never the join link.
"""

from urllib.parse import urlencode

from mobilize.core.urls import external_url
from mobilize.events.disclosure import public_place
from mobilize.events.models import Event, Timeslot

GOOGLE = "https://calendar.google.com/calendar/render"
OUTLOOK = "https://outlook.live.com/calendar/0/action/compose"


def _details(event: Event) -> str:
    page = external_url("events.show", event_id=event.uuid)
    return "\n\n".join(part for part in (event.summary, f"Details and RSVP: {page}") if part)


def google(event: Event, slot: Timeslot) -> str:
    dates = f"{slot.start_at:%Y%m%dT%H%M%SZ}/{slot.end_at:%Y%m%dT%H%M%SZ}"
    return GOOGLE + "?" + urlencode({"action": "TEMPLATE", "text": event.title, "dates": dates,
                                     "details": _details(event), "location": public_place(event),
                                     "ctz": event.timezone})


def outlook(event: Event, slot: Timeslot) -> str:
    return OUTLOOK + "?" + urlencode({"path": "/calendar/action/compose", "rru": "addevent", "subject": event.title,
                                      "startdt": slot.start_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                                      "enddt": slot.end_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                                      "body": _details(event), "location": public_place(event)})
