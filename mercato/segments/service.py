"""Segments: saved filters over customer profiles, and who is in one now.

Each profile's lifetime figures (``figures``) come from its orders: orders not
cancelled, revenue net of refunds of paid orders, the last order's date."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import ColumnElement, Select, and_, case, exists, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from mercato.catalog.service import store_currency
from mercato.customers import consent
from mercato.customers.models import Customer, Tag
from mercato.db import utcnow
from mercato.errors import Conflict, FieldError, NotFound, ValidationFailed
from mercato.orders.models import Order
from mercato.pagination import Page, keyset_page
from mercato.segments.models import Segment
from mercato.segments.schemas import SegmentCreate, SegmentFilters, SegmentUpdate

# Paid orders' money counts, less what was refunded.
PAID = ("paid", "partially_refunded", "refunded")


@dataclass
class Figures:
    orders: int = 0
    revenue: int = 0  # net of refunds, in the store's currency
    last_order_at: datetime | None = None
    # Every currency the profile paid in: {currency: net revenue}.
    revenue_by_currency: dict[str, int] = field(default_factory=dict)


def _figures_query(currency: str):
    paid = Order.payment_status.in_(PAID)
    return (
        select(
            Customer.profile_id.label("profile_id"),
            func.sum(case((Order.status != "cancelled", 1), else_=0)).label("orders"),
            func.sum(
                case(
                    (and_(paid, Order.currency == currency), Order.total - Order.refunded_total),
                    else_=0,
                )
            ).label("revenue"),
            func.max(Order.placed_at).label("last_order_at"),
        )
        .join(Order, Order.customer_id == Customer.id)
        .group_by(Customer.profile_id)
    )


def figures(session: Session, profile_ids: Sequence[str]) -> dict[str, Figures]:
    """Lifetime figures of these profiles, in two statements."""
    if not profile_ids:
        return {}
    found = {p: Figures() for p in profile_ids}
    query = _figures_query(store_currency()).where(Customer.profile_id.in_(list(profile_ids)))
    for row in session.execute(query):
        found[row.profile_id] = Figures(row.orders or 0, row.revenue or 0, row.last_order_at)
    by_currency = (
        select(
            Customer.profile_id,
            Order.currency,
            func.sum(Order.total - Order.refunded_total),
        )
        .join(Order, Order.customer_id == Customer.id)
        .where(Customer.profile_id.in_(list(profile_ids)), Order.payment_status.in_(PAID))
        .group_by(Customer.profile_id, Order.currency)
    )
    for profile_id, currency, amount in session.execute(by_currency):
        found[profile_id].revenue_by_currency[currency] = int(amount or 0)
    return found


# ---------------------------------------------------------------- members


def members_query(filters: SegmentFilters) -> Select:
    """The profiles (their root rows) a segment's filters hold for, now."""
    sums = _figures_query(store_currency()).subquery()
    orders = func.coalesce(sums.c.orders, 0)
    revenue = func.coalesce(sums.c.revenue, 0)
    query = (
        select(Customer)
        .outerjoin(sums, sums.c.profile_id == Customer.id)
        .where(Customer.profile_id == Customer.id)
    )
    where: list[ColumnElement[bool]] = []
    if filters.min_orders is not None:
        where.append(orders >= filters.min_orders)
    if filters.max_orders is not None:
        where.append(orders <= filters.max_orders)
    if filters.min_revenue is not None:
        where.append(revenue >= filters.min_revenue)
    if filters.max_revenue is not None:
        where.append(revenue <= filters.max_revenue)
    if filters.last_order_after is not None:
        where.append(sums.c.last_order_at >= filters.last_order_after)
    if filters.last_order_before is not None:
        where.append(sums.c.last_order_at < filters.last_order_before)
    if filters.tags:
        row = aliased(Customer)
        where.append(
            exists(
                select(Tag.id)
                .join(row, row.id == Tag.customer_id)
                .where(row.profile_id == Customer.id, Tag.tag.in_(filters.tags))
            )
        )
    if filters.countries:
        row = aliased(Customer)
        shipped = exists(
            select(Order.id)
            .join(row, row.id == Order.customer_id)
            .where(
                row.profile_id == Customer.id,
                Order.shipping_country.in_(filters.countries),
            )
        )
        saved = exists(
            select(row.id).where(
                row.profile_id == Customer.id,
                row.country.in_(filters.countries),
            )
        )
        where.append(or_(shipped, saved))
    for need in filters.consent:
        where.append(consent.granted_clause(Customer.id, consent.check(need.purpose, need.channel)))
    return query.where(*where)


def members(
    session: Session, segment_id: str, cursor: str | None = None, limit: int = 50
) -> Page[Customer]:
    segment = get(session, segment_id)
    filters = SegmentFilters.model_validate(segment.filters)
    return keyset_page(session, members_query(filters), Customer.id, cursor, limit)


def member_ids(session: Session, segment_id: str) -> list[str]:
    """Every member's profile id (for the inbox or an offer addressing them all)."""
    filters = SegmentFilters.model_validate(get(session, segment_id).filters)
    query = members_query(filters).with_only_columns(Customer.id).order_by(Customer.id)
    return list(session.scalars(query))


# ---------------------------------------------------------------- saved segments


def get(session: Session, segment_id: str) -> Segment:
    found = session.get(Segment, segment_id)
    if found is None:
        raise NotFound(f"No segment {segment_id!r}.")
    return found


def list_segments(session: Session) -> list[Segment]:
    return list(session.scalars(select(Segment).order_by(Segment.name)))


def _named(session: Session, name: str, but: str | None = None) -> None:
    taken = session.scalar(select(Segment.id).where(Segment.name == name, Segment.id != but))
    if taken:
        raise Conflict(
            "A segment has this name already.", [FieldError(("name",), f"{name!r} is taken")]
        )


def create(session: Session, data: SegmentCreate) -> Segment:
    _named(session, data.name)
    segment = Segment(
        name=data.name,
        description=data.description,
        filters=data.filters.model_dump(mode="json", exclude_defaults=True),
    )
    session.add(segment)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        raise ValidationFailed(
            "A segment has this name already.", [FieldError(("name",), "taken")]
        ) from None
    return segment


def update(session: Session, segment_id: str, data: SegmentUpdate) -> Segment:
    segment = get(session, segment_id)
    if data.name is not None:
        _named(session, data.name, segment.id)
        segment.name = data.name
    if "description" in data.model_fields_set:
        segment.description = data.description
    if data.filters is not None:
        segment.filters = data.filters.model_dump(mode="json", exclude_defaults=True)
    segment.updated_at = utcnow()
    session.flush()
    return segment


def delete(session: Session, segment_id: str) -> None:
    session.delete(get(session, segment_id))
