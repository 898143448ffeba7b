"""Commission earned when an order is paid, and its share clawed back when the order is
refunded within the clawback window (settings ``creator_clawback_days``). Run by the
worker from the order's events; each writes its own event in the same transaction.

A line's rate: the product's own, else the best of its collections' (one indexed lookup,
``catalog.collections.of_products``), else the creator's default. A percentage default
may have performance tiers by the creator's attributed net revenue in the calendar
month (store's zone): each tier's rate applies to the revenue above its threshold only
(marginal), so the order that crosses a threshold earns the higher rate on the part
above it, and earlier orders are never re-rated. A refund takes back its share of the
order's own commission, at the rates that order earned."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.engine import Row
from sqlalchemy.orm import Session, selectinload

from mercato.catalog import collections
from mercato.catalog.models import Variant
from mercato.config import get_settings
from mercato.creators import attribution
from mercato.creators.models import Commission, Creator
from mercato.db import new_id
from mercato.events import service as events
from mercato.orders.models import Order

EARNED = "earned"


def _whole(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def month_start(at: datetime) -> datetime:
    """The start of the calendar month holding ``at`` in the store's zone (the tiers'
    period), in UTC."""
    local = at.astimezone(ZoneInfo(get_settings().timezone))
    return local.replace(day=1, hour=0, minute=0, second=0, microsecond=0).astimezone(UTC)


def period_revenue(session: Session, creator: Creator, currency: str, at: datetime) -> int:
    """The creator's attributed net revenue of the tiers' period up to ``at``: the sales
    credited to them, less the refunds clawed back, in the calendar month."""
    return int(
        session.scalar(
            select(func.coalesce(func.sum(Commission.revenue), 0)).where(
                Commission.creator_id == creator.id,
                Commission.currency == currency,
                Commission.at >= month_start(at),
                Commission.at <= at,
            )
        )
        or 0
    )


def tiered(net: int, before: int, base_bps: int, tiers: Sequence[dict]) -> Decimal:
    """The exact commission on revenue ``net`` that comes after ``before`` of the period:
    each part at the rate of the band it falls in (the base rate below the first
    threshold, a tier's rate above its own), so a threshold crossed mid-order raises only
    what lies above it."""
    bands = [(None, base_bps)] + [(int(t["above"]), int(t["value"])) for t in tiers]
    low, high = before, before + net
    total = Decimal(0)
    for i, (start, bps) in enumerate(bands):
        end = bands[i + 1][0] if i + 1 < len(bands) else None
        part_low = low if start is None else max(low, start)
        part_high = high if end is None else min(high, end)
        if part_high > part_low:
            total += Decimal(part_high - part_low) * bps / 10_000
    return total


def _line_rate(rate: dict, net: int, quantity: int) -> Decimal:
    if rate["kind"] == "percentage":
        return Decimal(net) * int(rate["value"]) / 10_000
    return Decimal(int(rate["value"]) * quantity)


def commission_of(
    session: Session, creator: Creator, order: Order, before: int = 0
) -> tuple[int, int]:
    """(revenue, commission) of an order for a creator: per line, its price after
    discount and before tax, at the product's own rate, else the best of its
    collections' rates, else the creator's default (tiered by ``before``, the creator's
    revenue earlier in the period). Each line's commission is rounded once."""
    products = dict(
        session.execute(
            select(Variant.id, Variant.product_id).where(
                Variant.id.in_({ln.variant_id for ln in order.lines if ln.variant_id})
            )
        ).all()
    )
    by_collection = creator.collection_commissions or {}
    held = collections.of_products(session, sorted(set(products.values()))) if by_collection else {}
    revenue = commission = 0
    for line in order.lines:
        net = line.unit_price * line.quantity - line.discount
        product = products.get(line.variant_id)
        own = (creator.product_commissions or {}).get(product)
        rules = [by_collection[c] for c in held.get(product, ()) if c in by_collection]
        if own:
            exact = _line_rate(own, net, line.quantity)
        elif rules:
            exact = max(_line_rate(r, net, line.quantity) for r in rules)
        elif creator.commission_kind == "percentage":
            exact = tiered(net, before + revenue, creator.commission_value, creator.tiers or [])
        else:
            exact = Decimal(creator.commission_value * line.quantity)
        revenue += net
        commission += _whole(exact)
    return revenue, commission


def earn(session: Session, order: Order, at: datetime) -> Commission | None:
    """The order's commission for the creator it is credited to (once)."""
    if session.scalar(
        select(Commission.id).where(Commission.order_id == order.id, Commission.reference == EARNED)
    ):
        return None
    credit = attribution.credited(session, order)
    if credit is None:
        return None
    creator = credit.creator
    before = 0
    if creator.tiers:
        # One order at a time per creator: each starts where the last one left the period.
        session.scalar(select(Creator.id).where(Creator.id == creator.id).with_for_update())
        before = period_revenue(session, creator, order.currency, at)
    revenue, amount = commission_of(session, creator, order, before)
    entry = Commission(
        id=new_id("cco"),
        creator_id=credit.creator.id,
        order_id=order.id,
        reference=EARNED,
        kind="earned",
        basis=credit.basis,
        code=credit.code,
        currency=order.currency,
        revenue=revenue,
        amount=amount,
        at=at,
    )
    session.add(entry)
    session.flush()
    events.record(session, "commission.earned", payload(entry), key=entry.creator_id)
    return entry


def claw_back(
    session: Session, order: Order, refund_id: str, refunded: int, at: datetime
) -> Commission | None:
    """A refund within the window takes back its share of the commission: in proportion
    to the amount refunded, all that is left of it once the order is fully refunded."""
    earned = session.scalar(
        select(Commission).where(Commission.order_id == order.id, Commission.reference == EARNED)
    )
    reference = f"refund:{refund_id}"[:60]
    if earned is None or at - earned.at > timedelta(days=get_settings().creator_clawback_days):
        return None
    if session.scalar(
        select(Commission.id).where(
            Commission.order_id == order.id, Commission.reference == reference
        )
    ):
        return None
    taken, taken_revenue = (
        int(v)  # PostgreSQL sums to NUMERIC
        for v in session.execute(
            select(
                func.coalesce(func.sum(Commission.amount), 0),
                func.coalesce(func.sum(Commission.revenue), 0),
            ).where(Commission.order_id == order.id, Commission.kind == "clawback")
        ).one()
    )
    if order.refunded_total >= order.total:
        amount, revenue = earned.amount + taken, earned.revenue + taken_revenue
    else:
        share = Decimal(refunded) / order.total if order.total else Decimal(0)
        amount = min(_whole(earned.amount * share), earned.amount + taken)
        revenue = min(_whole(earned.revenue * share), earned.revenue + taken_revenue)
    entry = Commission(
        id=new_id("cco"),
        creator_id=earned.creator_id,
        order_id=order.id,
        reference=reference,
        kind="clawback",
        basis=earned.basis,
        code=earned.code,
        currency=earned.currency,
        revenue=-revenue,
        amount=-amount,
        at=at,
    )
    session.add(entry)
    session.flush()
    events.record(session, "commission.clawed_back", payload(entry), key=entry.creator_id)
    return entry


def from_events(session: Session, batch: Sequence[Row], now: datetime) -> None:
    wanted = [
        (event, (event.payload or {}).get("order_id"))
        for event in batch
        if event.type in ("order.paid", "order.refunded")
    ]
    wanted = [(event, order_id) for event, order_id in wanted if isinstance(order_id, str)]
    # A shop without creators credits no one and has nothing to claw back: one query
    # for the batch instead of several per order.
    if not wanted or session.scalar(select(Creator.id).limit(1)) is None:
        return
    orders = {
        order.id: order
        for order in session.scalars(
            select(Order)
            .options(selectinload(Order.lines))
            .where(Order.id.in_(sorted({order_id for _, order_id in wanted})))
        )
    }
    for event, order_id in wanted:
        order = orders.get(order_id)
        if order is None:
            continue
        if event.type == "order.paid":
            earn(session, order, event.created_at or now)
            continue
        detail = (event.payload or {}).get("detail") or {}
        if detail.get("refund_id") and detail.get("amount"):
            claw_back(
                session,
                order,
                str(detail["refund_id"]),
                int(detail["amount"]),
                event.created_at or now,
            )


def payload(entry: Commission) -> dict:
    return {
        "commission_id": entry.id,
        "creator_id": entry.creator_id,
        "order_id": entry.order_id,
        "kind": entry.kind,
        "basis": entry.basis,
        "code": entry.code,
        "currency": entry.currency,
        "revenue": entry.revenue,
        "amount": entry.amount,
    }
