"""Stock tables: locations, stock levels, the movement ledger, reservations and the
per-channel publishing rules.

A stock level's ``on_hand`` and ``reserved`` are running totals of its movements; the
CHECK constraints are the last line of defence against overselling.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from mercato.db import Base, UTCDateTime, new_id, utcnow

LOCATION_KINDS = ("warehouse", "store")
MOVEMENT_KINDS = (
    "receipt",
    "adjustment",
    "correction",
    "return",
    "reservation",
    "release",
    "expiry",
    "sale",
)
RESERVATION_STATUSES = ("active", "committed", "released", "expired")
LINE_STATES = ("held", "sold", "released", "expired")


class Location(Base):
    __tablename__ = "inventory_locations"
    __table_args__ = (CheckConstraint(f"kind IN {LOCATION_KINDS}", name="kind"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("loc"))
    # What merchants type: "default", "berlin-store".
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16), default="warehouse")
    # Lower ranks ship first under the priority allocation policy.
    priority: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class StockLevel(Base):
    """Units of one variant at one location. Available = on_hand - reserved (less holds
    that have expired but are not yet swept)."""

    __tablename__ = "inventory_stock_levels"
    __table_args__ = (
        UniqueConstraint("variant_id", "location_id"),
        CheckConstraint("reserved >= 0", name="reserved_not_negative"),
        CheckConstraint("reserved <= on_hand", name="reserved_within_on_hand"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("stk"))
    variant_id: Mapped[str] = mapped_column(ForeignKey("variants.id", ondelete="CASCADE"))
    location_id: Mapped[str] = mapped_column(
        ForeignKey("inventory_locations.id", ondelete="CASCADE"), index=True
    )
    on_hand: Mapped[int] = mapped_column(Integer, default=0)
    reserved: Mapped[int] = mapped_column(Integer, default=0)


class Movement(Base):
    """One entry of the stock ledger: what changed on a stock level, why and by whom."""

    __tablename__ = "inventory_movements"
    __table_args__ = (
        CheckConstraint(f"kind IN {MOVEMENT_KINDS}", name="kind"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        Index("ix_inventory_movements_stock_level_id", "stock_level_id"),
        Index("ix_inventory_movements_variant_id_created_at", "variant_id", "created_at"),
        # For the reservation's ON DELETE SET NULL: most movements have no reservation.
        Index(
            "ix_inventory_movements_reservation_id",
            "reservation_id",
            postgresql_where=text("reservation_id IS NOT NULL"),
            sqlite_where=text("reservation_id IS NOT NULL"),
        ),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("mov"))
    stock_level_id: Mapped[str] = mapped_column(
        ForeignKey("inventory_stock_levels.id", ondelete="CASCADE")
    )
    variant_id: Mapped[str] = mapped_column(ForeignKey("variants.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    # Units moved as a merchant would say it; the signed effects are the two deltas.
    quantity: Mapped[int] = mapped_column(Integer)
    on_hand_delta: Mapped[int] = mapped_column(Integer, default=0)
    reserved_delta: Mapped[int] = mapped_column(Integer, default=0)
    reason: Mapped[str | None] = mapped_column(String(500))
    reference: Mapped[str | None] = mapped_column(String(200))
    actor: Mapped[str] = mapped_column(String(100))
    reservation_id: Mapped[str | None] = mapped_column(
        ForeignKey("inventory_reservations.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Reservation(Base):
    """A hold on stock for one cart or order, until it is committed, released or expires."""

    __tablename__ = "inventory_reservations"
    __table_args__ = (
        CheckConstraint(f"status IN {RESERVATION_STATUSES}", name="status"),
        UniqueConstraint("channel", "reference"),
        Index("ix_inventory_reservations_status_expires_at", "status", "expires_at"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("res"))
    # A channel connection id or a head such as "storefront"; no foreign key on purpose,
    # a reservation outlives the channel it came from.
    channel: Mapped[str] = mapped_column(String(100))
    reference: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="active")
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ReservationLine(Base):
    """Units of one variant held at one stock level. ``stock_level_id`` is empty for
    variants whose stock is not guarded (untracked, or a `continue` backorder)."""

    __tablename__ = "inventory_reservation_lines"
    __table_args__ = (
        CheckConstraint(f"state IN {LINE_STATES}", name="state"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        Index("ix_inventory_reservation_lines_stock_level_id_state", "stock_level_id", "state"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("rsl"))
    reservation_id: Mapped[str] = mapped_column(
        ForeignKey("inventory_reservations.id", ondelete="CASCADE"), index=True
    )
    variant_id: Mapped[str] = mapped_column(ForeignKey("variants.id", ondelete="CASCADE"))
    stock_level_id: Mapped[str | None] = mapped_column(
        ForeignKey("inventory_stock_levels.id", ondelete="CASCADE")
    )
    quantity: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16), default="held")


class ChannelRule(Base):
    """What one channel may publish: all available units less ``buffer``, at most ``cap``."""

    __tablename__ = "inventory_channel_rules"
    __table_args__ = (
        CheckConstraint("buffer >= 0", name="buffer_not_negative"),
        CheckConstraint("cap IS NULL OR cap >= 0", name="cap_not_negative"),
    )

    channel: Mapped[str] = mapped_column(String(100), primary_key=True)
    buffer: Mapped[int] = mapped_column(Integer, default=0)
    cap: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ChannelPool(Base):
    """Units of one variant ring-fenced for one channel (a live event, a drop): the
    channel sells from its pool only and is pushed its pool, never more; a variant with
    pools sells nothing on a channel without one. ``units`` are free units fenced (not
    yet held or sold); ``held`` and ``sold`` count what the channel took from them.
    Free units = on_hand - reserved of the variant's levels; the pools' units never sum
    past them (``pools``: every change locks the variant's stock levels first)."""

    __tablename__ = "inventory_pools"
    __table_args__ = (
        UniqueConstraint("variant_id", "channel"),
        CheckConstraint("units >= 0", name="units_not_negative"),
        CheckConstraint("held >= 0", name="held_not_negative"),
        CheckConstraint("sold >= 0", name="sold_not_negative"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("pol"))
    variant_id: Mapped[str] = mapped_column(ForeignKey("variants.id", ondelete="CASCADE"))
    # "storefront" or a channel connection id, as reservations name their channel.
    channel: Mapped[str] = mapped_column(String(100))
    units: Mapped[int] = mapped_column(Integer, default=0)
    held: Mapped[int] = mapped_column(Integer, default=0)
    sold: Mapped[int] = mapped_column(Integer, default=0)
    # What fenced it: a live event's id, a drop's name.
    source: Mapped[str | None] = mapped_column(String(100))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PoolMove(Base):
    """The ledger of pools: units fenced for a channel, moved between pools, or let go
    (``from_channel`` / ``to_channel`` empty: the variant's unfenced units)."""

    __tablename__ = "inventory_pool_moves"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        Index("ix_inventory_pool_moves_variant_id_created_at", "variant_id", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("pmv"))
    variant_id: Mapped[str] = mapped_column(ForeignKey("variants.id", ondelete="CASCADE"))
    from_channel: Mapped[str | None] = mapped_column(String(100))
    to_channel: Mapped[str | None] = mapped_column(String(100))
    quantity: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str | None] = mapped_column(String(500))
    reference: Mapped[str | None] = mapped_column(String(200))
    actor: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
