"""Live events: a stream on one or more platforms with products in running order, one of
them pinned (with a live-only price), and the record of what happened during it; and
the admission gate of drops (who got in, in which order)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mercato.db import Amount, Base, UTCDateTime, new_id, utcnow

STATES = ("scheduled", "live", "ended")
MOMENTS = (
    "created",
    "started",
    "pinned",
    "unpinned",
    "priced",
    "sale",
    "held",
    "fenced",
    "ended",
)
# lapsed: the pass was never used; abandoned: its checkout expired unpaid. Both gave
# their units back to the gate.
ADMISSIONS = ("admitted", "checked_out", "lapsed", "abandoned")


class LiveEvent(Base):
    __tablename__ = "live_events"
    __table_args__ = (
        CheckConstraint(f"state IN {STATES}", name="state"),
        CheckConstraint("live_price IS NULL OR live_price >= 0", name="live_price_not_negative"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("lev"))
    title: Mapped[str] = mapped_column(String(200))
    # Who presents it, as the merchant writes it on the viewer page.
    host: Mapped[str | None] = mapped_column(String(200))
    scheduled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    state: Mapped[str] = mapped_column(String(16), default="scheduled")
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    pinned_variant_id: Mapped[str | None] = mapped_column(
        ForeignKey("variants.id", ondelete="SET NULL")
    )
    # The pinned product's price while it is pinned during the event (minor units).
    live_price: Mapped[int | None] = mapped_column(Amount)
    currency: Mapped[str] = mapped_column(String(3))
    # Units one buyer may take through the event's admission gate.
    per_buyer_limit: Mapped[int] = mapped_column(Integer, default=2)
    # The scheduled job spreads unsold pool units by what each channel sells.
    auto_rebalance: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    platforms: Mapped[list[LivePlatform]] = relationship(
        cascade="all, delete-orphan", order_by="LivePlatform.position", lazy="selectin"
    )
    products: Mapped[list[LiveProduct]] = relationship(
        cascade="all, delete-orphan", order_by="LiveProduct.position", lazy="selectin"
    )


class LivePlatform(Base):
    """Where the event streams: a channel (a connection id, or "storefront") and the
    stream's or post's URL there."""

    __tablename__ = "live_event_platforms"
    __table_args__ = (UniqueConstraint("event_id", "channel"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("lep"))
    event_id: Mapped[str] = mapped_column(ForeignKey("live_events.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    channel: Mapped[str] = mapped_column(String(100))
    url: Mapped[str | None] = mapped_column(String(2000))


class LiveProduct(Base):
    """A variant shown during the event, in running order."""

    __tablename__ = "live_event_products"
    __table_args__ = (UniqueConstraint("event_id", "variant_id"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("lpr"))
    event_id: Mapped[str] = mapped_column(ForeignKey("live_events.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    variant_id: Mapped[str] = mapped_column(ForeignKey("variants.id", ondelete="CASCADE"))


class LiveMoment(Base):
    """What happened during an event, for analytics: each pin, price, sale, start, end."""

    __tablename__ = "live_event_moments"
    __table_args__ = (
        CheckConstraint(f"kind IN {MOMENTS}", name="kind"),
        Index("ix_live_event_moments_event_id_created_at", "event_id", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("lmo"))
    event_id: Mapped[str] = mapped_column(ForeignKey("live_events.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    variant_id: Mapped[str | None] = mapped_column(String(40))
    channel: Mapped[str | None] = mapped_column(String(100))
    quantity: Mapped[int | None] = mapped_column(Integer)
    amount: Mapped[int | None] = mapped_column(Amount)
    # The order of a sale.
    reference: Mapped[str | None] = mapped_column(String(200))
    actor: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Admission(Base):
    """A place in a drop's queue: one buyer let in for ``quantity`` units of a variant,
    in the order the gate took them (``seq``). The gate's own count lives in Redis in
    production; rows here are what it drained, reconciled after the drop."""

    __tablename__ = "live_admissions"
    __table_args__ = (
        CheckConstraint(f"state IN {ADMISSIONS}", name="state"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        UniqueConstraint("event_id", "ticket"),
        Index("ix_live_admissions_event_id_buyer", "event_id", "buyer"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("adm"))
    event_id: Mapped[str] = mapped_column(ForeignKey("live_events.id", ondelete="CASCADE"))
    variant_id: Mapped[str] = mapped_column(ForeignKey("variants.id", ondelete="CASCADE"))
    # The gate's id for this admission (idempotency of the drain).
    ticket: Mapped[str] = mapped_column(String(64))
    # A signed-in customer id or the shop's visitor cookie: whose per-buyer limit it counts to.
    buyer: Mapped[str] = mapped_column(String(100))
    quantity: Mapped[int] = mapped_column(Integer)
    seq: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16), default="admitted")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class GateCounter(Base):
    """The database gate of a drop's variant: units still to admit and the next place.
    One conditional UPDATE admits (``remaining >= :q``), as the stock guard does."""

    __tablename__ = "live_gate_counters"
    __table_args__ = (
        UniqueConstraint("event_id", "variant_id"),
        CheckConstraint("remaining >= 0", name="remaining_not_negative"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("gat"))
    event_id: Mapped[str] = mapped_column(ForeignKey("live_events.id", ondelete="CASCADE"))
    variant_id: Mapped[str] = mapped_column(ForeignKey("variants.id", ondelete="CASCADE"))
    remaining: Mapped[int] = mapped_column(Integer)
    admitted: Mapped[int] = mapped_column(Integer, default=0)


class GateBuyer(Base):
    """Units one buyer was let in for at an event's gate: the per-buyer limit is a
    conditional UPDATE of this row (``taken + :q <= :limit``)."""

    __tablename__ = "live_gate_buyers"
    __table_args__ = (
        UniqueConstraint("event_id", "buyer"),
        CheckConstraint("taken >= 0", name="taken_not_negative"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("gby"))
    event_id: Mapped[str] = mapped_column(ForeignKey("live_events.id", ondelete="CASCADE"))
    buyer: Mapped[str] = mapped_column(String(100))
    taken: Mapped[int] = mapped_column(Integer, default=0)
