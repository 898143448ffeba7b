"""Yes/no questions about an offer: is it live now, may this channel and this buyer
redeem it. Caps are not asked here: only taking a slot (``redemptions``) answers them."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import exists, select
from sqlalchemy.orm import Session, aliased

from mercato.customers.models import Customer
from mercato.offers.models import Offer, OfferCode
from mercato.offers.pricing import Terms
from mercato.orders.models import Order
from mercato.segments import service as segments
from mercato.segments.schemas import SegmentFilters


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
        min_subtotal=offer.min_subtotal,
    )


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
) -> str | None:
    """Why this buyer may not redeem ``code`` here now (None: they may, caps allowing)."""
    if not offer.active:
        return "is not active"
    if offer.starts_at is not None and now < offer.starts_at:
        return "has not started yet"
    if offer.ends_at is not None and now >= offer.ends_at:
        return "has ended"
    if offer.channels and channel not in offer.channels:
        return f"cannot be redeemed here ({channel})"
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
