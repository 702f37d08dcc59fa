"""Delivering a petition's signatures to its targets: the plan, a cursor per recipient, batches, and a ledger.

Each recipient (a target by email, or the plan's webhook) has a cursor: the
highest signature id handed to a batch. A batch is cut under a lock on its
cursor, in the transaction that moves the cursor, so ranges never overlap;
``delivery_items`` holds one row per (recipient, signature) under a primary
key, so whatever happens no signature is put in two batches for one recipient.
"""

from datetime import datetime, time

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    Time,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mobilize.core.models import BigId, PublicIdMixin, TimestampMixin, UTCDateTime
from mobilize.extensions import db
from mobilize.petitions.models import Petition, Target

KINDS = ("email", "webhook")
STATUSES = ("pending", "sending", "delivered", "failed")


class DeliveryPlan(TimestampMixin, db.Model):
    """How and when a petition's signatures reach its targets; one per petition."""

    __tablename__ = "delivery_plans"
    __table_args__ = (CheckConstraint("every_n IS NULL OR every_n > 0", name="every_n"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    petition_id: Mapped[int] = mapped_column(
        ForeignKey("petitions.id", ondelete="CASCADE"), unique=True, nullable=False
    )
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    email_targets: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    include_emails: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    webhook_url: Mapped[str] = mapped_column(String(1000), default="", nullable=False)
    webhook_secret: Mapped[str] = mapped_column(String(100), default="", nullable=False)
    # Cadence: any of the three; each makes every recipient's waiting signatures due.
    every_n: Mapped[int | None] = mapped_column(Integer)
    daily_at: Mapped[time | None] = mapped_column(Time)  # wall-clock time in ``timezone``
    timezone: Mapped[str] = mapped_column(String(64), default="UTC", nullable=False)
    next_daily_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    final_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    final_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    petition: Mapped[Petition] = relationship()

    @property
    def has_channel(self) -> bool:
        return self.email_targets or bool(self.webhook_url)


class DeliveryCursor(TimestampMixin, db.Model):
    """One recipient of a plan: ``key`` is "webhook" or "target:<id>"."""

    __tablename__ = "delivery_cursors"
    __table_args__ = (
        UniqueConstraint("plan_id", "key"),
        CheckConstraint(f"kind IN {KINDS}", name="kind"),
        CheckConstraint("(kind = 'email') = (target_id IS NOT NULL)", name="email_has_target"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("delivery_plans.id", ondelete="CASCADE"), nullable=False)
    petition_id: Mapped[int] = mapped_column(ForeignKey("petitions.id", ondelete="CASCADE"), nullable=False)
    key: Mapped[str] = mapped_column(String(40), nullable=False)
    kind: Mapped[str] = mapped_column(String(10), nullable=False)
    target_id: Mapped[int | None] = mapped_column(ForeignKey("petition_targets.id", ondelete="CASCADE"))
    last_signature_id: Mapped[int] = mapped_column(BigInteger, default=0, nullable=False)
    batches: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    # Set when a cadence fires: batches are cut until everything waiting is in one.
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    # Signatures behind the cursor that were confirmed after it passed them are looked for from here.
    late_since: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)

    plan: Mapped[DeliveryPlan] = relationship()
    target: Mapped[Target | None] = relationship()


class DeliveryBatch(PublicIdMixin, TimestampMixin, db.Model):
    """Some signatures for one recipient, sent (and re-sent after a failure) under one idempotency key."""

    __tablename__ = "delivery_batches"
    __table_args__ = (
        UniqueConstraint("cursor_id", "sequence"),
        CheckConstraint(f"status IN {STATUSES}", name="status"),
        CheckConstraint(f"kind IN {KINDS}", name="kind"),
        Index("ix_delivery_batches_petition_id", "petition_id", "id"),
        Index("ix_delivery_batches_status_next", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    petition_id: Mapped[int] = mapped_column(ForeignKey("petitions.id", ondelete="CASCADE"), nullable=False)
    cursor_id: Mapped[int] = mapped_column(ForeignKey("delivery_cursors.id", ondelete="CASCADE"), nullable=False)
    kind: Mapped[str] = mapped_column(String(10), nullable=False)
    target_id: Mapped[int | None] = mapped_column(ForeignKey("petition_targets.id", ondelete="CASCADE"))
    sequence: Mapped[int] = mapped_column(Integer, nullable=False)  # 1, 2, ... per recipient
    from_signature_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    to_signature_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    count: Mapped[int] = mapped_column(Integer, nullable=False)
    status: Mapped[str] = mapped_column(String(10), default="pending", nullable=False)
    attempts: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    last_error: Mapped[str | None] = mapped_column(Text)
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    manual_retries: Mapped[int] = mapped_column(Integer, default=0, nullable=False)

    petition: Mapped[Petition] = relationship()
    cursor: Mapped[DeliveryCursor] = relationship()
    target: Mapped[Target | None] = relationship()


class DeliveryItem(db.Model):
    """A signature put in a batch for a recipient: the record of what each target was sent."""

    __tablename__ = "delivery_items"
    __table_args__ = (Index("ix_delivery_items_batch", "batch_id", "signature_id"),)

    cursor_id: Mapped[int] = mapped_column(
        ForeignKey("delivery_cursors.id", ondelete="CASCADE"), primary_key=True
    )
    signature_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("signatures.id", ondelete="CASCADE"), primary_key=True
    )
    batch_id: Mapped[int] = mapped_column(ForeignKey("delivery_batches.id", ondelete="CASCADE"), nullable=False)
