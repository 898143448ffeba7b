"""Order rules: creation (idempotent per channel and external id), the status machine,
fulfilments and refunds. Every change writes the timeline and an ``order.*`` event in the
caller's transaction."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from mercato import events
from mercato.catalog.models import Variant
from mercato.catalog.service import store_currency
from mercato.channels.models import Channel
from mercato.db import utcnow
from mercato.errors import Conflict, FieldError, MercatoError, NotFound, ValidationFailed
from mercato.money import CURRENCIES, MAX_AMOUNT, format_plain
from mercato.orders import push, state, stock
from mercato.orders.models import (
    ORDER_NUMBERS,
    Fulfillment,
    Order,
    OrderActivity,
    OrderLine,
    Refund,
    Return,
)
from mercato.orders.schemas import (
    FulfillmentCreate,
    LineQuantity,
    OrderChanged,
    OrderCreate,
    RefundCreate,
    RefundLine,
    ReturnCreate,
    TrackingUpdate,
)
from mercato.pagination import decode_cursor, encode_cursor

MAX_PAGE_SIZE = 250
FIRST_ORDER_NUMBER = 1001


def _with_children(query):
    return query.options(selectinload(Order.lines), selectinload(Order.timeline))


# ---------------------------------------------------------------- reading


def get_order(session: Session, order_id: str) -> Order:
    order = session.scalar(_with_children(select(Order)).where(Order.id == order_id))
    if order is None:
        raise NotFound(f"No order with id {order_id!r}.")
    return order


def find_order(session: Session, reference: str) -> Order:
    """An order by id or by number ("1001" or "#1001")."""
    number = reference.lstrip("#")
    if number.isdigit():
        order = session.scalar(_with_children(select(Order)).where(Order.number == int(number)))
        if order is not None:
            return order
    return get_order(session, reference)


def fulfillments_of(session: Session, order_id: str) -> list[Fulfillment]:
    return list(
        session.scalars(
            select(Fulfillment)
            .where(Fulfillment.order_id == order_id)
            .order_by(Fulfillment.created_at, Fulfillment.id)
        )
    )


def refunds_of(session: Session, order_id: str) -> list[Refund]:
    return list(
        session.scalars(
            select(Refund).where(Refund.order_id == order_id).order_by(Refund.created_at, Refund.id)
        )
    )


@dataclass
class OrderFilters:
    status: str | None = None
    channel: str | None = None
    placed_since: datetime | None = None
    placed_before: datetime | None = None
    q: str | None = None


@dataclass
class OrderPageResult:
    items: list[Order]
    next_cursor: str | None


def list_orders(
    session: Session, filters: OrderFilters, cursor: str | None = None, limit: int = 50
) -> OrderPageResult:
    """Newest first."""
    limit = max(1, min(limit, MAX_PAGE_SIZE))
    query = _with_children(select(Order)).order_by(Order.id.desc()).limit(limit + 1)
    if filters.status:
        query = query.where(Order.status == filters.status)
    if filters.channel:
        query = query.where(Order.channel.in_(_channels_named(session, filters.channel)))
    if filters.placed_since:
        query = query.where(Order.placed_at >= filters.placed_since)
    if filters.placed_before:
        query = query.where(Order.placed_at < filters.placed_before)
    if filters.q:
        text = filters.q.strip().lstrip("#")
        pattern = f"%{text}%"
        conditions = [
            Order.customer_email.ilike(pattern),
            Order.customer_name.ilike(pattern),
            Order.external_id == text,
        ]
        if text.isdigit():
            conditions.append(Order.number == int(text))
        query = query.where(or_(*conditions))
    if cursor:
        query = query.where(Order.id < decode_cursor(cursor))
    orders = list(session.scalars(query))
    more = len(orders) > limit
    orders = orders[:limit]
    return OrderPageResult(orders, encode_cursor(orders[-1].id) if more and orders else None)


def _channels_named(session: Session, value: str) -> list[str]:
    """What an order's channel may be for a filter: the value itself (an id, storefront,
    manual), or the connected channels with that name or of that kind (e.g. tiktok)."""
    value = value.strip()
    ids = session.scalars(
        select(Channel.id).where(
            or_(
                Channel.id == value,
                func.lower(Channel.name) == value.lower(),
                func.lower(Channel.kind) == value.lower(),
            )
        )
    )
    return [value, *ids]


def channel_names(session: Session, channels: Iterable[str]) -> dict[str, str]:
    """Each order channel as the merchant calls it: a connected channel's name, else the
    value itself (storefront, manual)."""
    wanted = set(channels)
    named = dict(
        session.execute(select(Channel.id, Channel.name).where(Channel.id.in_(wanted))).all()
        if wanted
        else []
    )
    return {channel: named.get(channel, channel) for channel in wanted}


# ---------------------------------------------------------------- creating


def create_order(
    session: Session, data: OrderCreate, actor: str = "api", take_stock: bool = False
) -> tuple[Order, bool]:
    """Create an order, or return the existing one for the same channel and external id.

    Returns (order, created). Concurrent duplicates (a webhook delivered twice at once)
    meet the unique (channel, external_id) constraint: the loser gets the winner's order.
    ``take_stock`` commits the order's units through the inventory service (platform
    orders); storefront orders took theirs in checkout. When the stock is not there the
    order is still created, with ``stock_state`` "short", for the caller to flag.
    """
    if data.external_id:
        existing = _by_external_id(session, data.channel, data.external_id)
        if existing is not None:
            return existing, False
    order = _build_order(session, data)
    try:
        with session.begin_nested():
            session.add(order)
            session.flush()
    except IntegrityError:
        existing = _by_external_id(session, data.channel, data.external_id or "")
        if existing is None:
            raise
        return existing, False
    _log(
        session,
        order,
        actor,
        "created",
        f"Order #{order.number} placed on {order.channel} for "
        f"{_amount(order.total, order.currency)}.",
    )
    _record(session, "order.created", order)
    if order.payment_status == "paid":
        _record(session, "order.paid", order)
    if take_stock:
        short = stock.take(session, order, actor)
        _log(
            session,
            order,
            actor,
            "stock",
            f"Stock not taken: {short}" if short else "Stock taken.",
            stock_state=order.stock_state,
        )
    return order, True


def _by_external_id(session: Session, channel: str, external_id: str) -> Order | None:
    return session.scalar(
        _with_children(select(Order)).where(
            Order.channel == channel, Order.external_id == external_id
        )
    )


def _build_order(session: Session, data: OrderCreate) -> Order:
    errors: list[FieldError] = []
    currency = (data.currency or store_currency()).upper()
    if currency not in CURRENCIES:
        errors.append(FieldError(("currency",), f"{currency!r} is not an ISO 4217 currency"))
    variants = _variants_for(session, data.lines)
    lines = []
    for index, item in enumerate(data.lines):
        loc = ("lines", index)
        variant = variants.get(item.variant_id) or variants.get(("sku", item.sku))
        if (item.variant_id or item.sku) and variant is None:
            field = "variant_id" if item.variant_id else "sku"
            errors.append(FieldError((*loc, field), f"no variant {item.variant_id or item.sku!r}"))
            continue
        unit_price = item.unit_price
        if unit_price is None:
            if variant.currency != currency:
                errors.append(
                    FieldError(
                        (*loc, "unit_price"),
                        f"the variant is priced in "
                        f"{variant.currency}, the order in {currency}: give "
                        "the unit price",
                    )
                )
                continue
            unit_price = variant.price
        gross = unit_price * item.quantity
        if item.discount > gross:
            errors.append(FieldError((*loc, "discount"), "discount exceeds the line's price"))
        total = gross - item.discount + (0 if data.taxes_included else item.tax)
        lines.append(
            OrderLine(
                position=index + 1,
                variant_id=variant.id if variant else None,
                sku=variant.sku if variant else item.sku,
                title=item.title or (variant.product.title if variant else ""),
                variant_title=" / ".join(variant.option_values)
                if variant and variant.option_values
                else None,
                external_id=item.external_id,
                quantity=item.quantity,
                unit_price=unit_price,
                discount=item.discount,
                tax=item.tax,
                total=total,
            )
        )
    if errors:
        raise ValidationFailed("The order cannot be created.", errors)

    subtotal = sum(line.unit_price * line.quantity for line in lines)
    discount_total = sum(line.discount for line in lines)
    tax_total = sum(line.tax for line in lines)
    if subtotal + data.shipping_total + tax_total > MAX_AMOUNT:
        raise ValidationFailed(
            "The order cannot be created.",
            [FieldError(("lines",), "the order's total exceeds the largest amount stored")],
        )
    total = (
        subtotal - discount_total + data.shipping_total + (0 if data.taxes_included else tax_total)
    )
    attribution = data.attribution
    return Order(
        number=_next_number(session),
        channel=data.channel,
        external_id=data.external_id,
        status="open" if data.payment_status in ("paid", "authorized") else "pending",
        payment_status=data.payment_status,
        fulfillment_status="unfulfilled",
        currency=currency,
        subtotal=subtotal,
        discount_total=discount_total,
        shipping_total=data.shipping_total,
        tax_total=tax_total,
        taxes_included=data.taxes_included,
        total=total,
        customer_name=data.customer.name,
        customer_email=data.customer.email,
        customer_phone=data.customer.phone,
        shipping_address=data.shipping_address.model_dump() if data.shipping_address else None,
        billing_address=data.billing_address.model_dump() if data.billing_address else None,
        source=attribution.source,
        campaign=attribution.campaign,
        content_id=attribution.content_id,
        creator=attribution.creator,
        attribution=attribution.model_dump(exclude_none=True),
        note=data.note,
        placed_at=data.placed_at or utcnow(),
        lines=lines,
    )


def _variants_for(session: Session, lines) -> dict:
    ids = {line.variant_id for line in lines if line.variant_id}
    skus = {line.sku for line in lines if line.sku and not line.variant_id}
    found: dict[Any, Variant] = {}
    if ids or skus:
        query = select(Variant).options(selectinload(Variant.product))
        for variant in session.scalars(query.where(Variant.id.in_(ids) | Variant.sku.in_(skus))):
            found[variant.id] = variant
            found[("sku", variant.sku)] = variant
    return found


def _next_number(session: Session) -> int:
    if session.get_bind().dialect.name == "postgresql":
        return session.scalar(ORDER_NUMBERS.next_value())
    # SQLite: writers are serialized (BEGIN IMMEDIATE), so max + 1 cannot race.
    last = session.scalar(select(func.max(Order.number)))
    return (last or FIRST_ORDER_NUMBER - 1) + 1


# ---------------------------------------------------------------- changing


def mark_paid(session: Session, order_id: str, actor: str = "api") -> Order:
    order = get_order(session, order_id)
    if order.payment_status == "paid":
        return order
    order.payment_status = "paid"
    if order.status == "pending":
        _move(order, "open")
    _changed(session, order, actor, "paid", "Payment received.", "order.paid")
    return order


def hold(session: Session, order_id: str, reason: str, actor: str = "api") -> Order:
    """Put an order on hold for a person to look at (e.g. stock the platform oversold)."""
    order = get_order(session, order_id)
    _move(order, "on_hold")
    order.attention_reason = reason
    _changed(session, order, actor, "held", f"On hold: {reason}", "order.held", reason=reason)
    return order


def release(session: Session, order_id: str, actor: str = "api") -> Order:
    order = get_order(session, order_id)
    _move(order, "open")
    order.attention_reason = None
    _changed(session, order, actor, "released", "Released from hold.", "order.released")
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
    order = get_order(session, order_id)
    if not state.can_cancel(order.status, order.fulfillment_status):
        if order.fulfillment_status != "unfulfilled":
            raise state.IllegalTransition(
                f"Order #{order.number} has shipped items; refund or return them instead."
            )
        state.check_transition(order.number, order.status, "cancelled")
    _move(order, "cancelled")
    restocked = (
        _restock(
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
    _changed(
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


def fulfil(
    session: Session, order_id: str, data: FulfillmentCreate, actor: str = "api"
) -> Fulfillment:
    """Ship some or all unfulfilled items; the order completes when everything has shipped."""
    order = get_order(session, order_id)
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
        _check_quantities(order, wanted, state.shippable, "fulfil", "lines")
    except ValidationFailed as exc:
        errors = exc.errors
    if not (data.carrier or "").strip():
        errors.append(FieldError(("carrier",), "name the carrier (e.g. UPS, or hand delivery)"))
    if errors:
        raise ValidationFailed("Cannot fulfil these lines.", errors)
    _count(order, wanted, "fulfilled_quantity")
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
    _changed(
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
        _move(order, "completed")
        _changed(session, order, actor, "completed", "All items shipped.", "order.completed")
    push.enqueue(session, order, "ship", fulfillment.id)
    return fulfillment


@dataclass
class BulkOutcome:
    verb: str
    done: int
    refused: list[str]
    refund_ids: list[str] = field(default_factory=list)


# How a refund is made: ``refund``, or a payment's saga around it.
RefundMaker = Callable[[Session, str, RefundCreate, str], Refund]
BULK_ACTIONS = {"fulfil": "fulfilled", "cancel": "cancelled", "refund": "refunded"}


def bulk_action(
    session: Session,
    order_ids: Sequence[str],
    action: str,
    *,
    carrier: str | None = None,
    actor: str = "api",
    refund_with: RefundMaker | None = None,
) -> BulkOutcome:
    """Fulfil (all that is left, with ``carrier``), cancel (restocking) or refund (all
    that remains, by ``refund_with``, default ``refund``) each order in its own
    savepoint: a refused order is left as it was and named with the reason; the others
    go ahead."""
    if action not in BULK_ACTIONS:
        raise ValidationFailed(
            "Choose what to do with the selected orders.",
            [FieldError(("action",), f"one of {', '.join(BULK_ACTIONS)}")],
        )
    if not order_ids:
        raise ValidationFailed(
            "Select at least one order.", [FieldError(("order_id",), "none selected")]
        )
    outcome = BulkOutcome(BULK_ACTIONS[action], 0, [])
    for order_id in order_ids:
        try:
            with session.begin_nested():
                if action == "fulfil":
                    fulfil(session, order_id, FulfillmentCreate(carrier=carrier), actor)
                elif action == "cancel":
                    cancel(session, order_id, "bulk cancel", True, actor)
                else:
                    made = (refund_with or refund)(
                        session, order_id, RefundCreate(restock=True), actor
                    )
                    outcome.refund_ids.append(made.id)
            outcome.done += 1
        except MercatoError as exc:
            order = session.get(Order, order_id)
            name = f"#{order.number}" if order else order_id
            details = "; ".join(e.message for e in exc.errors)
            outcome.refused.append(f"{name}: {exc.detail} {details}".strip())
    return outcome


def update_tracking(
    session: Session, order_id: str, fulfillment_id: str, data: TrackingUpdate, actor: str = "api"
) -> Fulfillment:
    """Add or correct a shipment's carrier and tracking; the platform is told."""
    order = get_order(session, order_id)
    record = session.get(Fulfillment, fulfillment_id)
    if record is None or record.order_id != order.id:
        raise NotFound(f"No shipment {fulfillment_id!r} on order #{order.number}.")
    had = record.tracking_number
    record.carrier, record.tracking_number = data.carrier, data.tracking_number
    record.tracking_url = data.tracking_url
    _changed(
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


def refund(
    session: Session,
    order_id: str,
    data: RefundCreate,
    actor: str = "api",
    notify_platform: bool = True,
    payment_id: str | None = None,
) -> Refund:
    """Refund lines (their paid amount), an amount, or everything that remains. With
    ``restock``, refunded lines' units go back on hand (return movements).

    With ``payment_id`` (an order paid through Mercato's checkout) the refund is only
    recorded, as pending: its units are held against a second refund, and the rest (the
    refunded total, restocking, closing the order, the buyer's mail) waits for the
    provider's answer, given to ``refund_succeeded`` or ``refund_failed``."""
    order = session.scalar(
        _with_children(select(Order)).where(Order.id == order_id).with_for_update()
    )
    if order is None:
        raise NotFound(f"No order with id {order_id!r}.")
    if order.payment_status not in ("paid", "partially_refunded"):
        raise Conflict(
            f"Order #{order.number} is not paid ({order.payment_status}); nothing to refund."
        )
    remaining = order.total - order.refunded_total - pending_refunds(session, order.id)
    lines = data.lines
    if not lines and data.amount is None:  # everything that remains, line by line
        lines = [
            RefundLine(line_id=line.id, quantity=line.quantity - line.refunded_quantity)
            for line in order.lines
            if line.quantity > line.refunded_quantity
        ]
    by_id = {line.id: line for line in order.lines}
    # Everything is checked before anything changes: a refusal leaves the order as it was.
    _check_quantities(
        order, lines or [], lambda line: line.quantity - line.refunded_quantity, "refund", "lines"
    )
    if data.lines:
        amount = sum(_line_share(by_id[w.line_id], w.quantity) for w in data.lines)
    elif data.amount is not None:
        amount = data.amount
    else:
        amount = remaining
    if data.shipping and (data.lines or data.amount is not None):
        amount += order.shipping_total
    if amount <= 0 or amount > remaining:
        raise ValidationFailed(
            "The refund amount is not possible.",
            [
                FieldError(
                    ("amount",),
                    f"{_amount(amount, order.currency)} exceeds what remains "
                    f"refundable ({_amount(remaining, order.currency)})",
                )
            ],
        )
    _count(order, lines or [], "refunded_quantity")
    record = Refund(
        order_id=order.id,
        amount=amount,
        currency=order.currency,
        reason=data.reason,
        status="pending" if payment_id else "refunded",
        payment_id=payment_id,
        lines=[
            {
                "line_id": w.line_id,
                "quantity": w.quantity,
                "restock": data.restock if w.restock is None else w.restock,
            }
            for w in lines or []
        ],
    )
    session.add(record)
    session.flush()
    if payment_id:
        _log(
            session,
            order,
            actor,
            "refund_pending",
            f"Refund of {_amount(amount, order.currency)} sent to the payment provider.",
            refund_id=record.id,
        )
        return record
    _refunded(session, order, record, actor)
    if notify_platform:
        push.enqueue(session, order, "refund", record.id)
    return record


def pending_refunds(session: Session, order_id: str) -> int:
    """What refunds still waiting for the provider hold of the order's paid total."""
    # int(): PostgreSQL sums bigints as numeric.
    return int(
        session.scalar(
            select(func.coalesce(func.sum(Refund.amount), 0)).where(
                Refund.order_id == order_id, Refund.status == "pending"
            )
        )
    )


def refund_succeeded(
    session: Session, refund_id: str, provider_ref: str, actor: str = "api"
) -> Refund:
    """The provider returned the money: the refund now counts (once)."""
    record, order = _pending_refund(session, refund_id)
    if record.status == "pending":
        record.status, record.provider_ref, record.updated_at = "refunded", provider_ref, utcnow()
        _refunded(session, order, record, actor)
    return record


def refund_failed(session: Session, refund_id: str, reason: str, actor: str = "api") -> Refund:
    """The provider refused: nothing was returned, the units it held are free again and
    the merchant reads why on the order."""
    record, order = _pending_refund(session, refund_id)
    if record.status != "pending":
        return record
    record.status, record.failure_message, record.updated_at = "failed", reason, utcnow()
    by_id = {line.id: line for line in order.lines}
    for item in record.lines:
        by_id[item["line_id"]].refunded_quantity -= item["quantity"]
    for back in session.scalars(select(Return).where(Return.refund_id == record.id)):
        back.status, back.refund_id, back.updated_at = "received", None, utcnow()
    _changed(
        session,
        order,
        actor,
        "refund_failed",
        f"Refund of {_amount(record.amount, record.currency)} failed: {reason}",
        "order.refund_failed",
        refund_id=record.id,
        amount=record.amount,
        reason=reason,
    )
    return record


def _pending_refund(session: Session, refund_id: str) -> tuple[Refund, Order]:
    record = session.get(Refund, refund_id, with_for_update=True)
    if record is None:
        raise NotFound(f"No refund {refund_id!r}.")
    order = session.scalar(
        _with_children(select(Order)).where(Order.id == record.order_id).with_for_update()
    )
    session.refresh(record)
    return record, order


def _refunded(session: Session, order: Order, record: Refund, actor: str) -> None:
    """The money of ``record`` is back with the buyer: count it, restock what the merchant
    chose, close a fully refunded order, and say so (the buyer's mail follows the event)."""
    by_id = {line.id: line for line in order.lines}
    restock_now = {
        item["line_id"]: min(item["quantity"], state.restockable(by_id[item["line_id"]]))
        for item in record.lines
        if item.get("restock")
    }
    record.restock = bool(restock_now)
    order.refunded_total += record.amount
    order.payment_status = state.payment_status_after_refund(order.total, order.refunded_total)
    restocked = _restock(
        session, order, restock_now, "return", f"order #{order.number} refunded", actor
    )
    _changed(
        session,
        order,
        actor,
        "refunded",
        f"Refunded {_amount(record.amount, order.currency)}"
        + (f": {record.reason}" if record.reason else "."),
        "order.refunded",
        refund_id=record.id,
        amount=record.amount,
        lines=record.lines,
        restock=bool(restock_now),
        restocked=restocked,
    )
    if order.payment_status == "refunded" and order.status in ("open", "on_hold"):
        closed = state.closed_by_refund(order.fulfillment_status)
        _move(order, closed)
        _changed(session, order, actor, closed, "Fully refunded: order closed.", f"order.{closed}")


# ---------------------------------------------------------------- returns


def returns_of(session: Session, order_id: str) -> list[Return]:
    return list(
        session.scalars(
            select(Return).where(Return.order_id == order_id).order_by(Return.created_at, Return.id)
        )
    )


def request_return(
    session: Session, order_id: str, data: ReturnCreate, actor: str = "api"
) -> Return:
    """The buyer sends shipped items back: at most what shipped and is not already
    coming back."""
    order = get_order(session, order_id)
    by_id = {line.id: line for line in order.lines}
    coming = {}
    for earlier in returns_of(session, order.id):
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
    _changed(
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
    order = get_order(session, order_id)
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
    _changed(
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
    session: Session,
    order_id: str,
    return_id: str,
    actor: str = "api",
    refund_with: RefundMaker | None = None,
) -> tuple[Return, Refund]:
    """Refund what came back (its lines' paid amount, by ``refund_with``, default
    ``refund``); the platform is told."""
    order = get_order(session, order_id)
    record = _return_of(session, order.id, return_id)
    if record.status != "received":
        raise state.IllegalTransition(
            f"Return {record.id} is {record.status}; refund it once the items are received."
        )
    made = (refund_with or refund)(
        session,
        order.id,
        RefundCreate(
            lines=[RefundLine(**i) for i in record.lines],
            reason=record.reason or "return",
            restock=False,
        ),
        actor,
    )
    record.status, record.refund_id, record.updated_at = "refunded", made.id, utcnow()
    return record, made


def _line_share(line: OrderLine, quantity: int) -> int:
    """What the buyer paid for ``quantity`` units of a line (discount and tax spread)."""
    return line.total * quantity // line.quantity


def _check_quantities(
    order: Order,
    wanted: Sequence[LineQuantity],
    left_of: Callable[[OrderLine], int],
    verb: str,
    field: str,
) -> None:
    """Refuse more than a line has left to ship or refund (a line named twice counts
    once with both quantities)."""
    by_id = {line.id: line for line in order.lines}
    asked: dict[str, int] = {}
    errors = []
    for index, item in enumerate(wanted):
        line = by_id.get(item.line_id)
        if line is None:
            errors.append(
                FieldError(
                    (field, index, "line_id"), f"order #{order.number} has no line {item.line_id!r}"
                )
            )
            continue
        asked[line.id] = asked.get(line.id, 0) + item.quantity
        left = left_of(line)
        if asked[line.id] > left:
            errors.append(
                FieldError(
                    (field, index, "quantity"),
                    f"only {left} of {line.sku or line.title} left to {verb}",
                )
            )
    if errors:
        raise ValidationFailed(f"Cannot {verb} these lines.", errors)


def _count(order: Order, wanted: Sequence[LineQuantity], counter: str) -> None:
    by_id = {line.id: line for line in order.lines}
    for item in wanted:
        line = by_id[item.line_id]
        setattr(line, counter, getattr(line, counter) + item.quantity)


def _restock(
    session: Session, order: Order, units: dict[str, int], kind: str, reason: str, actor: str
) -> int:
    """Put unshipped units back on hand and count them on their lines."""
    given = stock.give_back(session, order, units, kind, reason, actor)
    if given:
        for line in order.lines:
            line.restocked_quantity += units.get(line.id, 0)
    return given


def _move(order: Order, to_status: str) -> None:
    state.check_transition(order.number, order.status, to_status)
    order.status = to_status


def _changed(
    session: Session, order: Order, actor: str, kind: str, message: str, event_type: str, **detail
) -> None:
    order.updated_at = utcnow()
    _log(session, order, actor, kind, message, **detail)
    _record(session, event_type, order, **detail)


def _log(session: Session, order: Order, actor: str, kind: str, message: str, **data) -> None:
    order.timeline.append(
        OrderActivity(
            at=utcnow(),
            actor=actor,
            kind=kind,
            message=message,
            data={k: v for k, v in data.items() if v is not None},
        )
    )


def _record(session: Session, event_type: str, order: Order, **detail) -> None:
    events.record(
        session,
        event_type,
        OrderChanged(
            order_id=order.id,
            number=order.number,
            channel=order.channel,
            external_id=order.external_id,
            status=order.status,
            payment_status=order.payment_status,
            fulfillment_status=order.fulfillment_status,
            total=order.total,
            currency=order.currency,
            detail={k: v for k, v in detail.items() if v is not None},
        ),
        key=order.id,
    )


def _amount(minor: int, currency: str) -> str:
    return f"{format_plain(minor, currency)} {currency}"


# ---------------------------------------------------------------- figures


@dataclass
class ChannelSales:
    channel: str
    currency: str
    orders: int
    total: int


def sales_by_channel(session: Session, since: datetime) -> list[ChannelSales]:
    """Orders and sales per channel and currency since a moment (cancelled ones left out)."""
    rows = session.execute(
        select(Order.channel, Order.currency, func.count(), func.sum(Order.total))
        .where(Order.placed_at >= since, Order.status != "cancelled")
        .group_by(Order.channel, Order.currency)
        .order_by(func.sum(Order.total).desc())
    ).all()
    return [
        ChannelSales(channel, currency, count, int(total or 0))
        for channel, currency, count, total in rows
    ]


def orders_per_minute(session: Session, since: datetime, until: datetime) -> list[int]:
    """Orders placed in each whole minute from ``since`` to ``until`` (oldest first)."""
    minutes = max(1, int((until - since).total_seconds() // 60))
    counts = [0] * minutes
    placed = session.scalars(
        select(Order.placed_at).where(Order.placed_at >= since, Order.placed_at < until)
    )
    for at in placed:
        index = int((at - since).total_seconds() // 60)
        if 0 <= index < minutes:
            counts[index] += 1
    return counts
