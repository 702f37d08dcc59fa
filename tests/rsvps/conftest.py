"""RSVP fixtures: a helper that RSVPs through the service, and reading the outbox."""

import itertools

import pytest
from sqlalchemy import select

from mobilize.core.models import OutboundMail
from mobilize.extensions import db
from mobilize.rsvps import services

_people = itertools.count(1)


class Rsvps:
    def __call__(self, event, email: str | None = None, *, slots=None, guests: int = 0, **fields):
        """RSVP a new (or the given) supporter to the event's first timeslot, or to ``slots``."""
        n = next(_people)
        fields.setdefault("given_name", f"Sam{n}")
        fields.setdefault("family_name", "Supporter")
        fields.setdefault("postal_code", "62701")
        chosen = slots if slots is not None else event.timeslots[:1]
        return services.rsvp(event.id, email=email or f"supporter{n}@example.net",
                             timeslot_ids=[str(slot.uuid) for slot in chosen], guests=guests, **fields)

    @staticmethod
    def outbox(template_prefix: str | None = None, to: str | None = None) -> list[OutboundMail]:
        query = select(OutboundMail).order_by(OutboundMail.id)
        if to:
            query = query.where(OutboundMail.to == to)
        mails = db.session.scalars(query).all()
        return [m for m in mails if template_prefix is None or (m.dedupe_key or "").startswith(template_prefix)]


@pytest.fixture
def rsvp_to(app):
    return Rsvps()


@pytest.fixture
def org_event(make):
    """An organizer, their organization and a 50-seat event of theirs."""
    user, org = make.organizer()
    return user, org, make.event(org)
