"""Trained versions, their precomputed lists, and the merchant's rules over them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from mercato.db import Base, JSONType, UTCDateTime, new_id, utcnow

# fbt: often bought with a product; similar: like a product; popular: most bought per
# channel (subject "channel:<name>", or "" for all); personal: for one profile.
LISTS = ("fbt", "similar", "popular", "personal")
VERSION_STATUSES = ("training", "ready", "failed")
RULE_ACTIONS = ("exclude", "boost", "pin")


class Version(Base):
    """One training run: what it read, how each model scored on held-out orders, and
    whether its lists are ready to serve (the newest ready one is served)."""

    __tablename__ = "recommendation_versions"
    __table_args__ = (CheckConstraint(f"status IN {VERSION_STATUSES}", name="status"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("rcv"))
    status: Mapped[str] = mapped_column(String(16), default="training")
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    orders_read: Mapped[int] = mapped_column(Integer, default=0)
    buyers_read: Mapped[int] = mapped_column(Integer, default=0)
    # The thresholds and weights it was trained with.
    params: Mapped[dict[str, Any]] = mapped_column(JSONType(), default=dict)
    # model -> precision_at_10, recall_at_10, ndcg_at_10, coverage, buyers.
    evaluation: Mapped[dict[str, Any]] = mapped_column(JSONType(), default=dict)
    error: Mapped[str | None] = mapped_column(Text)


class Recommendation(Base):
    """One entry of a precomputed list: for ``subject`` (a product id, a profile id or a
    channel key), the product at ``rank``, with why."""

    __tablename__ = "recommendations"
    __table_args__ = (
        CheckConstraint(f"list IN {LISTS}", name="list"),
        Index("ix_recommendations_lookup", "version_id", "list", "subject", "rank"),
    )

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    version_id: Mapped[str] = mapped_column(
        ForeignKey("recommendation_versions.id", ondelete="CASCADE")
    )
    list: Mapped[str] = mapped_column(String(16))
    subject: Mapped[str] = mapped_column(String(64))
    rank: Mapped[int] = mapped_column(Integer)
    product_id: Mapped[str] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    score: Mapped[float] = mapped_column(Float)
    # Short and shown to the merchant: "bought together 12 times, lift 3.1".
    reason: Mapped[str] = mapped_column(String(200), default="")


class Rule(Base):
    """The merchant's word over every list: never show a product, lift it, or pin it
    first; for one list or all (``list`` empty)."""

    __tablename__ = "recommendation_rules"
    __table_args__ = (CheckConstraint(f"action IN {RULE_ACTIONS}", name="action"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("rcr"))
    product_id: Mapped[str] = mapped_column(
        ForeignKey("products.id", ondelete="CASCADE"), index=True
    )
    action: Mapped[str] = mapped_column(String(16))
    list: Mapped[str] = mapped_column(String(16), default="")
    # For boost: the score is multiplied by this.
    weight: Mapped[float] = mapped_column(Float, default=1.0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


PRODUCT_SET_STATUSES = ("pending", "synced", "failed")


class ProductSet(Base):
    """A segment's own products on an ads platform: what the segment's members are most
    likely to buy (their personal lists, for those who agreed to personalisation; what
    sells, to fill it), kept as a product set of the channel's catalog that an ad for that
    audience can show. Refreshed after each training."""

    __tablename__ = "recommendation_product_sets"
    __table_args__ = (
        CheckConstraint(f"status IN {PRODUCT_SET_STATUSES}", name="status"),
        CheckConstraint("size BETWEEN 1 AND 500", name="size"),
        UniqueConstraint("channel_id", "segment_id"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("rps"))
    channel_id: Mapped[str] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"))
    segment_id: Mapped[str] = mapped_column(ForeignKey("customer_segments.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(120))
    size: Mapped[int] = mapped_column(Integer, default=50)
    # The platform's id of the set, once created there.
    external_id: Mapped[str | None] = mapped_column(String(64))
    # What was last sent: the products, and the catalog's item ids for them.
    product_ids: Mapped[list[str]] = mapped_column(JSONType(), default=list)
    item_ids: Mapped[list[str]] = mapped_column(JSONType(), default=list)
    status: Mapped[str] = mapped_column(String(10), default="pending")
    pushed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
