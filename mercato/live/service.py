"""Live events: scheduled -> live -> ended; products in running order, one pinned at a
time with an optional live-only price; the stock of its products ring-fenced per
channel (``inventory.pools``). Every change is a moment of the event (for analytics) and
an event in the outbox, in the same transaction; sales are recorded as they are handed
over (``on_orders``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mercato import events
from mercato.catalog.models import Product, Variant
from mercato.catalog.service import store_currency
from mercato.db import utcnow
from mercato.errors import Conflict, FieldError, NotFound, RateLimited, ValidationFailed
from mercato.inventory import pools as inventory_pools
from mercato.inventory.availability import as_of, read_stock
from mercato.live import gate
from mercato.live.models import GateCounter, LiveEvent, LiveMoment, LivePlatform, LiveProduct
from mercato.live.schemas import (
    CountersPublic,
    LiveEventCreate,
    MoveInput,
    PinInput,
    PoolPublic,
    PoolsInput,
    ProductPublic,
    StockPublic,
    VariantRef,
)
from mercato.orders.models import Order, OrderLine

NEXT_STATES = {"scheduled": ("live", "ended"), "live": ("ended",), "ended": ()}


# ---------------------------------------------------------------- reading


def get_event(session: Session, event_id: str) -> LiveEvent:
    event = session.get(LiveEvent, event_id)
    if event is None:
        raise NotFound(f"No live event {event_id!r}.")
    return event


def list_events(session: Session, state: str | None = None, limit: int = 100) -> list[LiveEvent]:
    query = select(LiveEvent).order_by(LiveEvent.created_at.desc(), LiveEvent.id).limit(limit)
    if state:
        query = query.where(LiveEvent.state == state)
    return list(session.scalars(query))


def products_of(session: Session, event: LiveEvent) -> list[ProductPublic]:
    ids = [p.variant_id for p in event.products]
    if not ids:
        return []
    rows = {
        row.id: row
        for row in session.execute(
            select(Variant.id, Variant.sku, Variant.price, Product.title)
            .join(Product, Product.id == Variant.product_id)
            .where(Variant.id.in_(ids))
        )
    }
    return [
        ProductPublic(
            variant_id=p.variant_id,
            sku=rows[p.variant_id].sku,
            title=rows[p.variant_id].title,
            price=rows[p.variant_id].price,
            position=p.position,
        )
        for p in event.products
        if p.variant_id in rows
    ]


def public(session: Session, event: LiveEvent) -> dict[str, Any]:
    return {
        "id": event.id,
        "title": event.title,
        "host": event.host,
        "scheduled_at": event.scheduled_at,
        "state": event.state,
        "started_at": event.started_at,
        "ended_at": event.ended_at,
        "currency": event.currency,
        "per_buyer_limit": event.per_buyer_limit,
        "auto_rebalance": event.auto_rebalance,
        "pinned_variant_id": event.pinned_variant_id,
        "live_price": event.live_price,
        "platforms": [{"channel": p.channel, "url": p.url} for p in event.platforms],
        "products": products_of(session, event),
        "created_at": event.created_at,
    }


def moments(session: Session, event_id: str, limit: int = 500) -> list[LiveMoment]:
    get_event(session, event_id)
    return list(
        session.scalars(
            select(LiveMoment)
            .where(LiveMoment.event_id == event_id)
            .order_by(LiveMoment.created_at, LiveMoment.id)
            .limit(limit)
        )
    )


# ---------------------------------------------------------------- recording


def _moment(
    session: Session, event: LiveEvent, kind: str, actor: str, now: datetime, **fields
) -> None:
    session.add(LiveMoment(event_id=event.id, kind=kind, actor=actor, created_at=now, **fields))


def _publish(session: Session, event: LiveEvent, type_: str, **extra) -> None:
    payload = {
        "event_id": event.id,
        "state": event.state,
        "pinned_variant_id": event.pinned_variant_id,
        "live_price": event.live_price,
        "currency": event.currency,
        **extra,
    }
    events.record(session, f"live_event.{type_}", payload, event.id)


def _variant(session: Session, ref: VariantRef, loc: tuple = ()) -> Variant:
    query = select(Variant).where(
        Variant.sku == ref.sku if ref.sku is not None else Variant.id == ref.variant_id
    )
    variant = session.scalar(query)
    if variant is None:
        what = f"SKU {ref.sku!r}" if ref.sku is not None else f"id {ref.variant_id!r}"
        name = "sku" if ref.sku is not None else "variant_id"
        raise ValidationFailed(
            f"No variant with {what}.", [FieldError((*loc, name), "unknown variant", "unknown")]
        )
    return variant


def variant_id_of(session: Session, ref: VariantRef) -> str:
    return _variant(session, ref).id


def _of_event(session: Session, event: LiveEvent, ref: VariantRef) -> Variant:
    variant = _variant(session, ref)
    if variant.id not in {p.variant_id for p in event.products}:
        raise ValidationFailed(
            "That product is not in the event's running order.",
            [FieldError(("sku" if ref.sku else "variant_id",), "not in the event", "unknown")],
        )
    return variant


def _not_ended(event: LiveEvent, verb: str) -> None:
    if event.state == "ended":
        raise Conflict(f"The event has ended; nothing can be {verb}.", extra={"state": "ended"})


# ---------------------------------------------------------------- changing


def create_event(
    session: Session, data: LiveEventCreate, *, actor: str = "system", now: datetime | None = None
) -> LiveEvent:
    now = as_of(now)
    variants = [_variant(session, ref, ("products", i)).id for i, ref in enumerate(data.products)]
    if len(set(variants)) != len(variants):
        raise ValidationFailed(
            "A product appears twice in the running order.",
            [FieldError(("products",), "each product once", "duplicate")],
        )
    channels = [p.channel for p in data.platforms]
    if len(set(channels)) != len(channels):
        raise ValidationFailed(
            "A platform appears twice.", [FieldError(("platforms",), "each once", "duplicate")]
        )
    event = LiveEvent(
        title=data.title,
        host=data.host,
        scheduled_at=data.scheduled_at,
        state="scheduled",
        currency=(data.currency or store_currency()).upper(),
        per_buyer_limit=data.per_buyer_limit,
        auto_rebalance=data.auto_rebalance,
        created_at=now,
        updated_at=now,
        platforms=[
            LivePlatform(position=i + 1, channel=p.channel, url=p.url)
            for i, p in enumerate(data.platforms)
        ],
        products=[LiveProduct(position=i + 1, variant_id=v) for i, v in enumerate(variants)],
    )
    session.add(event)
    session.flush()
    _moment(session, event, "created", actor, now)
    _publish(session, event, "created")
    return event


def _move_state(session: Session, event: LiveEvent, to: str, actor: str, now: datetime) -> None:
    if to not in NEXT_STATES[event.state]:
        raise Conflict(
            f"The event is {event.state}; it cannot become {to}.", extra={"state": event.state}
        )
    event.state, event.updated_at = to, now
    if to == "live":
        event.started_at = now
    else:
        event.ended_at = now


def start(
    session: Session, event_id: str, *, actor: str = "system", now: datetime | None = None
) -> LiveEvent:
    now = as_of(now)
    event = get_event(session, event_id)
    _move_state(session, event, "live", actor, now)
    _moment(session, event, "started", actor, now)
    _publish(session, event, "started")
    return event


def end(
    session: Session, event_id: str, *, actor: str = "system", now: datetime | None = None
) -> LiveEvent:
    """End the event: nothing stays pinned, and the pools of its products are let go (their
    unsold units are every channel's again); what each channel sold stays in the record."""
    now = as_of(now)
    event = get_event(session, event_id)
    _move_state(session, event, "ended", actor, now)
    event.pinned_variant_id, event.live_price = None, None
    released = inventory_pools.dissolve(
        session,
        [p.variant_id for p in event.products],
        actor=actor,
        reason="live event ended",
        reference=event.id,
        now=now,
    )
    sold = {
        pool.channel: sold_units
        for pools in released.values()
        for pool in pools.values()
        if (sold_units := pool.sold)
    }
    _moment(session, event, "ended", actor, now, quantity=sum(sold.values()))
    _publish(session, event, "ended", sold_by_channel=sold)
    return event


def pin(
    session: Session,
    event_id: str,
    data: PinInput,
    *,
    actor: str = "system",
    now: datetime | None = None,
) -> LiveEvent:
    """Pin a product of the running order (the viewer page and counters follow), with a
    live-only price or its own."""
    now = as_of(now)
    event = get_event(session, event_id)
    _not_ended(event, "pinned")
    variant = _of_event(session, event, data)
    event.pinned_variant_id, event.live_price, event.updated_at = (
        variant.id,
        data.live_price,
        now,
    )
    _moment(session, event, "pinned", actor, now, variant_id=variant.id, amount=data.live_price)
    _publish(session, event, "pinned", sku=variant.sku)
    return event


def unpin(
    session: Session, event_id: str, *, actor: str = "system", now: datetime | None = None
) -> LiveEvent:
    now = as_of(now)
    event = get_event(session, event_id)
    if event.pinned_variant_id is None:
        return event
    was = event.pinned_variant_id
    event.pinned_variant_id, event.live_price, event.updated_at = None, None, now
    _moment(session, event, "unpinned", actor, now, variant_id=was)
    _publish(session, event, "unpinned")
    return event


def set_live_price(
    session: Session,
    event_id: str,
    live_price: int | None,
    *,
    actor: str = "system",
    now: datetime | None = None,
) -> LiveEvent:
    now = as_of(now)
    event = get_event(session, event_id)
    _not_ended(event, "priced")
    if event.pinned_variant_id is None:
        raise Conflict("Pin a product first: the live price is the pinned product's.")
    if event.live_price == live_price:
        return event
    event.live_price, event.updated_at = live_price, now
    _moment(
        session, event, "priced", actor, now, variant_id=event.pinned_variant_id, amount=live_price
    )
    _publish(session, event, "priced")
    return event


# ---------------------------------------------------------------- stock


def stock(session: Session, event_id: str) -> list[StockPublic]:
    """Each product's free units, held-back units and pools."""
    event = get_event(session, event_id)
    skus = dict(
        session.execute(
            select(Variant.id, Variant.sku).where(
                Variant.id.in_([p.variant_id for p in event.products])
            )
        ).all()
    )
    out = []
    for product in event.products:
        state = inventory_pools.pools_of(session, product.variant_id)
        out.append(_stock_public(state, skus.get(product.variant_id)))
    return out


def _stock_public(state: inventory_pools.PoolsOfVariant, sku: str | None) -> StockPublic:
    return StockPublic(
        variant_id=state.variant_id,
        sku=sku,
        free=state.free,
        held_back=state.held_back,
        pools=[
            PoolPublic(channel=p.channel, units=p.units, held=p.held, sold=p.sold)
            for p in sorted(state.pools.values(), key=lambda p: p.channel)
        ],
    )


def allocate(
    session: Session,
    event_id: str,
    data: PoolsInput,
    *,
    actor: str = "system",
    now: datetime | None = None,
) -> StockPublic:
    """Split a product's free units into channel pools for the event (the rest is held
    back); pools of channels not named stay as they are."""
    now = as_of(now)
    event = get_event(session, event_id)
    _not_ended(event, "allocated")
    variant = _of_event(session, event, data)
    state = inventory_pools.fence(
        session,
        variant.id,
        data.pools,
        source=event.id,
        actor=actor,
        reason=f"live event {event.title}"[:500],
        now=now,
    )
    _moment(session, event, "fenced", actor, now, variant_id=variant.id, quantity=state.fenced)
    _publish(
        session,
        event,
        "allocated",
        variant_id=variant.id,
        pools={p.channel: p.units for p in state.pools.values()},
    )
    return _stock_public(state, variant.sku)


def move_units(
    session: Session,
    event_id: str,
    data: MoveInput,
    *,
    actor: str = "system",
    now: datetime | None = None,
) -> StockPublic:
    """Move unsold units between two pools of a product (or from/to the held-back ones)."""
    now = as_of(now)
    event = get_event(session, event_id)
    _not_ended(event, "moved")
    variant = _of_event(session, event, data)
    state = inventory_pools.move(
        session,
        variant.id,
        data.from_channel,
        data.to_channel,
        data.units,
        source=event.id,
        actor=actor,
        reason="moved by hand",
        now=now,
    )
    _moment(
        session,
        event,
        "fenced",
        actor,
        now,
        variant_id=variant.id,
        channel=data.to_channel,
        quantity=data.units,
    )
    _publish(
        session,
        event,
        "allocated",
        variant_id=variant.id,
        pools={p.channel: p.units for p in state.pools.values()},
    )
    return _stock_public(state, variant.sku)


def rebalance_live(session: Session, now: datetime | None = None) -> int:
    """The scheduled rebalance: every live event's pooled products spread their unsold
    units by what each channel sold. Returns how many products moved."""
    now = as_of(now)
    moved = 0
    for event in list_events(session, state="live", limit=1000):
        if not event.auto_rebalance:
            continue
        for product in event.products:
            before = inventory_pools.pools_of(session, product.variant_id)
            if not before.pools:
                continue
            after = inventory_pools.rebalance(session, product.variant_id, source=event.id, now=now)
            if {c: p.units for c, p in after.pools.items()} != {
                c: p.units for c, p in before.pools.items()
            }:
                moved += 1
                _publish(
                    session,
                    event,
                    "allocated",
                    variant_id=product.variant_id,
                    pools={p.channel: p.units for p in after.pools.values()},
                )
    return moved


# ---------------------------------------------------------------- counters


def counters(session: Session, event_id: str) -> CountersPublic:
    """The pinned product's units left (its pools' when ring-fenced, else available) and
    sales per channel: one read, whatever the number of viewers (``live.fanout``)."""
    event = get_event(session, event_id)
    out = CountersPublic(
        event_id=event.id,
        state=event.state,
        pinned_variant_id=event.pinned_variant_id,
        live_price=event.live_price,
        currency=event.currency,
    )
    if event.pinned_variant_id is None:
        return out
    row = session.execute(
        select(Variant.sku, Variant.price, Product.title)
        .join(Product, Product.id == Variant.product_id)
        .where(Variant.id == event.pinned_variant_id)
    ).one()
    out.sku, out.price, out.title = row.sku, row.price, row.title
    state = inventory_pools.pools_of(session, event.pinned_variant_id)
    if state.pools:
        out.left_by_channel = {c: p.units for c, p in sorted(state.pools.items())}
        out.left = sum(out.left_by_channel.values())
        out.sold_by_channel = {c: p.sold for c, p in sorted(state.pools.items())}
    else:
        stocks = read_stock(session, [event.pinned_variant_id])
        stock_of = stocks.get(event.pinned_variant_id)
        out.left = max(0, stock_of.available) if stock_of else 0
        out.sold_by_channel = _sales_by_channel(session, event, event.pinned_variant_id)
    out.sold = sum(out.sold_by_channel.values())
    return out


def _sales_by_channel(session: Session, event: LiveEvent, variant_id: str) -> dict[str, int]:
    sold: dict[str, int] = {}
    for channel, quantity in session.execute(
        select(LiveMoment.channel, LiveMoment.quantity).where(
            LiveMoment.event_id == event.id,
            LiveMoment.kind == "sale",
            LiveMoment.variant_id == variant_id,
        )
    ):
        sold[channel] = sold.get(channel, 0) + (quantity or 0)
    return sold


# ---------------------------------------------------------------- sales


def record_sales(session: Session, order_ids: Sequence[str], now: datetime | None = None) -> int:
    """Record the lines of new orders that sold a live event's product while it was live
    (one moment per line, with its channel); returns how many."""
    now = now or utcnow()
    if not order_ids:
        return 0
    live = {
        product.variant_id: event
        for event in list_events(session, state="live", limit=1000)
        for product in event.products
    }
    if not live:
        return 0
    rows = session.execute(
        select(
            Order.id,
            Order.channel,
            Order.stock_state,
            OrderLine.variant_id,
            OrderLine.quantity,
            OrderLine.unit_price,
        )
        .join(OrderLine, OrderLine.order_id == Order.id)
        .where(Order.id.in_(sorted(set(order_ids))), OrderLine.variant_id.in_(sorted(live)))
    ).all()
    for row in rows:
        event = live[row.variant_id]
        _moment(
            session,
            event,
            "held" if row.stock_state == "short" else "sale",
            "system",
            now,
            variant_id=row.variant_id,
            channel=row.channel,
            quantity=row.quantity,
            amount=row.unit_price * row.quantity,
            reference=row.id,
        )
    return len(rows)


# ---------------------------------------------------------------- buying


@dataclass(frozen=True)
class Offer:
    """What a viewer can buy now: the pinned product, at the live price when there is one,
    through the gate when the merchant opened one for it."""

    event_id: str
    currency: str
    per_buyer_limit: int
    variant_id: str
    prices: dict[str, tuple[int, str]]
    gated: bool


def offer(session: Session, event_id: str) -> Offer:
    """One query (no event object: a drop asks this for every buyer)."""
    gated = (
        select(GateCounter.id)
        .where(
            GateCounter.event_id == LiveEvent.id,
            GateCounter.variant_id == LiveEvent.pinned_variant_id,
        )
        .exists()
    )
    row = session.execute(
        select(
            LiveEvent.state,
            LiveEvent.pinned_variant_id,
            LiveEvent.live_price,
            LiveEvent.currency,
            LiveEvent.per_buyer_limit,
            gated,
        ).where(LiveEvent.id == event_id)
    ).first()
    if row is None:
        raise NotFound(f"No live event {event_id!r}.")
    state, variant_id, live_price, currency, limit, is_gated = row
    if state != "live" or variant_id is None:
        raise Conflict("Nothing is on sale in this live right now.", extra={"state": state})
    prices = {variant_id: (live_price, currency)} if live_price is not None else {}
    return Offer(event_id, currency, limit, variant_id, prices, bool(is_gated))


def open_gate(
    session: Session,
    event_id: str,
    ref: VariantRef,
    units: int,
    *,
    redis_gate=None,
    actor: str = "system",
    now: datetime | None = None,
) -> None:
    """Put the product behind the admission gate with ``units`` to let in (in Redis too
    when ``redis_gate`` is given)."""
    now = as_of(now)
    event = get_event(session, event_id)
    _not_ended(event, "gated")
    variant = _of_event(session, event, ref)
    if redis_gate is not None:
        redis_gate.open(session, event.id, variant.id, units)
    else:
        gate.open_gate(session, event.id, variant.id, units)
    _publish(session, event, "gated", variant_id=variant.id, units=units)


@dataclass(frozen=True)
class Pinned:
    variant_id: str
    sku: str | None
    title: str
    image_url: str | None
    price: int
    live_price: int | None
    currency: str


def pinned_product(session: Session, event: LiveEvent) -> Pinned | None:
    """The pinned product as the viewer page shows it (its image: its own or its
    product's first)."""
    if event.pinned_variant_id is None:
        return None
    variant = session.get(Variant, event.pinned_variant_id)
    if variant is None:
        return None
    product = session.get(Product, variant.product_id)
    image = variant.image_url or (product.media[0].url if product.media else None)
    return Pinned(
        variant.id,
        variant.sku,
        product.title,
        image,
        variant.price,
        event.live_price,
        event.currency,
    )


class SoldOut(Conflict):
    slug = "sold-out"
    title = "Sold out"


class BuyerLimit(Conflict):
    slug = "buyer-limit"
    title = "Per-buyer limit reached"


REFUSALS = {
    "sold_out": (SoldOut, "Sold out: every unit of this drop has found a buyer."),
    "limit": (BuyerLimit, "You have reached this drop's limit per buyer."),
    "throttled": (RateLimited, "Too many tries from this connection; wait a few seconds."),
}


def admit(
    the_gate, on_sale: Offer, buyer: str, quantity: int, client: str | None
) -> gate.Answer | None:
    """Through the drop's gate when the pinned product has one (None: no gate); a refusal
    raises ``SoldOut``, ``BuyerLimit`` or ``RateLimited``."""
    if not on_sale.gated:
        return None
    answer = the_gate.admit(
        on_sale.event_id,
        on_sale.variant_id,
        buyer,
        quantity,
        on_sale.per_buyer_limit,
        client=client,
    )
    if not answer.admitted:
        error, detail = REFUSALS[answer.outcome]
        raise error(detail, extra={"outcome": answer.outcome})
    return answer
