"""The one order in which inventory rows are locked: stock levels by id, then the
reservations and lines that hang off them.

Every path that changes a stock level, a reservation or one of its lines first locks the
stock levels involved through these helpers (or through conditional UPDATEs issued in the
same id order). Two transactions therefore never wait on each other in opposite orders,
and PostgreSQL never has to break a deadlock. On SQLite a write transaction holds the
whole database from BEGIN IMMEDIATE, so there is nothing more to lock.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from mercato.catalog.models import Variant
from mercato.inventory.models import ReservationLine, StockLevel

_levels, _lines, _variants = StockLevel.__table__, ReservationLine.__table__, Variant.__table__

_STOCK_LEVELS = (
    select(_levels.c.id)
    .where(_levels.c.id.in_(bindparam("ids", expanding=True)))
    .order_by(_levels.c.id)
    .with_for_update()
)
_STOCK_LEVELS_OF_RESERVATIONS = (
    select(_levels.c.id)
    .where(
        _levels.c.id.in_(
            select(_lines.c.stock_level_id).where(
                _lines.c.reservation_id.in_(bindparam("ids", expanding=True))
            )
        )
    )
    .order_by(_levels.c.id)
    .with_for_update()
)

_STOCK_LEVELS_OF_VARIANTS = (
    select(_levels.c.id)
    .where(
        _levels.c.variant_id.in_(
            select(_variants.c.id).where(
                _variants.c.id.in_(bindparam("ids", expanding=True))
                | _variants.c.sku.in_(bindparam("skus", expanding=True))
            )
        )
    )
    .order_by(_levels.c.id)
    .with_for_update(of=_levels)
)


def _serialized(session: Session) -> bool:
    return session.get_bind().dialect.name == "sqlite"


def stock_levels(session: Session, ids: Collection[str]) -> None:
    """Lock the given stock levels, lowest id first."""
    if ids and not _serialized(session):
        session.execute(_STOCK_LEVELS, {"ids": sorted(ids)})


def stock_levels_of_variants(
    session: Session, variant_ids: Collection[str], skus: Collection[str]
) -> set[str] | None:
    """Lock every stock level of the variants (by id or SKU), lowest id first, before
    reading them: a read after this sees what stays true until the commit. Returns the
    ids locked (None on SQLite, where the whole database is)."""
    if _serialized(session):
        return None
    if not variant_ids and not skus:
        return set()
    return set(
        session.scalars(
            _STOCK_LEVELS_OF_VARIANTS, {"ids": sorted(set(variant_ids)), "skus": sorted(set(skus))}
        )
    )


def stock_levels_of_reservations(session: Session, reservation_ids: Collection[str]) -> None:
    """Lock every stock level the reservations hold units at, lowest id first."""
    if reservation_ids and not _serialized(session):
        session.execute(_STOCK_LEVELS_OF_RESERVATIONS, {"ids": sorted(reservation_ids)})
