"""Reminder fixtures: RSVPs through the real service, and reading the outbox by dedupe-key prefix."""

import itertools
from datetime import timedelta

import pytest
from sqlalchemy import select

from mobilize.core.models import OutboundMail
from mobilize.extensions import db
from mobilize.rsvps import services as rsvps
from mobilize.rsvps.models import Place

_people = itertools.count(1)


class Rsvps:
    def __call__(self, event, *, email: str | None = None, slots=None, guests: int = 0, days_ago: float = 3):
        """RSVP a new supporter to the event's first timeslot (or ``slots``), as if ``days_ago`` days ago."""
        n = next(_people)
        chosen = slots if slots is not None else event.timeslots[:1]
        attendance = rsvps.rsvp(event.id, email=email or f"supporter{n}@example.net", given_name=f"Sam{n}",
                                family_name="Supporter", postal_code="62701",
                                timeslot_ids=[str(slot.uuid) for slot in chosen], guests=guests)
        back = timedelta(days=days_ago)
        for place in db.session.scalars(select(Place).where(Place.attendance_id == attendance.id)):
            place.queued_at -= back
            if place.confirmed_at:
                place.confirmed_at -= back
        db.session.commit()
        return attendance


def outbox(prefix: str, to: str | None = None) -> list[OutboundMail]:
    query = select(OutboundMail).where(OutboundMail.dedupe_key.like(f"{prefix}%")).order_by(OutboundMail.id)
    if to:
        query = query.where(OutboundMail.to == to)
    return list(db.session.scalars(query))


@pytest.fixture
def rsvp_to(app):
    return Rsvps()
