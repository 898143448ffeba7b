"""The ledger: every change of ``on_hand`` or ``reserved`` writes a movement with the
same deltas, so the ledger always sums to the stock levels (``reports.verify``); and
every change of what a variant may publish is recorded as ``inventory.changed``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from mercato import events
from mercato.db import insert_rows, new_id
from mercato.inventory.availability import Stock, publishable, read_stock, rules_now
from mercato.inventory.queries import MOVE_UNITS, RECLAIM_LAPSED_LINES, movements_table


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


def record_changes(
    session: Session,
    variant_ids: Iterable[str],
    stocks: Mapping[str, Stock] | None = None,
    now: datetime | None = None,
) -> None:
    """Record inventory.changed for each variant, with what every channel may publish."""
    variant_ids = sorted(set(variant_ids))
    if not variant_ids:
        return
    if stocks is None or any(v not in stocks for v in variant_ids):
        stocks = read_stock(session, variant_ids=variant_ids, now=now)
    rules = rules_now(session)
    events.record_many(
        session,
        (
            ("inventory.changed", _changed_payload(stocks[variant_id], rules), variant_id)
            for variant_id in variant_ids
        ),
    )


def _changed_payload(stock: Stock, rules) -> dict[str, Any]:
    """An ``InventoryChanged`` as its JSON body, built directly: counts and imports record
    thousands at once, and a model per event costs more than the insert."""
    return {
        "variant_id": stock.variant_id,
        "sku": stock.sku,
        "on_hand": stock.on_hand,
        "reserved": stock.reserved,
        "available": max(0, stock.available),
        "published": publishable(stock, None),
        "channels": [{"channel": r.channel, "available": publishable(stock, r)} for r in rules],
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
