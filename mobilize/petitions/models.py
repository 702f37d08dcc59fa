"""Petitions, their targets, signatures, and the tables that count them.

The count shown anywhere is ``PetitionCount.signatures``: a row per petition
that only the counting worker writes (see counting.py). Signing never touches
the petition's row, so a surge never queues on one hot row.
"""

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    and_,
    text,
)
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mobilize.accounts.models import Organization
from mobilize.core.models import BigId, PublicIdMixin, TimestampMixin, UTCDateTime, utcnow
from mobilize.extensions import db
from mobilize.people.models import Person

STATUSES = ("draft", "open", "closed", "won", "delivered")
SOURCES = ("web", "embed", "api")
COMMENT_MAX = 500


def taking_signatures(status: str, closes_at: datetime | None) -> bool:
    """Open, and its closing date (if any) not yet passed."""
    return status == "open" and (closes_at is None or closes_at > utcnow())


class Petition(PublicIdMixin, TimestampMixin, db.Model):
    __tablename__ = "petitions"
    __table_args__ = (
        CheckConstraint(f"status IN {STATUSES}", name="status"),
        CheckConstraint("goal > 0", name="goal"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False, index=True
    )
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    slug: Mapped[str] = mapped_column(String(80), unique=True, nullable=False)
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    summary: Mapped[str] = mapped_column(String(500), default="", nullable=False)  # the ask
    body: Mapped[str] = mapped_column(Text, default="", nullable=False)  # Markdown source
    body_html: Mapped[str] = mapped_column(Text, default="", nullable=False)  # sanitized render
    image_url: Mapped[str] = mapped_column(String(1000), default="", nullable=False)
    goal: Mapped[int] = mapped_column(Integer, default=100, nullable=False)
    status: Mapped[str] = mapped_column(String(10), default="draft", nullable=False)
    closes_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    organization: Mapped[Organization] = relationship(lazy="joined", innerjoin=True)
    targets: Mapped[list["Target"]] = relationship(
        back_populates="petition", order_by="Target.position, Target.id", cascade="all, delete-orphan"
    )
    count: Mapped["PetitionCount"] = relationship(cascade="all, delete-orphan", lazy="joined", innerjoin=True)

    @property
    def signature_count(self) -> int:
        return self.count.signatures

    @property
    def is_open(self) -> bool:
        """Taking signatures now: open, and its closing date (if any) not yet passed."""
        return taking_signatures(self.status, self.closes_at)

    @property
    def progress_percent(self) -> int:
        return min(100, round(100 * self.signature_count / self.goal))


class Target(PublicIdMixin, TimestampMixin, db.Model):
    """A decision maker the petition is addressed to; email and phone are for delivery only."""

    __tablename__ = "petition_targets"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    petition_id: Mapped[int] = mapped_column(ForeignKey("petitions.id", ondelete="CASCADE"), nullable=False, index=True)
    position: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    title: Mapped[str] = mapped_column(String(200), default="", nullable=False)
    organization: Mapped[str] = mapped_column(String(200), default="", nullable=False)
    email: Mapped[str] = mapped_column(String(320), default="", nullable=False)
    phone: Mapped[str] = mapped_column(String(40), default="", nullable=False)

    petition: Mapped[Petition] = relationship(back_populates="targets")

    @property
    def label(self) -> str:
        """"Jane Doe, CEO, Acme Co": how the target is named in public and in OSDI."""
        return ", ".join(part for part in (self.name, self.title, self.organization) if part)


class Invalidation(TimestampMixin, db.Model):
    """An organizer's decision to stop counting some signatures, with the reason and the criteria used."""

    __tablename__ = "signature_invalidations"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    petition_id: Mapped[int] = mapped_column(ForeignKey("petitions.id", ondelete="CASCADE"), nullable=False, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    reason: Mapped[str] = mapped_column(String(500), nullable=False)
    criteria: Mapped[dict] = mapped_column(JSON, default=dict, nullable=False)
    signatures: Mapped[int] = mapped_column(Integer, default=0, nullable=False)


class Signature(PublicIdMixin, TimestampMixin, db.Model):
    """One person's signature on one petition; it counts once confirmed and while not invalidated.

    Name, postal code and country are kept as signed, whatever the person's
    record says later: the signature is a record of what was put to the target.
    """

    __tablename__ = "signatures"
    __table_args__ = (
        UniqueConstraint("petition_id", "person_id"),
        CheckConstraint(f"source IN {SOURCES}", name="source"),
        Index("ix_signatures_petition_confirmed", "petition_id", "confirmed_at", "id"),
        Index("ix_signatures_person", "person_id"),
        Index("ix_signatures_unconfirmed", "confirmation_sent_at",
              postgresql_where=text("confirmed_at IS NULL"), sqlite_where=text("confirmed_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    petition_id: Mapped[int] = mapped_column(ForeignKey("petitions.id", ondelete="CASCADE"), nullable=False)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), nullable=False)
    given_name: Mapped[str] = mapped_column(String(100), nullable=False)
    family_name: Mapped[str] = mapped_column(String(100), default="", nullable=False)
    postal_code: Mapped[str] = mapped_column(String(20), default="", nullable=False)
    locality: Mapped[str] = mapped_column(String(100), default="", nullable=False)
    country: Mapped[str] = mapped_column(String(2), default="", nullable=False)
    comment: Mapped[str] = mapped_column(String(COMMENT_MAX), default="", nullable=False)
    comment_hidden_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    public: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)  # name and comment shown
    opt_in_wording: Mapped[str | None] = mapped_column(String(500))  # None: did not opt in
    source: Mapped[str] = mapped_column(String(10), default="web", nullable=False)
    ip_address: Mapped[str | None] = mapped_column(String(45))

    confirmation_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    confirmations_sent: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    confirmed_via: Mapped[str | None] = mapped_column(String(16))  # "email" or "organization"
    invalidated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    invalidation_id: Mapped[int | None] = mapped_column(ForeignKey("signature_invalidations.id", ondelete="SET NULL"))

    petition: Mapped[Petition] = relationship()
    person: Mapped[Person] = relationship()
    invalidation: Mapped[Invalidation | None] = relationship()

    @hybrid_property
    def counted(self) -> bool:
        """The one definition of a signature that counts (and is delivered): confirmed, not invalidated."""
        return self.confirmed_at is not None and self.invalidated_at is None

    @counted.inplace.expression
    @classmethod
    def _counted_expression(cls):
        return and_(cls.confirmed_at.is_not(None), cls.invalidated_at.is_(None))

    @property
    def status(self) -> str:
        if self.invalidated_at is not None:
            return "invalidated"
        return "confirmed" if self.confirmed_at is not None else "pending"

    @property
    def public_name(self) -> str:
        """First name and last initial: all a public list may show."""
        initial = f" {self.family_name[:1]}." if self.family_name else ""
        return f"{self.given_name}{initial}".strip()

    @property
    def public_comment(self) -> str:
        return "" if self.comment_hidden_at else self.comment


class PetitionCount(db.Model):
    """The shown count: written only by the counting worker, read with one primary-key lookup."""

    __tablename__ = "petition_counts"

    petition_id: Mapped[int] = mapped_column(ForeignKey("petitions.id", ondelete="CASCADE"), primary_key=True)
    signatures: Mapped[int] = mapped_column(BigInteger, default=0, nullable=False)


class CountDelta(db.Model):
    """A pending change to a petition's count (+1 per confirmation, -n per invalidation).

    Appending a row never waits on another signer; the worker folds the rows
    into ``petition_counts`` in one statement and deletes them.
    """

    __tablename__ = "petition_count_deltas"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    petition_id: Mapped[int] = mapped_column(ForeignKey("petitions.id", ondelete="CASCADE"), nullable=False)
    delta: Mapped[int] = mapped_column(Integer, nullable=False)


class Milestone(db.Model):
    """A goal a petition reached; ``notified_at`` is left for the mail that tells its organizers."""

    __tablename__ = "petition_milestones"
    __table_args__ = (UniqueConstraint("petition_id", "signatures"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    petition_id: Mapped[int] = mapped_column(ForeignKey("petitions.id", ondelete="CASCADE"), nullable=False)
    signatures: Mapped[int] = mapped_column(Integer, nullable=False)
    reached_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class PetitionUpdate(PublicIdMixin, TimestampMixin, db.Model):
    """News posted on the petition page by its organizers."""

    __tablename__ = "petition_updates"
    __table_args__ = (Index("ix_petition_updates_petition_created", "petition_id", "created_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    petition_id: Mapped[int] = mapped_column(ForeignKey("petitions.id", ondelete="CASCADE"), nullable=False)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    body: Mapped[str] = mapped_column(Text, default="", nullable=False)
    body_html: Mapped[str] = mapped_column(Text, default="", nullable=False)


class UpdateMailing(db.Model):
    """How far the mail of a petition update to its opted-in signers got: a cursor over signature ids."""

    __tablename__ = "petition_update_mailings"

    update_id: Mapped[int] = mapped_column(ForeignKey("petition_updates.id", ondelete="CASCADE"), primary_key=True)
    last_signature_id: Mapped[int] = mapped_column(BigId, default=0, nullable=False)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
