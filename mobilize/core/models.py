"""What every table shares: UTC timestamps and public ids."""

import uuid as uuid_module
from datetime import UTC, datetime

from sqlalchemy import JSON, BigInteger, DateTime, Index, Integer, String, Text, TypeDecorator, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from mobilize.extensions import db

# Integer primary keys that outgrow 2**31 on PostgreSQL; SQLite autoincrements INTEGER only.
BigId = BigInteger().with_variant(Integer, "sqlite")


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """An aware UTC datetime on every backend (SQLite drops the offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    modified_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=utcnow, onupdate=utcnow, nullable=False, index=True
    )


class PublicIdMixin:
    """A uuid for URLs and the API, so integer ids are never enumerable."""

    uuid: Mapped[uuid_module.UUID] = mapped_column(Uuid, default=uuid_module.uuid4, unique=True, nullable=False)

    @property
    def identifier(self) -> str:
        return f"mobilize:{self.uuid}"


class OutboundMail(TimestampMixin, db.Model):
    """A message in the outbox: written with the change that caused it.

    The row is the source of truth, so a broker or worker that is down delays
    mail but loses none; ``dedupe_key`` makes "send this once" a unique index.
    """

    __tablename__ = "outbound_mail"
    __table_args__ = (Index("ix_outbound_mail_status_modified", "status", "modified_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    to: Mapped[str] = mapped_column(String(320), nullable=False)
    subject: Mapped[str] = mapped_column(String(300), nullable=False)
    text_body: Mapped[str] = mapped_column(Text, nullable=False)
    html_body: Mapped[str | None] = mapped_column(Text)
    headers: Mapped[dict] = mapped_column(JSON, default=dict, nullable=False)
    attachments: Mapped[list] = mapped_column(JSON, default=list, nullable=False)
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="queued", nullable=False)
    attempts: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    last_error: Mapped[str | None] = mapped_column(Text)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Mail composed by the worker when it is sent: the template and the JSON arguments of its context
    # builder (see core.mail.queue_composed_later); subject and bodies are written once it is composed.
    template: Mapped[str | None] = mapped_column(String(64))
    context: Mapped[dict | None] = mapped_column(JSON)
    # Mail sent because of an opt-in is skipped, not sent, once the person unsubscribes.
    subscription_id: Mapped[int | None] = mapped_column(
        BigId, db.ForeignKey("subscriptions.id", ondelete="CASCADE"), index=True
    )
