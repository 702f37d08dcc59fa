"""Supporters (OSDI people): one record per normalized email across the service."""

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mobilize.core.models import BigId, PublicIdMixin, TimestampMixin, UTCDateTime
from mobilize.extensions import db


class Person(PublicIdMixin, TimestampMixin, db.Model):
    __tablename__ = "people"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    email: Mapped[str] = mapped_column(String(320), nullable=False)
    email_normalized: Mapped[str] = mapped_column(String(320), unique=True, nullable=False)
    given_name: Mapped[str] = mapped_column(String(100), default="", nullable=False)
    family_name: Mapped[str] = mapped_column(String(100), default="", nullable=False)
    phone: Mapped[str] = mapped_column(String(40), default="", nullable=False)
    postal_code: Mapped[str] = mapped_column(String(20), default="", nullable=False)
    locality: Mapped[str] = mapped_column(String(100), default="", nullable=False)
    country: Mapped[str] = mapped_column(String(2), default="", nullable=False)

    subscriptions: Mapped[list["Subscription"]] = relationship(back_populates="person")

    @property
    def public_name(self) -> str:
        """First name and last initial: all a public list may show."""
        initial = f" {self.family_name[:1]}." if self.family_name else ""
        return f"{self.given_name}{initial}".strip()


class Subscription(TimestampMixin, db.Model):
    """A person's explicit opt-in to hear from an organization, with its wording."""

    __tablename__ = "subscriptions"
    __table_args__ = (UniqueConstraint("person_id", "organization_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), nullable=False)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False, index=True
    )
    opted_in_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    wording: Mapped[str] = mapped_column(Text, nullable=False)
    source: Mapped[str] = mapped_column(String(200), default="", nullable=False)
    unsubscribed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    person: Mapped[Person] = relationship(back_populates="subscriptions")
    organization: Mapped["Organization"] = relationship()  # noqa: F821 - accounts' model, by name
