"""The secrets in calendar feed URLs: organizers' feeds of their organization's events, supporters' of their own."""

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from mobilize.core.models import BigId, TimestampMixin, UTCDateTime, utcnow
from mobilize.extensions import db


class OrganizerFeed(TimestampMixin, db.Model):
    """One organizer's feed of one organization's events, unlisted and private ones included.

    The URL holds an HMAC of ``secret`` under the app's SECRET_KEY, so a copy
    of the database alone cannot rebuild it; a new secret revokes the old URL.
    """

    __tablename__ = "organizer_feeds"
    __table_args__ = (UniqueConstraint("user_id", "organization_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False, index=True
    )
    secret: Mapped[str] = mapped_column(String(64), nullable=False)


class PersonalFeed(db.Model):
    """The secret in a supporter's personal calendar feed URL; replaced to revoke it."""

    __tablename__ = "personal_feeds"

    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), primary_key=True)
    token: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
