"""What the stock looks like: a variant's stock per location and channel, its holds
and movements, the lowest stock, and the check that the ledger adds up."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from mercato.catalog.models import Variant
from mercato.errors import NotFound
from mercato.inventory.availability import as_of, publishable, read_stock, rules_now
from mercato.inventory.models import Location, Movement, Reservation, ReservationLine, StockLevel
from mercato.inventory.queries import POOLS_OF_VARIANTS


@dataclass
class LevelView:
    location: str
    location_name: str
    on_hand: int
    reserved: int
    available: int


@dataclass
class ChannelView:
    channel: str
    buffer: int
    cap: int | None
    available: int


@dataclass
class InventoryView:
    variant_id: str
    sku: str | None
    tracked: bool
    policy: str
    on_hand: int
    reserved: int
    available: int
    published: int
    locations: list[LevelView]
    channels: list[ChannelView]


def inventory_by_sku(session: Session, sku: str, now: datetime | None = None) -> InventoryView:
    """A variant's stock per location and what each channel with rules may publish."""
    stock = next(iter(read_stock(session, skus=[sku], now=now).values()), None)
    if stock is None:
        raise NotFound(f"No variant with SKU {sku!r}.")
    levels = sorted(stock.levels, key=lambda lv: (lv.priority, lv.location))
    pools = {
        row.channel: row.units
        for row in session.execute(POOLS_OF_VARIANTS, {"ids": [stock.variant_id]})
    }
    return InventoryView(
        stock.variant_id,
        stock.sku,
        stock.tracked,
        stock.policy,
        stock.on_hand,
        stock.reserved,
        max(0, stock.available),
        publishable(stock, None),
        [
            LevelView(
                lv.location,
                lv.location_name,
                lv.on_hand,
                lv.reserved - lv.lapsed,
                max(0, lv.available),
            )
            for lv in levels
        ],
        [
            ChannelView(
                r.channel,
                r.buffer,
                r.cap,
                publishable(stock, r, pools.get(r.channel, 0) if pools else None),
            )
            for r in rules_now(session)
        ],
    )


@dataclass(frozen=True)
class Mismatch:
    stock_level_id: str
    sku: str | None
    location: str
    problem: str

    def __str__(self) -> str:
        return f"{self.sku or '-'} at {self.location} ({self.stock_level_id}): {self.problem}"


def verify(session: Session) -> list[Mismatch]:
    """Check that every stock level equals what its ledger sums to, and that its reserved
    units are exactly those of held reservation lines. Empty when all is well."""
    ledger = (
        select(
            Movement.stock_level_id,
            func.sum(Movement.on_hand_delta).label("on_hand"),
            func.sum(Movement.reserved_delta).label("reserved"),
        )
        .group_by(Movement.stock_level_id)
        .subquery()
    )
    held = (
        select(ReservationLine.stock_level_id, func.sum(ReservationLine.quantity).label("units"))
        .where(ReservationLine.state == "held", ReservationLine.stock_level_id.isnot(None))
        .group_by(ReservationLine.stock_level_id)
        .subquery()
    )
    rows = session.execute(
        select(
            StockLevel.id,
            Variant.sku,
            Location.code,
            StockLevel.on_hand,
            StockLevel.reserved,
            func.coalesce(ledger.c.on_hand, 0),
            func.coalesce(ledger.c.reserved, 0),
            func.coalesce(held.c.units, 0),
        )
        .join(Variant, Variant.id == StockLevel.variant_id)
        .join(Location, Location.id == StockLevel.location_id)
        .outerjoin(ledger, ledger.c.stock_level_id == StockLevel.id)
        .outerjoin(held, held.c.stock_level_id == StockLevel.id)
        .where(
            or_(
                StockLevel.on_hand != func.coalesce(ledger.c.on_hand, 0),
                StockLevel.reserved != func.coalesce(ledger.c.reserved, 0),
                StockLevel.reserved != func.coalesce(held.c.units, 0),
                StockLevel.reserved < 0,
                StockLevel.reserved > StockLevel.on_hand,
            )
        )
        .order_by(Variant.sku, Location.code)
    ).all()
    found = []
    for level_id, sku, code, on_hand, reserved, ledger_on_hand, ledger_reserved, held_units in rows:
        problems = []
        if on_hand != ledger_on_hand:
            problems.append(f"on hand {on_hand}, ledger says {ledger_on_hand}")
        if reserved != ledger_reserved:
            problems.append(f"reserved {reserved}, ledger says {ledger_reserved}")
        if reserved != held_units:
            problems.append(f"reserved {reserved}, held lines add up to {held_units}")
        if not 0 <= reserved <= on_hand:
            problems.append(f"reserved {reserved} outside 0..{on_hand}")
        found.append(Mismatch(level_id, sku, code, "; ".join(problems)))
    return found


# ---------------------------------------------------------------- for the dashboard


@dataclass(frozen=True)
class HeldLine:
    reservation_id: str
    channel: str
    reference: str
    quantity: int
    expires_at: datetime
    lapsed: bool


def holds_of(
    session: Session, variant_id: str, now: datetime | None = None, limit: int = 50
) -> list[HeldLine]:
    """Units of a variant held by active reservations, soonest to expire first."""
    now = as_of(now)
    rows = session.execute(
        select(
            Reservation.id,
            Reservation.channel,
            Reservation.reference,
            ReservationLine.quantity,
            Reservation.expires_at,
        )
        .join(ReservationLine, ReservationLine.reservation_id == Reservation.id)
        .where(
            ReservationLine.variant_id == variant_id,
            ReservationLine.state == "held",
            Reservation.status == "active",
        )
        .order_by(Reservation.expires_at)
        .limit(limit)
    )
    return [
        HeldLine(rid, channel, reference, quantity, expires, expires <= now)
        for rid, channel, reference, quantity, expires in rows
    ]


def ledger_of(session: Session, variant_id: str, limit: int = 100) -> list[Movement]:
    """A variant's latest stock movements, newest first."""
    return list(
        session.scalars(
            select(Movement)
            .where(Movement.variant_id == variant_id)
            .order_by(Movement.id.desc())
            .limit(limit)
        )
    )


def lowest_stock(session: Session, limit: int = 50) -> list[tuple[str | None, int, int]]:
    """(SKU, on hand, reserved) of the tracked variants with the fewest free units."""
    free = func.sum(StockLevel.on_hand - StockLevel.reserved)
    rows = session.execute(
        select(Variant.sku, func.sum(StockLevel.on_hand), func.sum(StockLevel.reserved))
        .join(StockLevel, StockLevel.variant_id == Variant.id)
        .where(Variant.inventory_tracked.is_(True))
        .group_by(Variant.id, Variant.sku)
        .order_by(free, Variant.sku)
        .limit(limit)
    )
    return [(sku, int(on_hand), int(reserved)) for sku, on_hand, reserved in rows]
