"""An order's status changes: paid, on hold and released, cancelled (its units back
on hand, the platform told). Every change writes the timeline and an ``order.*``
event in the caller's transaction; the allowed moves are ``state``."""

from __future__ import annotations

from sqlalchemy.orm import Session

from mercato.orders import push, queries, state, stock, timeline
from mercato.orders.models import Order


def mark_paid(session: Session, order_id: str, actor: str = "api") -> Order:
    order = queries.get_order(session, order_id)
    if order.payment_status == "paid":
        return order
    order.payment_status = "paid"
    if order.status == "pending":
        state.move(order, "open")
    timeline.changed(session, order, actor, "paid", "Payment received.", "order.paid")
    return order


def hold(session: Session, order_id: str, reason: str, actor: str = "api") -> Order:
    """Put an order on hold for a person to look at (e.g. stock the platform oversold)."""
    order = queries.get_order(session, order_id)
    state.move(order, "on_hold")
    order.attention_reason = reason
    timeline.changed(
        session, order, actor, "held", f"On hold: {reason}", "order.held", reason=reason
    )
    return order


def release(session: Session, order_id: str, actor: str = "api") -> Order:
    order = queries.get_order(session, order_id)
    state.move(order, "open")
    order.attention_reason = None
    timeline.changed(session, order, actor, "released", "Released from hold.", "order.released")
    return order


def cancel(
    session: Session,
    order_id: str,
    reason: str | None = None,
    restock: bool = True,
    actor: str = "api",
    notify_platform: bool = True,
) -> Order:
    """Cancel an unshipped order; ``restock`` gives its units back (receipt movements).
    The platform is told (a push job in this transaction) unless it told us."""
    order = queries.get_order(session, order_id)
    if not state.can_cancel(order.status, order.fulfillment_status):
        if order.fulfillment_status != "unfulfilled":
            raise state.IllegalTransition(
                f"Order #{order.number} has shipped items; refund or return them instead."
            )
        state.check_transition(order.number, order.status, "cancelled")
    state.move(order, "cancelled")
    restocked = (
        stock.restock(
            session,
            order,
            {line.id: state.restockable(line) for line in order.lines},
            "receipt",
            f"order #{order.number} cancelled",
            actor,
        )
        if restock
        else 0
    )
    timeline.changed(
        session,
        order,
        actor,
        "cancelled",
        "Cancelled" + (f": {reason}" if reason else "."),
        "order.cancelled",
        reason=reason,
        restock=restock,
        restocked=restocked,
    )
    if notify_platform:
        push.enqueue(session, order, "cancel", order.id)
    return order
