"""Return on offers, codes and creators, read from the ledgers: the offers' redemptions,
the analytics ledger's purchase and refund touches of the orders behind them, and the
creators' commission lines. Each figure's formula is part of the answer."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Literal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mercato.analytics.models import Touch
from mercato.catalog.service import store_currency
from mercato.creators.models import Commission, Creator
from mercato.offers.models import Offer, Redemption

By = Literal["offer", "code", "creator"]

FORMULAS = {
    "redemptions": "uses that stand: redeemed, not voided (a held checkout is not counted)",
    "orders": "distinct orders behind them (till tickets count as none)",
    "revenue": "analytics ledger: sum of the purchase touches of those orders (order total) "
    "plus their refund touches (negative); plus, for till redemptions, ticket subtotal "
    "less the discount",
    "discount_cost": "sum of what the offer took off each redemption",
    "commission": "creator commission earned on those orders less what refunds clawed back",
    "net": "revenue - discount_cost - commission (before the cost of goods; not a lift "
    "over a baseline without the offer)",
    "roi": "net / (discount_cost + commission), when that cost is above 0",
}


@dataclass
class Row:
    key: str
    name: str
    redemptions: int = 0
    orders: set[str] = field(default_factory=set)
    till_revenue: int = 0
    discount_cost: int = 0
    commission: int = 0
    revenue: int = 0

    def public(self) -> dict:
        cost = self.discount_cost + self.commission
        net = self.revenue - cost
        return {
            "key": self.key,
            "name": self.name,
            "redemptions": self.redemptions,
            "orders": len(self.orders),
            "revenue": self.revenue,
            "discount_cost": self.discount_cost,
            "commission": self.commission,
            "net": net,
            "roi": round(net / cost, 4) if cost > 0 else None,
        }


def roi(session: Session, by: By, currency: str | None = None) -> dict:
    currency = (currency or store_currency()).upper()
    rows: dict[str, Row] = {}
    offers = {o.id: o for o in session.scalars(select(Offer))}
    creators = {c.id: c for c in session.scalars(select(Creator))}

    def row_for(offer: Offer, code: str) -> Row | None:
        if by == "offer":
            return rows.setdefault(offer.id, Row(offer.id, offer.name))
        if by == "code":
            return rows.setdefault(code, Row(code, offer.name))
        if offer.creator_id in creators:
            c = creators[offer.creator_id]
            return rows.setdefault(c.id, Row(c.id, c.name))
        return None

    used = session.execute(
        select(Redemption).where(Redemption.status == "redeemed", Redemption.currency == currency)
    ).scalars()
    order_rows: dict[str, set[str]] = defaultdict(set)
    for r in used:
        row = row_for(offers[r.offer_id], r.code)
        if row is None:
            continue
        row.redemptions += 1
        row.discount_cost += r.amount
        if r.order_id:
            row.orders.add(r.order_id)
            order_rows[r.order_id].add(row.key)
        else:
            row.till_revenue += r.subtotal - r.amount
    if by == "creator":  # their link's sales too, and what they earned
        for entry in session.scalars(select(Commission).where(Commission.currency == currency)):
            c = creators[entry.creator_id]
            row = rows.setdefault(c.id, Row(c.id, c.name))
            row.commission += entry.amount
            row.orders.add(entry.order_id)
            order_rows[entry.order_id].add(row.key)
    else:
        paid = dict(
            session.execute(
                select(Commission.order_id, func.sum(Commission.amount))
                .where(Commission.order_id.in_(list(order_rows)), Commission.currency == currency)
                .group_by(Commission.order_id)
            ).all()
        )
        for order_id, keys in order_rows.items():
            for key in keys:
                rows[key].commission += int(paid.get(order_id) or 0)
    sales = dict(
        session.execute(
            select(Touch.order_id, func.sum(Touch.value))
            .where(
                Touch.order_id.in_(list(order_rows)),
                Touch.kind.in_(("purchase", "refund")),
                Touch.currency == currency,
            )
            .group_by(Touch.order_id)
        ).all()
    )
    for order_id, keys in order_rows.items():
        for key in keys:
            rows[key].revenue += int(sales.get(order_id) or 0)
    for row in rows.values():
        row.revenue += row.till_revenue
    return {
        "by": by,
        "currency": currency,
        "formulas": FORMULAS,
        "rows": sorted((r.public() for r in rows.values()), key=lambda r: -r["revenue"]),
    }
