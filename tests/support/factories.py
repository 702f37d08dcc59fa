"""Factories with sensible defaults; each goes through the service layer."""

import itertools

from mobilize.accounts import services as accounts

_counter = itertools.count(1)
PASSWORD = "correct horse battery"


class Factories:
    def organizer(self, email: str | None = None, org: str | None = "Flex Org", name: str = "Olive Organizer"):
        """A user and (unless org is None) the organization they own."""
        n = next(_counter)
        user = accounts.sign_up(email or f"organizer{n}@example.org", name, PASSWORD, org and f"{org} {n}")
        orgs = accounts.organizations_for(user.id)
        return user, (orgs[0] if orgs else None)

    def token(self, user) -> str:
        return accounts.create_api_token(user.id, "test")[1]

    def event(self, org, *, title: str = "Flex Friday meetup", capacity: int | None = 50, start=None,
              hours: float = 2, timezone: str = "America/New_York", slots: int = 1, **fields):
        """A public in-person event with ``slots`` daily timeslots, written directly as rows.

        The events service may replace this once it exists; the rows are the contract.
        """
        from datetime import timedelta

        from mobilize.core.models import utcnow
        from mobilize.events.models import Event, Timeslot
        from mobilize.extensions import db

        start = start or (utcnow() + timedelta(days=7)).replace(microsecond=0)
        defaults = dict(organization_id=org.id, title=title, timezone=timezone, venue="Union Hall",
                        address_line1="1 Main St", locality="Springfield", region="IL", postal_code="62701",
                        country="US", latitude=39.8017, longitude=-89.6437)
        event = Event(**{**defaults, **fields})
        for n in range(slots):
            begin = start + timedelta(days=n)
            event.timeslots.append(Timeslot(start_at=begin, end_at=begin + timedelta(hours=hours), capacity=capacity))
        db.session.add(event)
        db.session.commit()
        return event


def event_fields(**overrides) -> dict:
    """A public in-person event a week from now, 6-8 PM in New York, as the events service takes it."""
    from datetime import datetime, timedelta

    from mobilize.core.models import utcnow

    day = (utcnow() + timedelta(days=7)).date()
    fields = {
        "title": "Flex Friday meetup", "summary": "Talk flexible work with neighbours.",
        "description": "Bring a friend. **Snacks** provided.", "event_type": "meeting", "visibility": "public",
        "timezone": "America/New_York", "venue": "Union Hall", "address_line1": "1 Main St",
        "locality": "New York", "region": "NY", "postal_code": "10001", "country": "US",
        "timeslots": [{"start_at": datetime(day.year, day.month, day.day, 18),
                       "end_at": datetime(day.year, day.month, day.day, 20), "capacity": 30}],
        "tags": ["remote work"], "contact_name": "Olive Organizer", "contact_email": "olive.private@example.org",
        "contact_phone": "555-0100",
    }
    fields.update(overrides)
    return fields


def outbox(prefix: str | None = None, to: str | None = None) -> list:
    """The queued mail whose dedupe key starts with ``prefix`` (and goes to ``to``), oldest first."""
    from sqlalchemy import select

    from mobilize.core.models import OutboundMail
    from mobilize.extensions import db

    query = select(OutboundMail).order_by(OutboundMail.id)
    if prefix is not None:
        query = query.where(OutboundMail.dedupe_key.like(f"{prefix}%"))
    if to:
        query = query.where(OutboundMail.to == to)
    return list(db.session.scalars(query))


_supporters = itertools.count(1)


class Rsvps:
    """rsvp_to(event): a new supporter RSVPs through the service to the event's first timeslot (or ``slots``),
    placed ``days_ago`` days back (so reminders count them as early birds)."""

    outbox = staticmethod(outbox)

    def __init__(self, days_ago: float = 0):
        self.days_ago = days_ago

    def __call__(self, event, email: str | None = None, *, slots=None, guests: int = 0,
                 days_ago: float | None = None, **fields):
        from datetime import timedelta

        from sqlalchemy import select

        from mobilize.extensions import db
        from mobilize.rsvps import services as rsvps
        from mobilize.rsvps.models import Place

        n = next(_supporters)
        fields.setdefault("given_name", f"Sam{n}")
        fields.setdefault("family_name", "Supporter")
        fields.setdefault("postal_code", "62701")
        chosen = slots if slots is not None else event.timeslots[:1]
        attendance = rsvps.rsvp(event.id, email=email or f"supporter{n}@example.net",
                                timeslot_ids=[str(slot.uuid) for slot in chosen], guests=guests, **fields)
        back = timedelta(days=self.days_ago if days_ago is None else days_ago)
        if back:
            for place in db.session.scalars(select(Place).where(Place.attendance_id == attendance.id)):
                place.queued_at -= back
                if place.confirmed_at:
                    place.confirmed_at -= back
            db.session.commit()
        return attendance
