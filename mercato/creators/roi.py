"""Return on offers, codes, creators and posts, read from the ledgers: the offers' redemptions,
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
from mercato.creators.models import Commission, Creator, Post
from mercato.creators.posts import products_of as posts_products
from mercato.offers.models import Offer, Redemption

By = Literal["offer", "code", "creator", "post"]

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


POST_FORMULAS = {
    "clicks": "analytics ledger: click and visit touches naming the post (imported daily "
    "figures included)",
    "orders": "distinct orders whose purchase touch names the post (the link's content_id)",
    "redemptions": "offer uses that stand on those orders",
    "revenue": "analytics ledger: those orders' purchase touches (order total) plus their "
    "refund touches (negative)",
    "discount_cost": "sum of what offers took off those orders",
    "commission": "creator commission earned on those orders less what refunds clawed back",
    "net": "revenue - discount_cost - commission (before the cost of goods)",
    "roi": "net / (discount_cost + commission), when that cost is above 0",
    "products": "the products the post is tagged with (POST /api/v1/creators/posts)",
}


def by_post(session: Session, currency: str) -> dict:
    """Per post the ledger's touches name: clicks, orders and their revenue, discounts and
    commission, and the products the post is tagged with."""
    tagged = {p.reference: p for p in session.scalars(select(Post))}
    tags = posts_products(session, [p.id for p in tagged.values()])
    names = {c.id: c.name for c in session.scalars(select(Creator))}
    rows: dict[str, Row] = {}

    def row(post: str) -> Row:
        if post not in rows:
            found = tagged.get(post)
            name = (found.title if found else None) or post
            if found and found.creator_id in names:
                name = f"{name} ({names[found.creator_id]})"
            rows[post] = Row(post, name)
        return rows[post]

    clicks: dict[str, int] = defaultdict(int)
    for post, count in session.execute(
        select(Touch.post, func.sum(Touch.count))
        .where(Touch.post.is_not(None), Touch.kind.in_(("click", "visit")))
        .group_by(Touch.post)
    ):
        clicks[post] += int(count or 0)
        row(post)
    order_post: dict[str, str] = {}
    for post, order_id in session.execute(
        select(Touch.post, Touch.order_id).where(
            Touch.post.is_not(None),
            Touch.kind == "purchase",
            Touch.order_id.is_not(None),
            Touch.currency == currency,
        )
    ):
        order_post.setdefault(order_id, post)
        row(post).orders.add(order_id)
    for ref in tagged:
        row(ref)
    orders = list(order_post)
    for order_id, value in session.execute(
        select(Touch.order_id, func.sum(Touch.value))
        .where(
            Touch.order_id.in_(orders),
            Touch.kind.in_(("purchase", "refund")),
            Touch.currency == currency,
        )
        .group_by(Touch.order_id)
    ):
        rows[order_post[order_id]].revenue += int(value or 0)
    for order_id, amount in session.execute(
        select(Redemption.order_id, Redemption.amount).where(
            Redemption.order_id.in_(orders),
            Redemption.status == "redeemed",
            Redemption.currency == currency,
        )
    ):
        rows[order_post[order_id]].redemptions += 1
        rows[order_post[order_id]].discount_cost += amount
    for order_id, amount in session.execute(
        select(Commission.order_id, func.sum(Commission.amount))
        .where(Commission.order_id.in_(orders), Commission.currency == currency)
        .group_by(Commission.order_id)
    ):
        rows[order_post[order_id]].commission += int(amount or 0)
    out = []
    for key, r in rows.items():
        found = tagged.get(key)
        out.append(
            {
                **r.public(),
                "clicks": clicks.get(key, 0),
                "post_id": found.id if found else None,
                "creator_id": found.creator_id if found else None,
                "url": found.url if found else None,
                "products": [
                    {"id": p.id, "title": p.title} for p in (tags[found.id] if found else [])
                ],
            }
        )
    return {
        "by": "post",
        "currency": currency,
        "formulas": POST_FORMULAS,
        "rows": sorted(out, key=lambda r: (-r["revenue"], -r["clicks"], r["key"])),
    }


def roi(session: Session, by: By, currency: str | None = None) -> dict:
    currency = (currency or store_currency()).upper()
    if by == "post":
        return by_post(session, currency)
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
