"""Events and their timeslots, scoped to an organization.

Times are stored in UTC; ``Event.timezone`` (an IANA name) is how they are shown.
"""

from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy import inspect as inspect_state
from sqlalchemy.event import listens_for
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from mobilize.accounts.models import Organization, User
from mobilize.core.models import BigId, PublicIdMixin, TimestampMixin, UTCDateTime
from mobilize.extensions import db

EVENT_TYPES = ("rally", "meeting", "canvass", "phone_bank", "training", "webinar", "town_hall", "other")
VISIBILITIES = ("public", "unlisted", "private")
STATUSES = ("confirmed", "cancelled")
ACCESSIBILITY = ("accessible", "not_accessible", "unknown")
INVITATION_STATUSES = ("pending", "accepted", "declined")

# Accepted co-hosts only: every listing, feed and right reads this table. Naming a
# co-host makes a CohostInvitation; its organization's consent adds the row here.
event_cohosts = Table(
    "event_cohosts",
    db.metadata,
    Column("event_id", ForeignKey("events.id", ondelete="CASCADE"), primary_key=True),
    Column("organization_id", ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True, index=True),
)

event_tags = Table(
    "event_tags",
    db.metadata,
    Column("event_id", ForeignKey("events.id", ondelete="CASCADE"), primary_key=True),
    Column("tag_id", ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class Tag(TimestampMixin, db.Model):
    __tablename__ = "tags"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(60), unique=True, nullable=False)


class Event(PublicIdMixin, TimestampMixin, db.Model):
    __tablename__ = "events"
    __table_args__ = (
        CheckConstraint(f"event_type IN {EVENT_TYPES}", name="event_type"),
        CheckConstraint(f"visibility IN {VISIBILITIES}", name="visibility"),
        CheckConstraint(f"status IN {STATUSES}", name="status"),
        CheckConstraint(f"accessibility_status IN {ACCESSIBILITY}", name="accessibility_status"),
        CheckConstraint("address_visibility IN ('public', 'private')", name="address_visibility"),
        Index("ix_events_listing", "visibility", "status", "deleted_at"),
        Index("ix_events_location", "latitude", "longitude"),
        Index("ix_events_type", "event_type"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False, index=True
    )
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    title: Mapped[str] = mapped_column(String(200), nullable=False)
    summary: Mapped[str] = mapped_column(String(500), default="", nullable=False)
    description: Mapped[str] = mapped_column(Text, default="", nullable=False)  # Markdown source
    description_html: Mapped[str] = mapped_column(Text, default="", nullable=False)  # sanitized render
    featured_image_url: Mapped[str] = mapped_column(String(1000), default="", nullable=False)
    event_type: Mapped[str] = mapped_column(String(20), default="meeting", nullable=False)
    visibility: Mapped[str] = mapped_column(String(10), default="public", nullable=False)
    high_priority: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    status: Mapped[str] = mapped_column(String(10), default="confirmed", nullable=False)

    contact_name: Mapped[str] = mapped_column(String(200), default="", nullable=False)
    contact_email: Mapped[str] = mapped_column(String(320), default="", nullable=False)
    contact_phone: Mapped[str] = mapped_column(String(40), default="", nullable=False)
    contact_name_public: Mapped[bool] = mapped_column(Boolean, default=True, nullable=False)
    contact_email_public: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    contact_phone_public: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    accessibility_status: Mapped[str] = mapped_column(String(20), default="unknown", nullable=False)
    accessibility_notes: Mapped[str] = mapped_column(Text, default="", nullable=False)

    timezone: Mapped[str] = mapped_column(String(64), nullable=False)

    is_virtual: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    # The join link and instructions are shown to confirmed attendees only.
    virtual_action_url: Mapped[str] = mapped_column(String(1000), default="", nullable=False)
    virtual_instructions: Mapped[str] = mapped_column(Text, default="", nullable=False)
    venue: Mapped[str] = mapped_column(String(200), default="", nullable=False)
    address_line1: Mapped[str] = mapped_column(String(200), default="", nullable=False)
    address_line2: Mapped[str] = mapped_column(String(200), default="", nullable=False)
    locality: Mapped[str] = mapped_column(String(100), default="", nullable=False)
    region: Mapped[str] = mapped_column(String(100), default="", nullable=False)
    postal_code: Mapped[str] = mapped_column(String(20), default="", nullable=False)
    country: Mapped[str] = mapped_column(String(2), default="US", nullable=False)
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    address_visibility: Mapped[str] = mapped_column(String(10), default="public", nullable=False)

    # Raised on every significant change (time, place, cancellation): calendar SEQUENCE.
    sequence: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    significant_change_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Deleted events stay as rows so incremental sync (API, feeds) sees them go.
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    # RSVP settings.
    allow_waitlist: Mapped[bool] = mapped_column(Boolean, default=True, nullable=False)
    max_guests: Mapped[int] = mapped_column(Integer, default=4, nullable=False)

    organization: Mapped[Organization] = relationship(foreign_keys=[organization_id])
    cohosts: Mapped[list[Organization]] = relationship(secondary=event_cohosts)
    cohost_invitations: Mapped[list["CohostInvitation"]] = relationship(
        back_populates="event", order_by="CohostInvitation.id", cascade="all, delete-orphan", passive_deletes=True
    )
    tags: Mapped[list[Tag]] = relationship(secondary=event_tags, order_by=Tag.name)
    timeslots: Mapped[list["Timeslot"]] = relationship(
        back_populates="event", order_by="Timeslot.start_at", cascade="all, delete-orphan"
    )


class CohostInvitation(PublicIdMixin, TimestampMixin, db.Model):
    """An organization named as an event's co-host, and its answer.

    Withdrawing (the host drops the name) deletes the row, so naming it again
    asks again; a declined one stays while the name stays, so saves do not ask again.
    """

    __tablename__ = "cohost_invitations"
    __table_args__ = (
        UniqueConstraint("event_id", "organization_id"),
        CheckConstraint(f"status IN {INVITATION_STATUSES}", name="status"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), nullable=False)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False, index=True
    )
    invited_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(10), default="pending", nullable=False)
    responded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    responded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    event: Mapped[Event] = relationship(back_populates="cohost_invitations")
    organization: Mapped[Organization] = relationship()
    invited_by: Mapped[User | None] = relationship(foreign_keys=[invited_by_id])


class Timeslot(PublicIdMixin, TimestampMixin, db.Model):
    __tablename__ = "timeslots"
    __table_args__ = (
        CheckConstraint("end_at > start_at", name="ends_after_start"),
        CheckConstraint("capacity IS NULL OR capacity >= 0", name="capacity"),
        CheckConstraint("seats_taken >= 0", name="seats_taken"),
        Index("ix_timeslots_start_event", "start_at", "event_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), nullable=False, index=True)
    start_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    end_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    # The start's calendar day in the event's zone, so "events on Saturday" means the attendees' Saturday.
    local_date: Mapped[date | None] = mapped_column(Date)
    capacity: Mapped[int | None] = mapped_column(Integer)  # None: unlimited
    # Confirmed attendees plus their guests; kept by the RSVP service under a row lock.
    seats_taken: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    event: Mapped[Event] = relationship(back_populates="timeslots")

    @property
    def seats_left(self) -> int | None:
        return None if self.capacity is None else max(0, self.capacity - self.seats_taken)


def _set_local_date(slot: "Timeslot", tz_name: str) -> None:
    day = slot.start_at.astimezone(ZoneInfo(tz_name)).date()
    if slot.local_date != day:
        slot.local_date = day


@listens_for(Session, "before_flush")
def _keep_local_dates(session: Session, flush_context, instances) -> None:
    """Derive Timeslot.local_date on every ORM write, whoever writes the row."""
    for obj in [*session.new, *session.dirty]:
        if isinstance(obj, Timeslot):
            state = inspect_state(obj)
            if obj.event is not None and (obj.local_date is None or state.attrs.start_at.history.has_changes()):
                _set_local_date(obj, obj.event.timezone)
        elif isinstance(obj, Event) and inspect_state(obj).attrs.timezone.history.has_changes():
            for slot in obj.timeslots:
                _set_local_date(slot, obj.timezone)
