from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from mercato.db import Base, JSONType, UTCDateTime, new_id, utcnow

KINDS = ("meta", "google", "tiktok", "pinterest", "snapchat")
STATUSES = ("active", "needs_reauth", "paused")
VERDICTS = ("pending", "approved", "rejected", "warning", "deleted")


class Channel(Base):
    """A connection to one catalog on one platform, for one country, language and currency."""

    __tablename__ = "channels"
    __table_args__ = (
        CheckConstraint(f"kind IN {KINDS}", name="kind"),
        CheckConstraint(f"status IN {STATUSES}", name="status"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("chn"))
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(100), unique=True)
    country: Mapped[str] = mapped_column(String(2))
    language: Mapped[str] = mapped_column(String(8))
    currency: Mapped[str] = mapped_column(String(3))
    # Where the platform's API lives: the real one, or a local simulator.
    base_url: Mapped[str] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(16), default="active")
    # Fernet token of the JSON credentials; never returned by the API.
    credentials_encrypted: Mapped[str] = mapped_column(Text, default="")
    # Non-secret, platform-specific settings (catalog id, data source, default category...).
    settings: Mapped[dict[str, Any]] = mapped_column(JSONType(), default=dict)
    # The merchant's feed rules, in order (channels.feed_rules), and how many times the
    # list was saved: what the channel's items become before its platform's mapping.
    feed_rules: Mapped[list[dict[str, Any]]] = mapped_column(
        JSONType(), default=list, server_default="[]"
    )
    feed_rules_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # SHA-256 of the secret feed token; the token itself is shown once.
    feed_token_hash: Mapped[str | None] = mapped_column(String(64))
    last_synced_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Runs in a row that failed (0 once one succeeds), the platform's last message and when.
    failures: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Removed by the merchant: never synced again; its orders and listings stay as history.
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # What the items were shaped for (a hash of the channel's country, language, currency,
    # settings, platform address and the shop's address) when a publish last compared the
    # whole catalog and finished. While it matches, a publish sends only the change log;
    # a new channel, or one whose set-up changed, compares everything first.
    compared_for: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Listing(Base):
    """One variant on one channel: its permanent platform item id, what was last pushed and
    what the platform says about it.

    Rows are never deleted while the channel exists: ``item_id`` is the permanent id map
    (variant -> platform item), so a variant removed and re-added, or a SKU edited, keeps
    the same item on the platform. ``variant_id`` has no foreign key on purpose: the row
    must outlive a deleted variant so the item can be deleted on the platform.
    """

    __tablename__ = "channel_listings"
    __table_args__ = (
        CheckConstraint(f"verdict IN {VERDICTS}", name="verdict"),
        UniqueConstraint("channel_id", "variant_id"),
        UniqueConstraint("channel_id", "item_id", name="uq_channel_listings_item"),
        Index("ix_channel_listings_channel_verdict", "channel_id", "verdict"),
        # Listings of changed products: variants removed from a product that changed.
        Index("ix_channel_listings_channel_product", "channel_id", "product_id"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("lst"))
    channel_id: Mapped[str] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"))
    variant_id: Mapped[str] = mapped_column(String(40))
    product_id: Mapped[str] = mapped_column(String(40))
    item_id: Mapped[str] = mapped_column(String(100))
    # The platform's own id where it assigns one (TikTok: "<product id>:<SKU id>").
    platform_ref: Mapped[str | None] = mapped_column(String(100))
    # Hash of the content that should be on the platform / that was last accepted there.
    content_hash: Mapped[str | None] = mapped_column(String(64))
    pushed_hash: Mapped[str | None] = mapped_column(String(64))
    # Last pushed availability ("in_stock:7"): a change here jumps the push queue.
    pushed_availability: Mapped[str | None] = mapped_column(String(40))
    # The summary the platform should hold, compared with what it does hold (drift).
    pushed_summary: Mapped[dict[str, Any] | None] = mapped_column(JSONType())
    # Handle of the batch that last carried this item, polled for its verdict.
    batch_ref: Mapped[str | None] = mapped_column(String(200))
    verdict: Mapped[str] = mapped_column(String(16), default="pending")
    # [{field, message, severity: error|warning, source: local|platform}]
    issues: Mapped[list[dict[str, Any]]] = mapped_column(JSONType(), default=list)
    pushed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Change(Base):
    """A variant that changed (catalog or stock) since the channel's publish last took it:
    the change log a publish reads instead of the whole catalog.

    Written when the change's event is handed to the channels (``events.dispatch``, in the
    same transaction as the hand-over, so none is lost, whatever order transactions commit
    in) and by a read-back whose platform asks for an item again. One row per variant: a
    second change before the publish only renews ``stamp``. A publish deletes the rows it
    read once what they planned is sent, and only those still holding the stamp it read: a
    change written meanwhile stays for the next publish.
    """

    __tablename__ = "channel_changes"

    channel_id: Mapped[str] = mapped_column(
        ForeignKey("channels.id", ondelete="CASCADE"), primary_key=True
    )
    variant_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    # Its product, where the change was to the product: variants removed from it are found
    # through the listings of the product.
    product_id: Mapped[str | None] = mapped_column(String(40))
    # A fresh random number on every write (see above).
    stamp: Mapped[int] = mapped_column(BigInteger)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ImageUpload(Base):
    """An image uploaded to a platform that hosts its own copies (TikTok Shop): the URI it
    gave back, found by the source URL, and by the image's content hash so that the same
    bytes under another URL are not uploaded twice."""

    __tablename__ = "channel_image_uploads"
    __table_args__ = (
        UniqueConstraint("channel_id", "source_url_hash", name="uq_channel_image_uploads_source"),
        Index("ix_channel_image_uploads_content", "channel_id", "content_hash"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("img"))
    channel_id: Mapped[str] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"))
    # SHA-256 of the URL (URLs can be longer than an index allows) and of the bytes.
    source_url_hash: Mapped[str] = mapped_column(String(64))
    content_hash: Mapped[str] = mapped_column(String(64))
    source_url: Mapped[str] = mapped_column(Text)
    uri: Mapped[str] = mapped_column(String(500))
    url: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class HealthDay(Base):
    """How a channel's items stood on one day (the store's zone): its listings' verdicts,
    counted by ``channels.health`` (hourly, the day's last count standing)."""

    __tablename__ = "channel_health_days"

    channel_id: Mapped[str] = mapped_column(
        ForeignKey("channels.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    approved: Mapped[int] = mapped_column(Integer, default=0)
    warning: Mapped[int] = mapped_column(Integer, default=0)
    pending: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    counted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Exclusion(Base):
    """A variant the merchant keeps off one channel (the catalog's bulk edit, the API):
    its items are not sent, and one already there is deleted by the next publish."""

    __tablename__ = "channel_exclusions"
    __table_args__ = (Index("ix_channel_exclusions_product", "channel_id", "product_id"),)

    channel_id: Mapped[str] = mapped_column(
        ForeignKey("channels.id", ondelete="CASCADE"), primary_key=True
    )
    variant_id: Mapped[str] = mapped_column(
        ForeignKey("variants.id", ondelete="CASCADE"), primary_key=True
    )
    product_id: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
