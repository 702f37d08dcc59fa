"""Attendances: one per person and event, with a place in each timeslot they chose.

The seat a place holds is counted on ``Timeslot.seats_taken``; both change
only in ``rsvps.seats`` with the timeslot row locked.
"""

from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    and_,
    func,
    or_,
    select,
)
from sqlalchemy.orm import Mapped, aliased, mapped_column, relationship

from mobilize.core.models import BigId, PublicIdMixin, TimestampMixin, UTCDateTime, utcnow
from mobilize.events.models import Event, Timeslot
from mobilize.extensions import db
from mobilize.people.models import Person

PLACE_STATUSES = ("confirmed", "waitlisted", "cancelled")
SOURCES = ("form", "api", "organizer")
UTM_FIELDS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")


class Attendance(PublicIdMixin, TimestampMixin, db.Model):
    __tablename__ = "attendances"
    __table_args__ = (
        UniqueConstraint("person_id", "event_id"),
        CheckConstraint("guests >= 0", name="guests"),
        CheckConstraint(f"source IN {SOURCES}", name="source"),
        Index("ix_attendances_event_created", "event_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), nullable=False)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), nullable=False, index=True)
    guests: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    # None until the organizer marks it: True attended, False no-show.
    attended: Mapped[bool | None] = mapped_column(Boolean)
    source: Mapped[str] = mapped_column(String(10), default="form", nullable=False)
    referrer: Mapped[str] = mapped_column(String(1000), default="", nullable=False)
    utm_source: Mapped[str] = mapped_column(String(200), default="", nullable=False)
    utm_medium: Mapped[str] = mapped_column(String(200), default="", nullable=False)
    utm_campaign: Mapped[str] = mapped_column(String(200), default="", nullable=False)
    utm_term: Mapped[str] = mapped_column(String(200), default="", nullable=False)
    utm_content: Mapped[str] = mapped_column(String(200), default="", nullable=False)
    # Raised on each change the supporter is told about; keys the confirmation mail's dedupe.
    revision: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    # Random, signed into the manage link; replacing it revokes every earlier link.
    manage_key: Mapped[str] = mapped_column(String(64), nullable=False)

    event: Mapped[Event] = relationship()
    person: Mapped[Person] = relationship()
    places: Mapped[list["Place"]] = relationship(
        back_populates="attendance", order_by="Place.timeslot_id", cascade="all, delete-orphan"
    )

    @property
    def seats(self) -> int:
        """Seats each confirmed place holds: the supporter and their guests."""
        return 1 + self.guests

    @property
    def status(self) -> str:
        """confirmed when any place is, else waitlisted when any is, else cancelled."""
        statuses = {place.status for place in self.places}
        return next((s for s in PLACE_STATUSES if s in statuses), "cancelled")

    def active_places(self) -> list["Place"]:
        return [place for place in self.places if place.status != "cancelled"]


class Place(TimestampMixin, db.Model):
    """An attendance's place in one timeslot: confirmed, waitlisted (queued in order) or cancelled."""

    __tablename__ = "attendance_timeslots"
    __table_args__ = (
        UniqueConstraint("attendance_id", "timeslot_id"),
        CheckConstraint(f"status IN {PLACE_STATUSES}", name="status"),
        Index("ix_attendance_timeslots_queue", "timeslot_id", "status", "queued_at", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    attendance_id: Mapped[int] = mapped_column(ForeignKey("attendances.id", ondelete="CASCADE"), nullable=False)
    timeslot_id: Mapped[int] = mapped_column(ForeignKey("timeslots.id", ondelete="CASCADE"), nullable=False)
    status: Mapped[str] = mapped_column(String(10), nullable=False)
    # When it asked for this timeslot, taken under the timeslot's lock: the waitlist's order.
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    attendance: Mapped[Attendance] = relationship(back_populates="places")
    timeslot: Mapped[Timeslot] = relationship()


def waitlist_positions(attendance: Attendance) -> dict[int, int]:
    """{timeslot id: 1-based place in line} for the attendance's waitlisted places."""
    ahead = aliased(Place)
    positions = {}
    for place in attendance.places:
        if place.status != "waitlisted":
            continue
        positions[place.timeslot_id] = 1 + db.session.scalar(
            select(func.count()).select_from(ahead).where(
                ahead.timeslot_id == place.timeslot_id, ahead.status == "waitlisted",
                or_(ahead.queued_at < place.queued_at, and_(ahead.queued_at == place.queued_at, ahead.id < place.id)),
            )
        )
    return positions
