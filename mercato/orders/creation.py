"""Creating orders, idempotent per channel and external id: their lines priced from
the catalog or as given, their numbers, and (for platform orders) their stock. One
order or a batch, one way (``create_orders``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from mercato.catalog.models import Product, Variant
from mercato.catalog.service import store_currency
from mercato.customers.identities import Observation
from mercato.db import insert_objects, new_id, utcnow
from mercato.errors import FieldError, ValidationFailed
from mercato.money import CURRENCIES, MAX_AMOUNT
from mercato.orders import buyers as buyers_of
from mercato.orders import queries, stock, timeline
from mercato.orders.models import ORDER_NUMBERS, Order, OrderLine
from mercato.orders.schemas import OrderCreate, OrderLineCreate

FIRST_ORDER_NUMBER = 1001


def create_order(
    session: Session,
    data: OrderCreate,
    actor: str = "api",
    deduct_stock: bool = False,
    stock_state: str = "none",
    buyer: Observation | None = None,
) -> tuple[Order, bool]:
    """Create an order, or return the existing one for the same channel and external id:
    ``create_orders`` for one, its ValidationFailed raised. Returns (order, created)."""
    [outcome] = create_orders(
        session,
        [data],
        actor,
        deduct_stock,
        stock_state,
        buyers=None if buyer is None else [buyer],
    )
    if isinstance(outcome, ValidationFailed):
        raise outcome
    return outcome


def create_orders(
    session: Session,
    items: Sequence[OrderCreate],
    actor: str = "api",
    deduct_stock: bool = False,
    stock_state: str = "none",
    external: Sequence[tuple[str | None, datetime | None]] | None = None,
    buyers: Sequence[Observation | None] | None = None,
    new: bool = False,
) -> list[tuple[Order, bool] | ValidationFailed]:
    """Create many orders, each idempotent per channel and external id; each one's
    outcome, in order: (order, created), or the ValidationFailed that refused it (which
    field of which line), the others created all the same.

    A batch costs the same few statements whatever its size: one lookup of the orders
    that exist, one read of the variants of every line, the buyers' profiles (one read
    of their identities, one insert each of new customers and identities:
    ``buyers.link``), the numbers in one statement,
    then one insert each of orders, lines, timeline entries (with their ids drawn in
    one), events and outbox entries. The same external id twice in a batch
    makes one order (the second gets it, not created). Concurrent duplicates (a webhook
    delivered twice at once) meet the unique (channel, external_id) constraint: the
    batch's savepoint is undone and each order created on its own, where the loser gets
    the winner's order.

    Each new order is linked to its buyer's profile by what it says of them, or by
    ``buyers`` (one per item) when the caller knows more (the checkout: the signed-in
    buyer).

    ``deduct_stock`` takes the orders' units through the inventory service (platform
    orders; ``take_stock`` does it later for many); storefront orders took theirs in
    checkout (``stock_state`` "committed"). When the stock is not there the order is
    still created, with ``stock_state`` "short", for the caller to flag.

    ``external``, for platform orders: each item's status and update time on its
    platform, written with its new order (not by an UPDATE of every order after).

    ``new``: the caller holds what rules out an order already made for these items (the
    checkouts being placed, locked and unpaid), so they are not looked up first; a twin
    would still meet the unique constraint, as a concurrent duplicate does.
    """
    outcomes: list[Any] = [None] * len(items)
    existing = {} if new else _by_external_ids(session, [d for d in items if d.external_id])
    first: dict[tuple[str, str], int] = {}
    later: list[int] = []  # the same external id again: once the first is written
    building: list[int] = []
    for index, data in enumerate(items):
        key = (data.channel, data.external_id) if data.external_id else None
        if key in existing:
            outcomes[index] = (existing[key], False)
        elif key in first:
            later.append(index)
        else:
            if key:
                first[key] = index
            building.append(index)
    variants = _variants_for(session, [line for i in building for line in items[i].lines])
    built: list[tuple[int, Order]] = []
    for index in building:
        try:
            order = _build_order(items[index], variants, stock_state)
            if external is not None:
                order.external_status, order.external_updated_at = external[index]
            built.append((index, order))
        except ValidationFailed as refused:
            outcomes[index] = refused
    if built:
        buyers_of.link(
            session,
            [
                (order, items[index], None if buyers is None else buyers[index])
                for index, order in built
            ],
            actor,
        )
        try:
            _insert(session, [order for _, order in built], actor)
            for index, order in built:
                outcomes[index] = (order, True)
        except IntegrityError:
            if len(built) == 1:  # a concurrent twin won: the order is theirs
                [(index, _)] = built
                twin = _by_external_ids(session, [items[index]])
                if not twin:
                    raise
                outcomes[index] = (*twin.values(), False)
            else:  # each on its own, to find which one met a twin
                for index, _ in built:
                    [outcomes[index]] = create_orders(
                        session,
                        [items[index]],
                        actor,
                        False,
                        stock_state,
                        None if external is None else [external[index]],
                        None if buyers is None else [buyers[index]],
                    )
        built = [
            (i, outcomes[i][0])
            for i, _ in built
            if isinstance(outcomes[i], tuple) and outcomes[i][1]
        ]
        if deduct_stock and built:
            take_stock(session, [(order, actor) for _, order in built])
    if later:
        again = create_orders(
            session,
            [items[i] for i in later],
            actor,
            deduct_stock,
            stock_state,
            None if external is None else [external[i] for i in later],
            None if buyers is None else [buyers[i] for i in later],
        )
        for index, outcome in zip(later, again, strict=True):
            outcomes[index] = outcome
    return outcomes


def _insert(session: Session, orders: list[Order], actor: str) -> None:
    """Number, write and announce new orders with their lines and first timeline entry,
    in a savepoint: an IntegrityError (an order written meanwhile with the same external
    id) leaves nothing written. Written as rows (``insert_objects``), not flushed."""
    for order, number in zip(orders, _next_numbers(session, len(orders)), strict=True):
        order.number = number
        set_committed_value(order, "timeline", [])
    lines = [line for order in orders for line in order.lines]
    with session.begin_nested():  # flushes what is pending first
        insert_objects(session, orders, lines)
        timeline.log_many(
            session,
            [
                (
                    order,
                    actor,
                    "created",
                    f"Order #{order.number} placed on {order.channel} for "
                    f"{timeline.amount_text(order.total, order.currency)}.",
                    {},
                )
                for order in orders
            ],
        )
    timeline.publish_many(
        session,
        [
            (event_type, order)
            for order in orders
            for event_type in ("order.created", "order.paid")
            if event_type == "order.created" or order.payment_status == "paid"
        ],
    )


def take_stock(session: Session, orders: list[tuple[Order, str]]) -> None:
    """Take the units of new platform orders, (order, actor) each, all in one go
    (``stock.deduct_many``), and note on each order whether its stock was taken (one
    insert: the stock levels stay locked until the commit)."""
    shorts = stock.deduct_many(session, orders)
    session.flush()  # nothing unwritten left in the timelines
    timeline.log_many(
        session,
        [
            (
                order,
                actor,
                "stock",
                f"Stock not taken: {short}" if short else "Stock taken.",
                {"stock_state": order.stock_state},
            )
            for (order, actor), short in zip(orders, shorts, strict=True)
        ],
    )


def _by_external_ids(session: Session, items: Sequence[OrderCreate]) -> dict[tuple, Order]:
    """The orders that exist for these items' (channel, external id), in one query."""
    wanted: dict[str, set[str]] = {}
    for data in items:
        if data.external_id:
            wanted.setdefault(data.channel, set()).add(data.external_id)
    if not wanted:
        return {}
    query = queries.with_children(select(Order)).where(
        or_(
            *(
                and_(Order.channel == channel, Order.external_id.in_(sorted(ids)))
                for channel, ids in wanted.items()
            )
        )
    )
    return {(order.channel, order.external_id): order for order in session.scalars(query)}


def _build_order(data: OrderCreate, variants: dict, stock_state: str) -> Order:
    """The order and its lines, unnumbered, or ValidationFailed with every error."""
    order_id = new_id("ord")
    errors: list[FieldError] = []
    currency = (data.currency or store_currency()).upper()
    if currency not in CURRENCIES:
        errors.append(FieldError(("currency",), f"{currency!r} is not an ISO 4217 currency"))
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
                id=new_id("oli"),
                order_id=order_id,
                position=index + 1,
                variant_id=variant.id if variant else None,
                sku=variant.sku if variant else item.sku,
                title=item.title or (variant.title if variant else ""),
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
    if subtotal + data.shipping_total + tax_total + data.duties_total > MAX_AMOUNT:
        raise ValidationFailed(
            "The order cannot be created.",
            [FieldError(("lines",), "the order's total exceeds the largest amount stored")],
        )
    total = (
        subtotal
        - discount_total
        + data.shipping_total
        + (0 if data.taxes_included else tax_total)
        + data.duties_total
    )
    attribution = data.attribution
    now = utcnow()
    return Order(
        id=order_id,
        channel=data.channel,
        external_id=data.external_id,
        status="open" if data.payment_status in ("paid", "authorized") else "pending",
        payment_status=data.payment_status,
        fulfillment_status="unfulfilled",
        currency=currency,
        subtotal=subtotal,
        discount_total=discount_total,
        discount_codes=[d.model_dump() for d in data.discount_codes],
        shipping_total=data.shipping_total,
        tax_total=tax_total,
        duties_total=data.duties_total,
        market=data.market,
        fx_rate=data.fx_rate,
        fx_date=data.fx_date,
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
        placed_at=data.placed_at or now,
        created_at=now,
        updated_at=now,
        # "committed": its units were sold before (checkout)
        stock_state=stock_state,
        lines=lines,
    )


@dataclass(frozen=True)
class _VariantFacts:
    """What an order line takes from its variant."""

    id: str
    sku: str | None
    price: int
    currency: str
    title: str  # the product's
    option_values: tuple[str, ...]


def _variants_for(session: Session, lines: Sequence[OrderLineCreate]) -> dict:
    """The lines' variants, by id and by ("sku", sku), in one query of plain rows (the
    ORM's variants with their products, in two, were 3% of a drop's server CPU)."""
    ids = {line.variant_id for line in lines if line.variant_id}
    skus = {line.sku for line in lines if line.sku and not line.variant_id}
    found: dict[Any, _VariantFacts] = {}
    if ids or skus:
        query = (
            select(
                Variant.id,
                Variant.sku,
                Variant.price,
                Variant.currency,
                Product.title,
                Variant.option1,
                Variant.option2,
                Variant.option3,
            )
            .join(Product, Product.id == Variant.product_id)
            .where(Variant.id.in_(ids) | Variant.sku.in_(skus))
        )
        for row in session.execute(query):
            options = tuple(v for v in row[5:] if v is not None)
            variant = _VariantFacts(*row[:5], options)
            found[variant.id] = variant
            found[("sku", variant.sku)] = variant
    return found


def _next_numbers(session: Session, count: int) -> list[int]:
    """``count`` new order numbers, increasing, in one statement."""
    if session.get_bind().dialect.name == "postgresql":
        series = func.generate_series(1, count).table_valued("n")
        return sorted(session.scalars(select(ORDER_NUMBERS.next_value()).select_from(series)))
    # SQLite: writers are serialized (BEGIN IMMEDIATE), so max + 1 cannot race.
    last = session.scalar(select(func.max(Order.number))) or FIRST_ORDER_NUMBER - 1
    return list(range(last + 1, last + 1 + count))
