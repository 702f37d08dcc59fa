"""Announcements: an organizer's email to the organization's opted-in supporters.

A send walks ``cursor`` (the last person id written to the outbox) forward in
batches; every change of ``status`` is a conditional UPDATE, so an edit, a
cancel and the sweeper's claim can race and exactly one of them wins.
"""

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mobilize.accounts.models import Organization
from mobilize.core.models import BigId, PublicIdMixin, TimestampMixin, UTCDateTime
from mobilize.events.models import Event
from mobilize.extensions import db
from mobilize.petitions.models import Petition

STATUSES = ("draft", "scheduled", "sending", "sent", "cancelled")
EDITABLE = ("draft", "scheduled")


class Announcement(PublicIdMixin, TimestampMixin, db.Model):
    __tablename__ = "announcements"
    __table_args__ = (
        CheckConstraint(f"status IN {STATUSES}", name="status"),
        CheckConstraint("event_id IS NULL OR petition_id IS NULL", name="about_one"),
        CheckConstraint("radius_miles IS NULL OR radius_miles > 0", name="radius"),
        CheckConstraint("status = 'draft' OR status = 'cancelled' OR send_at IS NOT NULL", name="send_at"),
        Index("ix_announcements_status_send_at", "status", "send_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False, index=True
    )
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    subject: Mapped[str] = mapped_column(String(200), nullable=False)
    body: Mapped[str] = mapped_column(Text, nullable=False)  # Markdown source
    body_html: Mapped[str] = mapped_column(Text, nullable=False)  # sanitized render

    # What it is about (at most one), linked from the mail.
    event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id", ondelete="SET NULL"))
    petition_id: Mapped[int | None] = mapped_column(ForeignKey("petitions.id", ondelete="SET NULL"))

    # Who gets it: the organization's opted-in supporters, narrowed by each filter that is set.
    # (Deleting a filter's event or petition deletes the announcement rather than widen its audience.)
    near_postal_code: Mapped[str] = mapped_column(String(10), default="", nullable=False)
    radius_miles: Mapped[int | None] = mapped_column(Integer)
    attended_event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    signed_petition_id: Mapped[int | None] = mapped_column(ForeignKey("petitions.id", ondelete="CASCADE"))

    # The organizer's zone, for showing and editing ``send_at`` as they entered it.
    timezone: Mapped[str] = mapped_column(String(64), nullable=False)
    send_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(10), default="draft", nullable=False)
    cursor: Mapped[int] = mapped_column(BigInteger, default=0, nullable=False)
    recipients: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    # When the next batch is due, set by the claim and by each batch: a 'sending' row
    # that is past it by ANNOUNCEMENT_STALE_AFTER lost its batch task, and is resumed.
    next_batch_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    organization: Mapped[Organization] = relationship()
    event: Mapped[Event | None] = relationship(foreign_keys=[event_id])
    petition: Mapped[Petition | None] = relationship(foreign_keys=[petition_id])
    attended_event: Mapped[Event | None] = relationship(foreign_keys=[attended_event_id])
    signed_petition: Mapped[Petition | None] = relationship(foreign_keys=[signed_petition_id])

    @property
    def editable(self) -> bool:
        return self.status in EDITABLE
