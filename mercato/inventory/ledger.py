"""The ledger: every change of ``on_hand`` or ``reserved`` writes a movement with the
same deltas, so the ledger always sums to the stock levels (``reports.verify``); and
every change of what a variant may publish is recorded as ``inventory.changed``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mercato import events
from mercato.db import insert_rows, new_id
from mercato.inventory.availability import Stock, publishable, read_stock, rules_now
from mercato.inventory.queries import (
    FENCE_LESS,
    FREE_UNITS,
    MOVE_UNITS,
    POOLS_OF_VARIANTS,
    RECLAIM_LAPSED_LINES,
    SETTLE_IN_POOL,
    movements_table,
    pool_moves_table,
    reservations_table,
)


def movement_row(
    level_id: str,
    variant_id: str,
    kind: str,
    quantity: int,
    *,
    on_hand: int = 0,
    reserved: int = 0,
    actor: str,
    now: datetime,
    reason: str | None = None,
    reference: str | None = None,
    reservation_id: str | None = None,
) -> dict[str, Any]:
    return {
        "id": new_id("mov"),
        "stock_level_id": level_id,
        "variant_id": variant_id,
        "kind": kind,
        "quantity": quantity,
        "on_hand_delta": on_hand,
        "reserved_delta": reserved,
        "reason": reason,
        "reference": reference,
        "actor": actor,
        "reservation_id": reservation_id,
        "created_at": now,
    }


def write_movements(session: Session, movements: Iterable[dict[str, Any]]) -> None:
    insert_rows(session, movements_table, movements)


def reclaim_lapsed(session: Session, level_id: str, now: datetime, actor: str) -> int:
    """Release the expired holds on one stock level (locked by the caller); returns units.

    Only lines of this level change, so the caller's lock order stays intact; the rest of
    each reservation is reclaimed where it is needed, or by the sweeper.
    """
    lines = session.execute(RECLAIM_LAPSED_LINES, {"level_id": level_id, "now": now}).all()
    units = sum(line.quantity for line in lines)
    if units:
        channels = dict(
            session.execute(
                select(reservations_table.c.id, reservations_table.c.channel).where(
                    reservations_table.c.id.in_(sorted({ln.reservation_id for ln in lines}))
                )
            ).all()
        )
        settle_pools(
            session,
            [(ln.variant_id, channels[ln.reservation_id], ln.quantity) for ln in lines],
            sold=False,
        )
        session.execute(
            MOVE_UNITS, {"level_id": level_id, "on_hand_delta": 0, "reserved_delta": -units}
        )
        write_movements(
            session,
            [
                movement_row(
                    level_id,
                    line.variant_id,
                    "expiry",
                    line.quantity,
                    reserved=-line.quantity,
                    actor=actor,
                    now=now,
                    reservation_id=line.reservation_id,
                    reason="hold expired",
                )
                for line in lines
            ],
        )
    return units


def settle_pools(session: Session, ended: Iterable[tuple[str, str, int]], *, sold: bool) -> None:
    """Holds a channel took from its pool (variant, channel, units) end: sold, or their
    units back in the pool (released, expired). Holds taken before the pool was made
    find no held units there and change nothing. Under the stock levels' locks."""
    summed: dict[tuple[str, str], int] = {}
    for variant_id, channel, units in ended:
        summed[variant_id, channel] = summed.get((variant_id, channel), 0) + units
    if summed:
        session.execute(
            SETTLE_IN_POOL,
            [
                {
                    "of_variant": variant_id,
                    "of_channel": channel,
                    "n": units,
                    "add_sold": units if sold else 0,
                    "add_back": 0 if sold else units,
                }
                for (variant_id, channel), units in sorted(summed.items())
            ],
        )


def pool_move_row(
    variant_id: str,
    from_channel: str | None,
    to_channel: str | None,
    quantity: int,
    *,
    actor: str,
    now: datetime,
    reason: str | None = None,
    reference: str | None = None,
) -> dict[str, Any]:
    return {
        "id": new_id("pmv"),
        "variant_id": variant_id,
        "from_channel": from_channel,
        "to_channel": to_channel,
        "quantity": quantity,
        "reason": reason,
        "reference": reference,
        "actor": actor,
        "created_at": now,
    }


def trim_pools(session: Session, variant_ids: Iterable[str], actor: str, now: datetime) -> None:
    """After stock went down (a count, damage), pools that fence more than is free give
    the difference up, the largest first, each move in the pools' ledger. Under the stock
    levels' locks."""
    variant_ids = sorted(set(variant_ids))
    pools = session.execute(POOLS_OF_VARIANTS, {"ids": variant_ids}).all() if variant_ids else []
    moves = []
    for variant_id in sorted({p.variant_id for p in pools}):
        mine = sorted(
            (p for p in pools if p.variant_id == variant_id), key=lambda p: (-p.units, p.channel)
        )
        free = session.scalar(select(FREE_UNITS), {"of_variant": variant_id})
        over = sum(p.units for p in mine) - max(0, free)
        for pool in mine:
            if over <= 0:
                break
            units = min(over, pool.units)
            if units <= 0:
                continue
            session.execute(FENCE_LESS, {"pool_id": pool.id, "n": units, "now": now})
            moves.append(
                pool_move_row(
                    variant_id,
                    pool.channel,
                    None,
                    units,
                    actor=actor,
                    now=now,
                    reason="stock went down",
                )
            )
            over -= units
    insert_rows(session, pool_moves_table, moves)


def record_changes(
    session: Session,
    variant_ids: Iterable[str],
    stocks: Mapping[str, Stock] | None = None,
    now: datetime | None = None,
    pools: Mapping[str, Mapping[str, int]] | None = None,
) -> None:
    """Record inventory.changed for each variant, with what every channel may publish."""
    variant_ids = sorted(set(variant_ids))
    if not variant_ids:
        return
    if stocks is None or any(v not in stocks for v in variant_ids):
        stocks = read_stock(session, variant_ids=variant_ids, now=now)
    rules = rules_now(session)
    if pools is None:  # else the pools as the caller read them under the same locks
        pools = {}
        for row in session.execute(POOLS_OF_VARIANTS, {"ids": variant_ids}):
            pools.setdefault(row.variant_id, {})[row.channel] = row.units
    events.record_many(
        session,
        (
            (
                "inventory.changed",
                _changed_payload(stocks[variant_id], rules, pools.get(variant_id)),
                variant_id,
            )
            for variant_id in variant_ids
        ),
    )


def _changed_payload(stock: Stock, rules, pools: dict[str, int] | None = None) -> dict[str, Any]:
    """An ``InventoryChanged`` as its JSON body, built directly: counts and imports record
    thousands at once, and a model per event costs more than the insert. A ring-fenced
    variant (``pools``: channel -> unsold units) lists every channel with a pool too."""
    channels = [
        {
            "channel": r.channel,
            "available": publishable(stock, r, None if pools is None else pools.get(r.channel, 0)),
        }
        for r in rules
    ]
    if pools:
        ruled = {r.channel for r in rules}
        channels += [
            {"channel": channel, "available": publishable(stock, None, units)}
            for channel, units in sorted(pools.items())
            if channel not in ruled
        ]
    return {
        "variant_id": stock.variant_id,
        "sku": stock.sku,
        "on_hand": stock.on_hand,
        "reserved": stock.reserved,
        "available": max(0, stock.available),
        "published": publishable(stock, None),
        "channels": channels,
    }


def batches(items: Iterable[Any], size: int) -> Iterable[list[Any]]:
    batch: list[Any] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
