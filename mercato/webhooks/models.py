from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from mercato.db import Base, JSONType, UTCDateTime, new_id, utcnow

DELIVERY_STATES = ("pending", "succeeded", "failed")


class WebhookEndpoint(Base):
    """A merchant's URL subscribed to event types, with its signing secret(s).

    Secrets are Fernet-encrypted with the configured key. During a rotation the previous
    secret keeps signing (beside the new one) until ``previous_secret_expires_at``.
    """

    __tablename__ = "webhook_endpoints"

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("whep"))
    url: Mapped[str] = mapped_column(String(2048))
    description: Mapped[str] = mapped_column(String(500), default="")
    # Patterns: exact types ("order.created"), "order.*", or "*" for everything.
    event_types: Mapped[list[str]] = mapped_column(JSONType(), default=lambda: ["*"])
    secret_encrypted: Mapped[str] = mapped_column(Text)
    previous_secret_encrypted: Mapped[str | None] = mapped_column(Text)
    previous_secret_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    disabled_reason: Mapped[str | None] = mapped_column(String(500))
    # Start of the current run of failed attempts; cleared by any success.
    failing_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class WebhookDelivery(Base):
    """One event to one endpoint. ``pending`` until it succeeds or its schedule runs out.

    Deliveries of one endpoint that share an event key go out one at a time in event
    order: a pending delivery waits while an earlier one for the same key is pending.
    """

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        CheckConstraint(f"state IN {DELIVERY_STATES}", name="state"),
        Index("ix_webhook_deliveries_due", "state", "next_attempt_at", "event_seq"),
        Index("ix_webhook_deliveries_order", "endpoint_id", "event_key", "state", "event_seq"),
        Index("ix_webhook_deliveries_endpoint_created", "endpoint_id", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("dlv"))
    endpoint_id: Mapped[str] = mapped_column(ForeignKey("webhook_endpoints.id", ondelete="CASCADE"))
    event_id: Mapped[str] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    # Copied from the event so that ordering needs no join.
    event_seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    event_key: Mapped[str] = mapped_column(String(100))
    event_type: Mapped[str] = mapped_column(String(100))
    state: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    locked_by: Mapped[str | None] = mapped_column(String(100))
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_status: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class WebhookAttempt(Base):
    """One HTTP request of a delivery and what came back."""

    __tablename__ = "webhook_attempts"
    __table_args__ = (
        Index("ix_webhook_attempts_delivery", "delivery_id", "attempted_at"),
        Index("ix_webhook_attempts_endpoint", "endpoint_id", "attempted_at"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("wha"))
    delivery_id: Mapped[str] = mapped_column(
        ForeignKey("webhook_deliveries.id", ondelete="CASCADE")
    )
    endpoint_id: Mapped[str] = mapped_column(String(40))
    event_id: Mapped[str] = mapped_column(String(40))
    attempted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    duration_ms: Mapped[int] = mapped_column(Integer)
    status_code: Mapped[int | None] = mapped_column(Integer)
    # "timeout", "connect", ... when no HTTP answer came back.
    error: Mapped[str | None] = mapped_column(String(500))
    response_body: Mapped[str | None] = mapped_column(Text)
    succeeded: Mapped[bool] = mapped_column(Boolean)
