"""Shipping an order's items (fulfilments, some or all of what is left; the order
completes when everything has shipped) and correcting their tracking. The
platform is told of each (a push job in the caller's transaction)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from mercato.errors import Conflict, FieldError, NotFound, ValidationFailed
from mercato.orders import push, quantities, queries, state, timeline
from mercato.orders.models import Fulfillment
from mercato.orders.schemas import FulfillmentCreate, LineQuantity, TrackingUpdate


def fulfil(
    session: Session, order_id: str, data: FulfillmentCreate, actor: str = "api"
) -> Fulfillment:
    """Ship some or all unfulfilled items; the order completes when everything has shipped."""
    order = queries.get_order(session, order_id)
    if not state.can_fulfil(order.status, order.payment_status):
        why = (
            "is fully refunded; there is nothing to ship"
            if order.payment_status == "refunded"
            else f"is {order.status}; only open orders can be fulfilled"
        )
        raise state.IllegalTransition(f"Order #{order.number} {why}.")
    wanted = data.lines or [
        LineQuantity(line_id=line.id, quantity=state.shippable(line))
        for line in order.lines
        if state.shippable(line)
    ]
    if not wanted:
        raise Conflict(f"Order #{order.number} has nothing left to fulfil.")
    errors = []
    try:
        quantities.check(order, wanted, state.shippable, "fulfil", "lines")
    except ValidationFailed as exc:
        errors = exc.errors
    if not (data.carrier or "").strip():
        errors.append(FieldError(("carrier",), "name the carrier (e.g. UPS, or hand delivery)"))
    if errors:
        raise ValidationFailed("Cannot fulfil these lines.", errors)
    quantities.count(order, wanted, "fulfilled_quantity")
    fulfillment = Fulfillment(
        order_id=order.id,
        carrier=data.carrier,
        tracking_number=data.tracking_number,
        tracking_url=data.tracking_url,
        lines=[w.model_dump() for w in wanted],
    )
    session.add(fulfillment)
    session.flush()
    order.fulfillment_status = state.fulfillment_status_of(order.lines)
    done = order.fulfillment_status == "fulfilled"
    shipped = sum(w.quantity for w in wanted)
    tracking = (
        f" with {data.carrier or 'tracking'} {data.tracking_number}" if data.tracking_number else ""
    )
    timeline.changed(
        session,
        order,
        actor,
        "fulfilled",
        f"{shipped} item(s) shipped{tracking}.",
        "order.fulfilled",
        fulfillment_id=fulfillment.id,
        carrier=data.carrier,
        tracking_number=data.tracking_number,
        lines=fulfillment.lines,
    )
    if done:
        state.move(order, "completed")
        timeline.changed(
            session, order, actor, "completed", "All items shipped.", "order.completed"
        )
    push.enqueue(session, order, "ship", fulfillment.id)
    return fulfillment


def update_tracking(
    session: Session, order_id: str, fulfillment_id: str, data: TrackingUpdate, actor: str = "api"
) -> Fulfillment:
    """Add or correct a shipment's carrier and tracking; the platform is told."""
    order = queries.get_order(session, order_id)
    record = session.get(Fulfillment, fulfillment_id)
    if record is None or record.order_id != order.id:
        raise NotFound(f"No shipment {fulfillment_id!r} on order #{order.number}.")
    had = record.tracking_number
    record.carrier, record.tracking_number = data.carrier, data.tracking_number
    record.tracking_url = data.tracking_url
    timeline.changed(
        session,
        order,
        actor,
        "tracking",
        f"Tracking {'corrected' if had else 'added'}: "
        + " ".join(filter(None, (data.carrier, data.tracking_number)))
        + ".",
        "order.tracking_updated",
        fulfillment_id=record.id,
        carrier=data.carrier,
        tracking_number=data.tracking_number,
        tracking_url=data.tracking_url,
    )
    session.flush()
    # Each correction is its own push (its own idempotency key at the platform).
    push.enqueue(session, order, "tracking", f"{record.id}:{len(order.timeline)}")
    return record
