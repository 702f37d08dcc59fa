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
