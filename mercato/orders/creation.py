"""Creating an order, idempotent per channel and external id: its lines priced from
the catalog or as given, its number, and (for platform orders) its stock."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from mercato.catalog.models import Variant
from mercato.catalog.service import store_currency
from mercato.db import utcnow
from mercato.errors import FieldError, ValidationFailed
from mercato.money import CURRENCIES, MAX_AMOUNT
from mercato.orders import queries, stock, timeline
from mercato.orders.models import ORDER_NUMBERS, Order, OrderLine
from mercato.orders.schemas import OrderCreate

FIRST_ORDER_NUMBER = 1001


def create_order(
    session: Session,
    data: OrderCreate,
    actor: str = "api",
    deduct_stock: bool = False,
    stock_state: str = "none",
) -> tuple[Order, bool]:
    """Create an order, or return the existing one for the same channel and external id.

    Returns (order, created). Concurrent duplicates (a webhook delivered twice at once)
    meet the unique (channel, external_id) constraint: the loser gets the winner's order.
    ``deduct_stock`` takes the order's units through the inventory service (platform
    orders; ``take_stock`` does it later for many); storefront orders took theirs in
    checkout. When the stock is not there the
    order is still created, with ``stock_state`` "short", for the caller to flag.
    """
    if data.external_id:
        existing = _by_external_id(session, data.channel, data.external_id)
        if existing is not None:
            return existing, False
    order = _build_order(session, data)
    order.stock_state = stock_state  # "committed": its units were sold before (checkout)
    try:
        with session.begin_nested():
            session.add(order)
            session.flush()
    except IntegrityError:
        existing = _by_external_id(session, data.channel, data.external_id or "")
        if existing is None:
            raise
        return existing, False
    timeline.log(
        session,
        order,
        actor,
        "created",
        f"Order #{order.number} placed on {order.channel} for "
        f"{timeline.amount_text(order.total, order.currency)}.",
    )
    timeline.publish(session, "order.created", order)
    if order.payment_status == "paid":
        timeline.publish(session, "order.paid", order)
    if deduct_stock:
        take_stock(session, [(order, actor)])
    return order, True


def take_stock(session: Session, orders: list[tuple[Order, str]]) -> None:
    """Take the units of new platform orders, (order, actor) each, all in one go
    (``stock.deduct_many``), and note on each order whether its stock was taken."""
    for (order, actor), short in zip(orders, stock.deduct_many(session, orders), strict=True):
        timeline.log(
            session,
            order,
            actor,
            "stock",
            f"Stock not taken: {short}" if short else "Stock taken.",
            stock_state=order.stock_state,
        )


def _by_external_id(session: Session, channel: str, external_id: str) -> Order | None:
    return session.scalar(
        queries.with_children(select(Order)).where(
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
        timeline=[],  # known empty: its first entry is appended without loading it
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
