"""What the sweepers need beyond the outbox: pending change notices (reminder offsets are the event's).

Exactly-once itself is the outbox's unique ``dedupe_key`` (see core.mail.queue_mail).
"""

from datetime import datetime

from sqlalchemy import ForeignKey, Index, text
from sqlalchemy.orm import Mapped, mapped_column

from mobilize.core.models import BigId, UTCDateTime, utcnow
from mobilize.extensions import db


class EventNotice(db.Model):
    """A change or cancellation to tell attendees about once ``due_at`` comes; edits until then share it."""

    __tablename__ = "event_notices"
    __table_args__ = (
        # At most one pending notice per event: later edits within the window join it.
        Index("ux_event_notices_pending", "event_id", unique=True,
              postgresql_where=text("sent_at IS NULL"), sqlite_where=text("sent_at IS NULL")),
        Index("ix_event_notices_due", "due_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
