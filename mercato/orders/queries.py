"""Reading orders: one by id or number, the list (filtered, newest first, by cursor),
an order's shipments, refunds and returns, and the dashboard's figures."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, selectinload

from mercato.channels.models import Channel
from mercato.crypto import matching_terms
from mercato.errors import NotFound
from mercato.orders.models import Fulfillment, Order, Refund, Return
from mercato.pagination import MAX_PAGE_SIZE as MAX_PAGE_SIZE
from mercato.pagination import Page, keyset_page


def with_children(query):
    return query.options(selectinload(Order.lines), selectinload(Order.timeline))


def get_order(session: Session, order_id: str) -> Order:
    order = session.scalar(with_children(select(Order)).where(Order.id == order_id))
    if order is None:
        raise NotFound(f"No order with id {order_id!r}.")
    return order


def find_order(session: Session, reference: str) -> Order:
    """An order by id or by number ("1001" or "#1001")."""
    number = reference.lstrip("#")
    if number.isascii() and number.isdigit():  # "¹".isdigit() is true, int("¹") fails
        order = session.scalar(with_children(select(Order)).where(Order.number == int(number)))
        if order is not None:
            return order
    return get_order(session, reference)


def fulfillments_of(session: Session, order_id: str) -> list[Fulfillment]:
    return list(
        session.scalars(
            select(Fulfillment)
            .where(Fulfillment.order_id == order_id)
            .order_by(Fulfillment.created_at, Fulfillment.id)
        )
    )


def refunds_of(session: Session, order_id: str) -> list[Refund]:
    return list(
        session.scalars(
            select(Refund).where(Refund.order_id == order_id).order_by(Refund.created_at, Refund.id)
        )
    )


def returns_of(session: Session, order_id: str) -> list[Return]:
    return list(
        session.scalars(
            select(Return).where(Return.order_id == order_id).order_by(Return.created_at, Return.id)
        )
    )


@dataclass
class OrderFilters:
    status: str | None = None
    channel: str | None = None
    placed_since: datetime | None = None
    placed_before: datetime | None = None
    q: str | None = None


def list_orders(
    session: Session, filters: OrderFilters, cursor: str | None = None, limit: int = 50
) -> Page[Order]:
    """Newest first."""
    query = with_children(select(Order))
    if filters.status:
        query = query.where(Order.status == filters.status)
    if filters.channel:
        query = query.where(Order.channel.in_(_channels_named(session, filters.channel)))
    if filters.placed_since:
        query = query.where(Order.placed_at >= filters.placed_since)
    if filters.placed_before:
        query = query.where(Order.placed_at < filters.placed_before)
    if filters.q:
        text = filters.q.strip().lstrip("#")
        conditions = [
            # The buyer's name and email are encrypted: found whole or by whole words.
            matching_terms(Order.search_terms, text),
            Order.external_id == text,
        ]
        if text.isdigit():
            conditions.append(Order.number == int(text))
        query = query.where(or_(*conditions))
    return keyset_page(session, query, Order.id, cursor, limit, newest_first=True)


def _channels_named(session: Session, value: str) -> list[str]:
    """What an order's channel may be for a filter: the value itself (an id, storefront,
    manual), or the connected channels with that name or of that kind (e.g. tiktok)."""
    value = value.strip()
    ids = session.scalars(
        select(Channel.id).where(
            or_(
                Channel.id == value,
                func.lower(Channel.name) == value.lower(),
                func.lower(Channel.kind) == value.lower(),
            )
        )
    )
    return [value, *ids]


def channel_names(session: Session, channels: Iterable[str]) -> dict[str, str]:
    """Each order channel as the merchant calls it: a connected channel's name, else the
    value itself (storefront, manual)."""
    wanted = set(channels)
    named = dict(
        session.execute(select(Channel.id, Channel.name).where(Channel.id.in_(wanted))).all()
        if wanted
        else []
    )
    return {channel: named.get(channel, channel) for channel in wanted}


# ---------------------------------------------------------------- figures


@dataclass
class ChannelSales:
    channel: str
    currency: str
    orders: int
    total: int


def sales_by_channel(session: Session, since: datetime) -> list[ChannelSales]:
    """Orders and sales per channel and currency since a moment (cancelled ones left out)."""
    rows = session.execute(
        select(Order.channel, Order.currency, func.count(), func.sum(Order.total))
        .where(Order.placed_at >= since, Order.status != "cancelled")
        .group_by(Order.channel, Order.currency)
        .order_by(func.sum(Order.total).desc())
    ).all()
    return [
        ChannelSales(channel, currency, count, int(total or 0))
        for channel, currency, count, total in rows
    ]


def orders_per_minute(session: Session, since: datetime, until: datetime) -> list[int]:
    """Orders placed in each whole minute from ``since`` to ``until`` (oldest first)."""
    minutes = max(1, int((until - since).total_seconds() // 60))
    counts = [0] * minutes
    placed = session.scalars(
        select(Order.placed_at).where(Order.placed_at >= since, Order.placed_at < until)
    )
    for at in placed:
        index = int((at - since).total_seconds() // 60)
        if 0 <= index < minutes:
            counts[index] += 1
    return counts
