"""An order's units and the stock: deducted when a platform order is imported, given back
when it is cancelled or its items come back. Storefront orders took their units in
checkout (a committed reservation), so creating them deducts nothing here.

Each step sits beside its compensation (deduct / give_back); both go through the
inventory service, so stock never goes below zero and every unit has a movement.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy import inspect, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from mercato.errors import MercatoError
from mercato.inventory import counts, reservations
from mercato.inventory.availability import InsufficientStock
from mercato.inventory.schemas import AdjustmentCreate, ReservationLineInput
from mercato.orders.models import Order


def deduct(session: Session, order: Order, actor: str) -> str | None:
    """Take the order's units as sold (channel: the order's channel, reference: its
    platform id). Returns None when deducted, else why not; nothing is deducted then."""
    [short] = deduct_many(session, [(order, actor)])
    return short


def deduct_many(session: Session, orders: Sequence[tuple[Order, str]]) -> list[str | None]:
    """``deduct`` for many (order, actor) in one ``reserve_many``: the stock levels
    locked once and read, each order's units taken or refused on their own, in turn,
    and one guarded UPDATE per stock level for them all. Called last in a transaction,
    it keeps the stock levels locked only until the commit."""
    requests: list[reservations.ReservationRequest] = []
    asking: list[int] = []
    for index, (order, actor) in enumerate(orders):
        lines = [
            ReservationLineInput(variant_id=line.variant_id, quantity=line.quantity)
            for line in order.lines
            if line.variant_id
        ]
        if lines:
            asking.append(index)
            requests.append(
                reservations.ReservationRequest(
                    lines,
                    channel=order.channel,
                    reference=order.external_id or order.id,
                    sell=True,  # a platform order: its units are sold, not held
                    actor=actor,
                )
            )
    shorts: list[str | None] = [None] * len(orders)
    states: dict[str, list[Order]] = {"short": [], "committed": []}
    for index, outcome in zip(
        asking, reservations.reserve_many(session, requests) if requests else [], strict=True
    ):
        order = orders[index][0]
        if isinstance(outcome, InsufficientStock):
            states["short"].append(order)
            shorts[index] = "; ".join(e.message for e in outcome.errors) or outcome.detail
        elif isinstance(outcome, MercatoError):
            raise outcome
        else:
            states["committed"].append(order)
    for state, marked in states.items():
        _note_stock_state(session, marked, state)
    return shorts


def _note_stock_state(session: Session, orders: list[Order], state: str) -> None:
    """One UPDATE for the orders already written (the ORM's flush of the same change
    was an UPDATE per order); those still pending get it in their insert."""
    written = {order.id for order in orders if inspect(order).persistent}
    if written:
        session.execute(
            update(Order.__table__)
            .where(Order.__table__.c.id.in_(sorted(written)))
            .values(stock_state=state)
        )
    for order in orders:
        if order.id in written:
            set_committed_value(order, "stock_state", state)
        else:
            order.stock_state = state


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
