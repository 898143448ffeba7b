"""Commission earned when an order is paid, and its share clawed back when the order is
refunded within the clawback window (settings ``creator_clawback_days``). Run by the
worker from the order's events; each writes its own event in the same transaction."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal

from sqlalchemy import func, select
from sqlalchemy.engine import Row
from sqlalchemy.orm import Session, selectinload

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


def commission_of(session: Session, creator: Creator, order: Order) -> tuple[int, int]:
    """(revenue, commission) of an order for a creator: per line, its price after
    discount and before tax, at the product's rate or the creator's default."""
    products = dict(
        session.execute(
            select(Variant.id, Variant.product_id).where(
                Variant.id.in_({ln.variant_id for ln in order.lines if ln.variant_id})
            )
        ).all()
    )
    default = {"kind": creator.commission_kind, "value": creator.commission_value}
    revenue = commission = 0
    for line in order.lines:
        net = line.unit_price * line.quantity - line.discount
        rate = (creator.product_commissions or {}).get(products.get(line.variant_id)) or default
        revenue += net
        if rate["kind"] == "percentage":
            commission += _whole(Decimal(net) * int(rate["value"]) / 10_000)
        else:
            commission += int(rate["value"]) * line.quantity
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
    revenue, amount = commission_of(session, credit.creator, order)
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
    for event in batch:
        body = event.payload or {}
        order_id = body.get("order_id")
        if event.type not in ("order.paid", "order.refunded") or not isinstance(order_id, str):
            continue
        order = session.scalar(
            select(Order).options(selectinload(Order.lines)).where(Order.id == order_id)
        )
        if order is None:
            continue
        if event.type == "order.paid":
            earn(session, order, event.created_at or now)
            continue
        detail = body.get("detail") or {}
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
