"""An order's units and the stock: deducted when a platform order is imported, given back
when it is cancelled or its items come back. Storefront orders took their units in
checkout (a committed reservation), so creating them deducts nothing here.

Each step sits beside its compensation (deduct / give_back); both go through the
inventory service, so stock never goes below zero and every unit has a movement.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

from sqlalchemy.orm import Session

from mercato.inventory import availability, counts, lock_objects, reservations
from mercato.inventory.availability import InsufficientStock
from mercato.inventory.schemas import AdjustmentCreate, ReservationLineInput
from mercato.orders.models import Order


def lock_skus(session: Session, skus: Collection[str]) -> None:
    """Lock every stock level of these SKUs, lowest id first (``inventory.lock_objects``):
    a transaction that takes stock for many orders holds from the start every level it
    may need, so two such transactions never wait on each other in opposite orders."""
    if skus:
        stocks = availability.read_stock(session, skus=skus)
        lock_objects.stock_levels(
            session, [level.id for found in stocks.values() for level in found.levels]
        )


def deduct(session: Session, order: Order, actor: str) -> str | None:
    """Reserve and commit the order's units (channel: the order's channel, reference: its
    platform id). Returns None when deducted, else why not; nothing is deducted then."""
    lines = [
        ReservationLineInput(variant_id=line.variant_id, quantity=line.quantity)
        for line in order.lines
        if line.variant_id
    ]
    if not lines:
        return None
    try:
        with session.begin_nested():
            held = reservations.reserve(
                session,
                lines,
                channel=order.channel,
                reference=order.external_id or order.id,
                actor=actor,
            )
            reservations.commit(session, held.id, actor=actor)
    except InsufficientStock as exc:
        order.stock_state = "short"
        short = [f"{e.message}" for e in exc.errors] or [exc.detail]
        return "; ".join(short)
    order.stock_state = "committed"
    return None


def give_back(
    session: Session,
    order: Order,
    quantities: Mapping[str, int],
    kind: str,
    reason: str,
    actor: str,
) -> int:
    """Put units of the order's lines (line id -> units) back on hand as ``kind``
    ("receipt" for a cancellation, "return" for items sent back). Only orders whose units
    this module took are restocked. Returns the units given back."""
    if order.stock_state != "committed":
        return 0
    by_id = {line.id: line for line in order.lines}
    given = 0
    for line_id, units in sorted(quantities.items()):
        line = by_id.get(line_id)
        if line is None or line.variant_id is None or units <= 0:
            continue
        counts.adjust(
            session,
            AdjustmentCreate(
                variant_id=line.variant_id,
                quantity=units,
                kind=kind,
                reason=reason,
                reference=order.id,
            ),
            actor=actor,
        )
        given += units
    return given


def restock(
    session: Session, order: Order, units: Mapping[str, int], kind: str, reason: str, actor: str
) -> int:
    """Put unshipped units back on hand (``give_back``) and count them on their lines."""
    given = give_back(session, order, units, kind, reason, actor)
    if given:
        for line in order.lines:
            line.restocked_quantity += units.get(line.id, 0)
    return given
