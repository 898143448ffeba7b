"""Yes/no questions about an offer: is it live now, may this channel and this buyer
redeem it. Caps are not asked here: only taking a slot (``redemptions``) answers them."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import exists, select
from sqlalchemy.orm import Session, aliased

from mercato.catalog import collections as catalog_collections
from mercato.customers.models import Customer
from mercato.offers import combining, pricing
from mercato.offers.models import Offer, OfferCode
from mercato.offers.pricing import Terms
from mercato.orders.models import Order
from mercato.segments import service as segments
from mercato.segments.schemas import SegmentFilters

# The market is not known yet (a cart shown before its checkout, a link sent in a
# conversation): an offer limited to markets is checked again when the checkout is priced.
ANY_MARKET = "*"


@dataclass(frozen=True)
class Buyer:
    """Who redeems: a known customer, or a reference they gave (email, phone, loyalty
    card), kept only as a hash; or nobody in particular."""

    customer_id: str | None = None
    reference: str | None = None

    @property
    def key(self) -> str | None:
        if self.customer_id:
            return f"customer:{self.customer_id}"
        if self.reference and self.reference.strip():
            digest = hashlib.sha256(self.reference.strip().lower().encode()).hexdigest()
            return f"ref:{digest}"
        return None


def normalize(code: str) -> str:
    return code.strip().upper()


def terms_of(offer: Offer) -> Terms:
    return Terms(
        kind=offer.kind,
        value=offer.value,
        currency=offer.currency,
        tiers=tuple(offer.tiers or ()),
        buy_quantity=offer.buy_quantity,
        get_quantity=offer.get_quantity,
        product_ids=frozenset(offer.product_ids or ()),
        variant_ids=frozenset(offer.variant_ids or ()),
        collection_ids=frozenset(offer.collection_ids or ()),
        min_subtotal=offer.min_subtotal,
        bundle=tuple(offer.bundle or ()),
    )


def market_refusal(offer: Offer, market: str | None) -> str | None:
    """Why a checkout or ticket in ``market`` (None: in none) may not take the offer."""
    if not offer.markets or market == ANY_MARKET:
        return None
    if market is None:
        return "is only for checkouts in " + ", ".join(offer.markets)
    if market not in offer.markets:
        return f"cannot be redeemed in this market ({market})"
    return None


def priced(
    session: Session,
    offer: Offer,
    lines: Sequence[pricing.Line],
    currency: str,
    convert: pricing.Convert,
    market: str | None = ANY_MARKET,
) -> pricing.Applied:
    """What the offer takes off these lines in ``market``: its terms applied, each line
    read with its product's collections when the offer is scoped by collection
    (``catalog.collections.of_products``, one indexed query)."""
    why = market_refusal(offer, market)
    if why is not None:
        return pricing.Applied((0,) * len(lines), why_not=why)
    if offer.collection_ids:
        products = sorted({ln.product_id for ln in lines if ln.product_id})
        held = catalog_collections.of_products(session, products)
        lines = [
            replace(ln, collections=frozenset(held.get(ln.product_id or "", ()))) for ln in lines
        ]
    return pricing.apply(terms_of(offer), lines, currency, convert)


def priced_together(
    session: Session,
    offers: Sequence[Offer],
    lines: Sequence[pricing.Line],
    currency: str,
    convert: pricing.Convert,
    market: str | None = ANY_MARKET,
) -> list[pricing.Applied]:
    """What each of ``offers`` takes off these lines when applied together (in the
    order ``combining.in_order`` gives: product discounts first, then order discounts on
    what is left, then shipping), listed as ``offers`` are."""
    order = combining.in_order(offers)
    done = pricing.together(
        lines,
        [
            lambda now, offer=offers[i]: priced(session, offer, now, currency, convert, market)
            for i in order
        ],
    )
    found: list[pricing.Applied] = [pricing.Applied(())] * len(offers)
    for i, applied in zip(order, done, strict=True):
        found[i] = applied
    return found


def is_live(offer: Offer, now: datetime) -> bool:
    return (
        offer.active
        and (offer.starts_at is None or offer.starts_at <= now)
        and (offer.ends_at is None or now < offer.ends_at)
    )


def refusal(
    session: Session,
    offer: Offer,
    code: OfferCode,
    channel: str,
    buyer: Buyer,
    now: datetime,
    market: str | None = None,
) -> str | None:
    """Why this buyer may not redeem ``code`` here now, on a checkout or ticket in
    ``market`` (None: in no market; ``ANY_MARKET``: not known yet); None: they may, caps
    allowing."""
    if not offer.active:
        return "is not active"
    if offer.starts_at is not None and now < offer.starts_at:
        return "has not started yet"
    if offer.ends_at is not None and now >= offer.ends_at:
        return "has ended"
    if offer.channels and channel not in offer.channels:
        return f"cannot be redeemed here ({channel})"
    if (why := market_refusal(offer, market)) is not None:
        return why
    if code.max_uses is not None and code.used >= code.max_uses:
        return "has been used up"
    if offer.max_uses is not None and offer.used >= offer.max_uses:
        return "has run out"
    if offer.segment_id and not in_segment(session, offer.segment_id, buyer.customer_id):
        return "is for selected customers only"
    if offer.first_order_only and has_ordered(session, buyer.customer_id):
        return "is for a first order only"
    return None


def in_segment(session: Session, segment_id: str, customer_id: str | None) -> bool:
    if customer_id is None:
        return False
    profile = session.scalar(select(Customer.profile_id).where(Customer.id == customer_id))
    segment = segments.get(session, segment_id)
    query = segments.members_query(SegmentFilters.model_validate(segment.filters))
    found = query.with_only_columns(Customer.id).where(Customer.id == (profile or customer_id))
    return session.scalar(found.limit(1)) is not None


def has_ordered(session: Session, customer_id: str | None) -> bool:
    """Has the buyer's profile any order not cancelled (a first-order offer is not for
    them)? An unknown buyer has not."""
    if customer_id is None:
        return False
    me, row = aliased(Customer), aliased(Customer)
    profile = select(me.profile_id).where(me.id == customer_id).scalar_subquery()
    return bool(
        session.scalar(
            select(
                exists(
                    select(Order.id)
                    .join(row, row.id == Order.customer_id)
                    .where(row.profile_id == profile, Order.status != "cancelled")
                )
            )
        )
    )
