"""Counting stock: set the units on hand (a merchant's count, an import), add or remove
units (receipts, returns, adjustments). Each change is a movement in the ledger; a count
below the units held for open reservations is refused.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from mercato.catalog.models import Variant
from mercato.db import insert_rows, new_id
from mercato.errors import FieldError, ValidationFailed
from mercato.inventory import lock_objects
from mercato.inventory.availability import InsufficientStock, Level, Stock, as_of, variant_by_ref
from mercato.inventory.ledger import (
    movement_row,
    reclaim_lapsed,
    record_changes,
    trim_pools,
    write_movements,
)
from mercato.inventory.locations import DEFAULT_LOCATION, get_location
from mercato.inventory.models import Location, StockLevel
from mercato.inventory.queries import MOVE_UNITS, insert_or_ignore, levels_table
from mercato.inventory.schemas import AdjustmentCreate


@dataclass
class StockChange:
    variant_id: str
    sku: str | None
    location: str
    on_hand: int
    reserved: int
    # The movement written (its columns), or None when the count did not change.
    movement: dict[str, Any] | None


def _stock_levels_for(
    session: Session, variant_ids: Collection[str], location: Location
) -> dict[str, str]:
    """The stock level id of each variant at the location, created when missing."""
    wanted = sorted(set(variant_ids))
    found = dict(
        session.execute(
            select(StockLevel.variant_id, StockLevel.id).where(
                StockLevel.location_id == location.id, StockLevel.variant_id.in_(wanted)
            )
        ).all()
    )
    missing = [v for v in wanted if v not in found]
    if missing:
        session.execute(
            insert_or_ignore(session, levels_table),
            [
                {
                    "id": new_id("stk"),
                    "variant_id": v,
                    "location_id": location.id,
                    "on_hand": 0,
                    "reserved": 0,
                }
                for v in missing
            ],
        )
        found.update(
            session.execute(
                select(StockLevel.variant_id, StockLevel.id).where(
                    StockLevel.location_id == location.id, StockLevel.variant_id.in_(missing)
                )
            ).all()
        )
    return found


def set_on_hand(
    session: Session,
    counts: Mapping[str, int],
    location: str = DEFAULT_LOCATION,
    *,
    reason: str | None = None,
    reference: str | None = None,
    actor: str = "system",
    now: datetime | None = None,
) -> list[StockChange]:
    """Set counted on-hand totals (variant id -> units) at a location, as corrections.

    Batched for imports: a few statements whatever the number of variants. Only counts
    that differ write a movement. A count below the units held for open reservations is
    refused (release them first).
    """
    if not counts:
        return []
    now = as_of(now)
    where = get_location(session, location)
    bad = [
        FieldError(("on_hand",), f"{units} is below zero") for units in counts.values() if units < 0
    ]
    if bad:
        raise ValidationFailed("Stock cannot be negative.", bad)
    levels = _stock_levels_for(session, counts, where)
    return _change_on_hand(
        session,
        {levels[v]: ("set", units) for v, units in counts.items()},
        where,
        "correction",
        reason,
        reference,
        actor,
        now,
    )


def count_and_track(
    session: Session,
    counts: Mapping[str, int],
    location: str = DEFAULT_LOCATION,
    **options: Any,
) -> tuple[list[StockChange], list[str]]:
    """``set_on_hand`` for a merchant's count: a counted variant whose stock was not
    tracked is tracked from now on, so channels publish the count instead of
    ``UNLIMITED``. Returns the changes and the ids of the variants that started being
    tracked."""
    started = list(
        session.scalars(
            select(Variant.id).where(
                Variant.id.in_(list(counts)), Variant.inventory_tracked.is_(False)
            )
        )
    )
    if started:
        session.execute(
            update(Variant).where(Variant.id.in_(started)).values(inventory_tracked=True)
        )
    changes = set_on_hand(session, counts, location, **options)
    # A count that moved nothing wrote no event; channels still have to learn it.
    unmoved = {c.variant_id for c in changes if c.movement is None}
    record_changes(session, [v for v in started if v in unmoved], now=options.get("now"))
    return changes, started


@dataclass(frozen=True)
class NewCount:
    """Counted on-hand units of a variant created in the current transaction."""

    variant_id: str
    sku: str | None
    policy: str
    tracked: bool
    on_hand: int


def set_on_hand_of_new(
    session: Session,
    counts: Iterable[NewCount],
    location: str = DEFAULT_LOCATION,
    *,
    reason: str | None = None,
    reference: str | None = None,
    actor: str = "system",
    now: datetime | None = None,
) -> None:
    """``set_on_hand`` for variants created in this transaction, which have no stock level
    anywhere yet: the same levels, corrections and events, written in a few multi-row
    INSERTs with nothing to read or lock first (imports create thousands of variants).

    A variant that already has a level at the location fails on its unique key.
    """
    counts = {count.variant_id: count for count in counts}
    if not counts:
        return
    now = as_of(now)
    where = get_location(session, location)
    bad = [
        FieldError(("on_hand",), f"{c.on_hand} is below zero")
        for c in counts.values()
        if c.on_hand < 0
    ]
    if bad:
        raise ValidationFailed("Stock cannot be negative.", bad)
    # Read once: attributes of an ORM object cost more than the rest of each row.
    location_id, code, name, priority = where.id, where.code, where.name, where.priority
    level_ids = {variant_id: new_id("stk") for variant_id in sorted(counts)}
    # Rows made as they are written (see ``insert_rows``).
    insert_rows(
        session,
        levels_table,
        (
            {
                "id": level_id,
                "variant_id": variant_id,
                "location_id": location_id,
                "on_hand": counts[variant_id].on_hand,
                "reserved": 0,
            }
            for variant_id, level_id in level_ids.items()
        ),
    )
    # As set_on_hand: a count of 0 on a new level moves nothing.
    moved = [variant_id for variant_id in level_ids if counts[variant_id].on_hand]
    write_movements(
        session,
        (
            movement_row(
                level_ids[variant_id],
                variant_id,
                "correction",
                counts[variant_id].on_hand,
                on_hand=counts[variant_id].on_hand,
                actor=actor,
                now=now,
                reason=reason,
                reference=reference,
            )
            for variant_id in moved
        ),
    )
    stocks = {}
    for variant_id in moved:
        count, level_id = counts[variant_id], level_ids[variant_id]
        level = Level(level_id, variant_id, location_id, code, name, priority, count.on_hand, 0)
        stocks[variant_id] = Stock(variant_id, count.sku, count.policy, count.tracked, [level])
    record_changes(session, stocks, stocks, now)


def adjust(
    session: Session, data: AdjustmentCreate, *, actor: str = "system", now: datetime | None = None
) -> StockChange:
    """Add or remove units (receipt, return, adjustment) or record a count (correction)."""
    now = as_of(now)
    variant = variant_by_ref(session, data.sku, data.variant_id)
    where = get_location(session, data.location)
    level_id = _stock_levels_for(session, [variant.id], where)[variant.id]
    if data.on_hand is not None:
        change, kind = ("set", data.on_hand), "correction"
    else:
        change, kind = ("add", data.quantity), data.kind
    return _change_on_hand(
        session, {level_id: change}, where, kind, data.reason, data.reference, actor, now
    )[0]


def _change_on_hand(
    session: Session,
    changes: Mapping[str, tuple[str, int]],
    location: Location,
    kind: str,
    reason: str | None,
    reference: str | None,
    actor: str,
    now: datetime,
) -> list[StockChange]:
    lock_objects.stock_levels(session, changes)
    levels = {
        row.id: row
        for row in session.execute(
            select(
                StockLevel.id,
                StockLevel.variant_id,
                StockLevel.on_hand,
                StockLevel.reserved,
                Variant.sku,
            )
            .join(Variant, Variant.id == StockLevel.variant_id)
            .where(StockLevel.id.in_(sorted(changes)))
            .order_by(StockLevel.id)
        )
    }
    results, updates, movements, errors = [], [], [], []
    for level_id in sorted(changes):
        level = levels[level_id]
        mode, units = changes[level_id]
        target = units if mode == "set" else level.on_hand + units
        reserved = level.reserved
        if target < reserved:
            reserved -= reclaim_lapsed(session, level_id, now, actor)
        if target < reserved or target < 0:
            errors.append((level, target, reserved))
            continue
        movement = None
        if target != level.on_hand:
            delta = target - level.on_hand
            updates.append({"level_id": level_id, "on_hand_delta": delta, "reserved_delta": 0})
            movement = movement_row(
                level_id,
                level.variant_id,
                kind,
                abs(delta),
                on_hand=delta,
                actor=actor,
                now=now,
                reason=reason,
                reference=reference,
            )
            movements.append(movement)
        results.append(
            StockChange(level.variant_id, level.sku, location.code, target, reserved, movement)
        )
    if errors:
        raise InsufficientStock(
            f"{len(errors)} count(s) would leave fewer units than are held for open "
            "reservations or below zero; nothing was changed.",
            [
                FieldError(
                    ("on_hand" if kind == "correction" else "quantity",),
                    f"{lv.sku or lv.variant_id}: {target} on hand but {reserved} held",
                    "insufficient_stock",
                )
                for lv, target, reserved in errors
            ],
            {
                "lines": [
                    {
                        "sku": lv.sku,
                        "variant_id": lv.variant_id,
                        "requested": target,
                        "held": reserved,
                    }
                    for lv, target, reserved in errors
                ]
            },
        )
    if updates:
        # Deltas read under the lock taken above, so they are current.
        session.execute(MOVE_UNITS, updates)
        write_movements(session, movements)
        trim_pools(
            session, {m["variant_id"] for m in movements if m["on_hand_delta"] < 0}, actor, now
        )
        record_changes(session, {m["variant_id"] for m in movements}, now=now)
    return results


def on_hand_at_default(session: Session, variant_ids: Collection[str]) -> dict[str, int]:
    """On-hand units at the default location (0 where none were ever counted)."""
    location = session.scalar(select(Location.id).where(Location.code == DEFAULT_LOCATION))
    found = (
        {}
        if location is None
        else dict(
            session.execute(
                select(StockLevel.variant_id, StockLevel.on_hand).where(
                    StockLevel.location_id == location, StockLevel.variant_id.in_(set(variant_ids))
                )
            ).all()
        )
    )
    return {v: found.get(v, 0) for v in variant_ids}
