"""Returns: the buyer sends shipped items back (at most what shipped and is not already
coming back), the merchant receives them (restocked when the return says so) and refunds
what came back through ``refunds`` (a checkout order's money goes back through its
payment provider; a refused refund leaves the return received)."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from mercato.db import transaction, utcnow
from mercato.errors import FieldError, NotFound, ValidationFailed
from mercato.orders import queries, refunds, state, stock, timeline
from mercato.orders.models import Return
from mercato.orders.schemas import RefundCreate, RefundLine, ReturnCreate


def request_return(
    session: Session, order_id: str, data: ReturnCreate, actor: str = "api"
) -> Return:
    """The buyer sends shipped items back: at most what shipped and is not already
    coming back."""
    order = queries.get_order(session, order_id)
    by_id = {line.id: line for line in order.lines}
    coming = {}
    for earlier in queries.returns_of(session, order.id):
        for item in earlier.lines:
            coming[item["line_id"]] = coming.get(item["line_id"], 0) + item["quantity"]
    errors = []
    for index, item in enumerate(data.lines):
        line = by_id.get(item.line_id)
        if line is None:
            errors.append(
                FieldError(
                    ("lines", index, "line_id"),
                    f"order #{order.number} has no line {item.line_id!r}",
                )
            )
            continue
        left = line.fulfilled_quantity - coming.get(line.id, 0)
        if item.quantity > left:
            errors.append(
                FieldError(
                    ("lines", index, "quantity"),
                    f"only {left} shipped unit(s) of {line.sku or line.title} can come back",
                )
            )
    if errors:
        raise ValidationFailed("Cannot return these lines.", errors)
    record = Return(
        order_id=order.id,
        status="requested",
        restock=data.restock,
        reason=data.reason,
        lines=[w.model_dump() for w in data.lines],
    )
    session.add(record)
    session.flush()
    timeline.changed(
        session,
        order,
        actor,
        "return_requested",
        f"Return of {sum(w.quantity for w in data.lines)} item(s) requested"
        + (f": {data.reason}" if data.reason else "."),
        "order.return_requested",
        return_id=record.id,
        lines=record.lines,
    )
    return record


def _return_of(session: Session, order_id: str, return_id: str) -> Return:
    record = session.get(Return, return_id)
    if record is None or record.order_id != order_id:
        raise NotFound(f"No return {return_id!r} on this order.")
    return record


def receive_return(session: Session, order_id: str, return_id: str, actor: str = "api") -> Return:
    """The items arrived: restock them (return movements) when the return says so."""
    order = queries.get_order(session, order_id)
    record = _return_of(session, order.id, return_id)
    if record.status != "requested":
        raise state.IllegalTransition(
            f"Return {record.id} is {record.status}; only a requested return can be received."
        )
    record.status, record.updated_at = "received", utcnow()
    restocked = (
        stock.give_back(
            session,
            order,
            {i["line_id"]: i["quantity"] for i in record.lines},
            "return",
            f"return on order #{order.number}",
            actor,
        )
        if record.restock
        else 0
    )
    timeline.changed(
        session,
        order,
        actor,
        "return_received",
        "Returned items received" + (f"; {restocked} unit(s) restocked." if restocked else "."),
        "order.return_received",
        return_id=record.id,
        restocked=restocked,
    )
    return record


def refund_return(
    sessions: sessionmaker[Session], order_id: str, return_id: str, actor: str = "api"
) -> Return:
    """Refund what came back (its lines' paid amount, ``refunds``); the platform is told.
    A checkout order's money goes back through its provider; a refused refund leaves the
    return received and is raised."""
    with transaction(sessions) as session:
        order = queries.get_order(session, order_id)
        back = _return_of(session, order.id, return_id)
        if back.status != "received":
            raise state.IllegalTransition(
                f"Return {back.id} is {back.status}; refund it once the items are received."
            )
        made = refunds.record_refund(
            session,
            order.id,
            RefundCreate(
                lines=[RefundLine(**i) for i in back.lines],
                reason=back.reason or "return",
                restock=False,
            ),
            actor,
        )
        back.status, back.refund_id, back.updated_at = "refunded", made.id, utcnow()
        due = refunds.due_of(session, made)
    if due is not None:
        refunds.raise_if_failed(refunds.finish(sessions, due, actor))
    return back
