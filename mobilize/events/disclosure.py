"""What each audience may see of an event's private parts: pure functions of its row, no queries.

Pages, mail, calendar feeds and the API all ask here, so a private address or
a join link cannot leak through one of them alone. ``event`` may be an ORM
object or a result row with the same attribute names.

- ``public``: anyone, including a supporter whose place is waitlisted or
  cancelled: the town of a private address, never the join link, and only the
  contact details the organizers made public.
- ``attendee`` (a confirmed place): also the full address and the join link
  with its instructions.
- ``organizer`` (of the host or a co-host): everything, contact details included.
"""

from typing import NamedTuple

PUBLIC, ATTENDEE, ORGANIZER = "public", "attendee", "organizer"
AUDIENCES = (PUBLIC, ATTENDEE, ORGANIZER)


def audience(*, organizer: bool = False, confirmed: bool = False) -> str:
    """The audience of someone who manages the event, or who holds a confirmed place in it."""
    return ORGANIZER if organizer else ATTENDEE if confirmed else PUBLIC


# The place.

def address_is_public(event) -> bool:
    """Whether anyone may see the street address of the event."""
    return not event.is_virtual and event.address_visibility == "public"


def sees_address(event, audience: str) -> bool:
    """Whether the audience sees the street address (and the exact spot) of an in-person event."""
    return not event.is_virtual and (audience != PUBLIC or event.address_visibility == "public")


def public_place(event) -> str:
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


def full_address(event) -> str:
    """The street address on one line, country included: for those who see it (a calendar's LOCATION)."""
    region = " ".join(p for p in (event.region, event.postal_code) if p)
    parts = (event.venue, event.address_line1, event.address_line2, event.locality, region, event.country)
    return ", ".join(p.strip() for p in parts if p and p.strip())


def address_lines(event) -> list[str]:
    """The street address as the lines of an envelope: for those who see it (mail)."""
    locality = ", ".join(part for part in (event.locality, " ".join(filter(None, (event.region, event.postal_code))))
                         if part)
    return [line for line in (event.venue, event.address_line1, event.address_line2, locality) if line]


def coordinates(event, audience: str) -> tuple[float, float, bool] | None:
    """(latitude, longitude, exact): the spot for those who see the address, else rounded to
    about a kilometre (the town, not the door); None online or without coordinates."""
    if event.is_virtual or event.latitude is None or event.longitude is None:
        return None
    exact = sees_address(event, audience)
    precision = 6 if exact else 2
    return round(event.latitude, precision), round(event.longitude, precision), exact


# Joining online.

def join_link(event, audience: str) -> tuple[str, str]:
    """(join link, instructions) for those with a confirmed place and organizers; empty for the public."""
    if audience == PUBLIC:
        return "", ""
    return event.virtual_action_url, event.virtual_instructions


# Whom to ask.

class Contact(NamedTuple):
    name: str
    email: str
    phone: str


def contact(event, audience: str) -> Contact:
    """The contact details the audience may see, empty where not: organizers see all, others the public ones."""
    everything = audience == ORGANIZER
    return Contact(
        event.contact_name if everything or event.contact_name_public else "",
        event.contact_email if everything or event.contact_email_public else "",
        event.contact_phone if everything or event.contact_phone_public else "",
    )
