"""What is in stock and what each channel may publish: stock levels as read, in one
query, and the errors every stock-changing operation shares.

Reads only choose where to take from; they never decide that a unit is free (the
guarded UPDATEs in ``allocation`` and ``counts`` do). A hold past its ``expires_at``
stops counting at once: availability is ``on_hand - reserved + lapsed``, where
``lapsed`` sums the held lines of expired reservations.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from mercato.catalog.models import Variant
from mercato.db import utcnow
from mercato.errors import Conflict, FieldError, NotFound
from mercato.inventory.models import ChannelRule
from mercato.inventory.queries import CHANNEL_RULES, POOLS_OF_VARIANTS, STOCK_OF_VARIANTS

# Published for variants whose stock is not counted; the most any platform accepts
# (TikTok Shop allows up to 999999).
UNLIMITED = 999_999


class InsufficientStock(Conflict):
    """Some lines cannot be held; ``extra["lines"]`` says what each could get."""

    slug = "insufficient-stock"
    title = "Insufficient stock"


def as_of(now: datetime | None) -> datetime:
    """The time a change happens at: now, or the UTC-aware time given (tests, replays)."""
    if now is None:
        return utcnow()
    if now.tzinfo is None:
        raise ValueError("naive datetime given; inventory works in UTC-aware time")
    return now


@dataclass
class Level:
    """A stock level as read: the allocation policies choose among these."""

    id: str
    variant_id: str
    location_id: str
    location: str
    location_name: str
    priority: int
    on_hand: int
    reserved: int
    # Units still counted in ``reserved`` by holds that have expired.
    lapsed: int = 0

    @property
    def free(self) -> int:
        """Units a conditional UPDATE can take without reclaiming lapsed holds."""
        return self.on_hand - self.reserved

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved + self.lapsed


@dataclass
class Stock:
    """A variant with its stock levels."""

    variant_id: str
    sku: str | None
    policy: str
    tracked: bool
    levels: list[Level] = field(default_factory=list)

    @property
    def oversells(self) -> bool:
        """Exempt from the guard, as in Shopify: untracked variants hold nothing, and
        `continue` variants are held from stock while it lasts, then backordered."""
        return self.policy == "continue" or not self.tracked

    @property
    def on_hand(self) -> int:
        return sum(level.on_hand for level in self.levels)

    @property
    def reserved(self) -> int:
        return sum(level.reserved - level.lapsed for level in self.levels)

    @property
    def available(self) -> int:
        return sum(level.available for level in self.levels)


def read_stock(
    session: Session,
    variant_ids: Collection[str] = (),
    skus: Collection[str] = (),
    now: datetime | None = None,
) -> dict[str, Stock]:
    """Variants (by id or SKU) with every stock level, keyed by variant id; one query."""
    if not variant_ids and not skus:
        return {}
    rows = session.execute(
        STOCK_OF_VARIANTS,
        {"ids": sorted(set(variant_ids)), "skus": sorted(set(skus)), "now": as_of(now)},
    )
    stocks: dict[str, Stock] = {}
    for (
        vid,
        sku,
        policy,
        tracked,
        sid,
        lid,
        code,
        name,
        priority,
        on_hand,
        reserved,
        lapsed,
    ) in rows:
        stock = stocks.setdefault(vid, Stock(vid, sku, policy, tracked))
        if sid is not None:
            stock.levels.append(
                Level(sid, vid, lid, code, name, priority, on_hand, reserved, lapsed)
            )
    return stocks


def variant_by_ref(session: Session, sku: str | None, variant_id: str | None) -> Variant:
    variant = session.scalar(
        select(Variant).where(Variant.sku == sku if sku is not None else Variant.id == variant_id)
    )
    if variant is None:
        what = f"SKU {sku!r}" if sku is not None else f"id {variant_id!r}"
        raise NotFound(
            f"No variant with {what}.",
            [FieldError(("sku" if sku is not None else "variant_id",), "unknown variant")],
        )
    return variant


def rules_now(session: Session):
    """Every channel's buffer and cap as plain rows (no ORM: read on every change)."""
    return session.execute(CHANNEL_RULES).all()


def publishable(stock: Stock, rule: ChannelRule | None, pool: int | None = None) -> int:
    """Units a channel may publish: available less its buffer, at most its cap, and at
    most its pool when the variant is ring-fenced (``pool``: the channel's unsold pool
    units, 0 when the variant has pools but none for this channel; None: no pools).

    Buffers and caps shape what platforms show, so a lagging platform sells out before
    stock does; they do not refuse an order a platform has already taken. Physical stock
    is guarded by the holds alone.
    """
    buffer = rule.buffer if rule else 0
    units = UNLIMITED if stock.oversells else stock.available - buffer
    if rule is not None and rule.cap is not None:
        units = min(units, rule.cap)
    if pool is not None and not stock.oversells:
        units = min(units, pool)
    return max(0, min(units, UNLIMITED))


def pool_units(session: Session, channel: str, variant_ids: Collection[str]) -> dict[str, int]:
    """The unsold units of ``channel``'s pool of each ring-fenced variant (0 when the
    variant has pools but none for the channel); variants without pools left out."""
    units: dict[str, int] = {}
    if not variant_ids:
        return units
    for row in session.execute(POOLS_OF_VARIANTS, {"ids": sorted(set(variant_ids))}):
        units[row.variant_id] = units.get(row.variant_id, 0) + (
            row.units if row.channel == channel else 0
        )
    return units


def available_for(
    session: Session, channel: str, variant_id: str, now: datetime | None = None
) -> int:
    """What ``channel`` may publish for the variant now (what catalog sync pushes)."""
    available = available_for_many(session, channel, [variant_id], now)
    if variant_id not in available:
        raise NotFound(f"No variant with id {variant_id!r}.")
    return available[variant_id]


def available_for_many(
    session: Session, channel: str, variant_ids: Collection[str], now: datetime | None = None
) -> dict[str, int]:
    """``available_for`` of many variants in one stock query (feeds, full syncs);
    unknown variant ids are left out."""
    rule = session.get(ChannelRule, channel)
    pools = pool_units(session, channel, variant_ids)
    return {
        variant_id: publishable(stock, rule, pools.get(variant_id))
        for variant_id, stock in read_stock(session, variant_ids=variant_ids, now=now).items()
    }
