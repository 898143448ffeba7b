"""Where purchases are sent back to ad platforms, and the log of every send."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from mercato.db import Base, JSONType, UTCDateTime, new_id, utcnow

PLATFORMS = ("meta", "tiktok", "pinterest")
# queued: recorded, waiting for (another) attempt; sent: the platform took it; failed:
# refused (4xx, never retried), or still unreachable after the last attempt.
DELIVERY_STATUSES = ("queued", "sent", "failed")


class ConversionDestination(Base):
    """One pixel, dataset or ad account that purchases are sent to."""

    __tablename__ = "conversion_destinations"
    __table_args__ = (
        CheckConstraint(f"platform IN {PLATFORMS}", name="platform"),
        UniqueConstraint("platform", "source_id"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("cdst"))
    platform: Mapped[str] = mapped_column(String(16))
    # Meta pixel (dataset) id, TikTok pixel code, Pinterest ad account id.
    source_id: Mapped[str] = mapped_column(String(64))
    base_url: Mapped[str] = mapped_column(String(2048))
    access_token_encrypted: Mapped[str] = mapped_column(Text)
    # Meta's and TikTok's test_event_code; for Pinterest any value means ``?test=true``.
    test_code: Mapped[str | None] = mapped_column(String(64))
    # The merchant's word that buyers agreed to ad measurement before checkout (their
    # site's consent banner): without it, no purchase is sent (docs/platforms/conversions.md).
    consent_implied: Mapped[bool] = mapped_column(Boolean, default=False)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ConversionDelivery(Base):
    """One event for one destination, recorded before it is sent: unique, so that a
    purchase seen twice is sent once."""

    __tablename__ = "conversion_deliveries"
    __table_args__ = (
        CheckConstraint(f"status IN {DELIVERY_STATUSES}", name="status"),
        UniqueConstraint("destination_id", "event_name", "event_id"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("cdlv"))
    destination_id: Mapped[str] = mapped_column(
        ForeignKey("conversion_destinations.id", ondelete="CASCADE"), index=True
    )
    event_name: Mapped[str] = mapped_column(String(40))
    # The id the browser pixel sends too (the order number's), for the platform's dedup.
    event_id: Mapped[str] = mapped_column(String(64))
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # The platform's answer: events received, or its error kept whole.
    answer: Mapped[dict[str, Any] | None] = mapped_column(JSONType())
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
