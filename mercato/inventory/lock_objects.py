"""The one order in which inventory rows are locked: stock levels by id, then the
reservations and lines that hang off them.

Every path that changes a stock level, a reservation or one of its lines first locks the
stock levels involved through these helpers (or through conditional UPDATEs issued in the
same id order). Two transactions therefore never wait on each other in opposite orders,
and PostgreSQL never has to break a deadlock. On SQLite a write transaction holds the
database lock from BEGIN IMMEDIATE, so ``FOR UPDATE`` is not rendered and not needed.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import select
from sqlalchemy.orm import Session

from mercato.inventory.models import ReservationLine, StockLevel


def stock_levels(session: Session, ids: Collection[str]) -> list[str]:
    """Lock the given stock levels, lowest id first; returns the ids locked."""
    if not ids:
        return []
    return list(session.scalars(
        select(StockLevel.id).where(StockLevel.id.in_(sorted(ids)))
        .order_by(StockLevel.id).with_for_update()
    ))


def stock_levels_of_reservations(session: Session, reservation_ids: Collection[str]) -> list[str]:
    """Lock every stock level the reservations hold units at, lowest id first."""
    if not reservation_ids:
        return []
    held_at = (select(ReservationLine.stock_level_id)
               .where(ReservationLine.reservation_id.in_(sorted(reservation_ids))))
    return list(session.scalars(
        select(StockLevel.id).where(StockLevel.id.in_(held_at))
        .order_by(StockLevel.id).with_for_update()
    ))
