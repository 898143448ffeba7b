"""Touches the server sees, made from other domains' events: a paid order is a
purchase, a refund a negative one, a started checkout the funnel's step, an inbox
message or comment a touch of its conversation. Those domains never import this one."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.orm import Session

from mercato.analytics import ledger
from mercato.channels.models import Channel
from mercato.inbox.models import COMMENT_KINDS, InboxAccount
from mercato.orders.models import Order

STOREFRONT = "storefront"


def record_from_events(session: Session, batch: Sequence[Row]) -> int:
    """The batch's touches appended to the ledger (each event's once, whatever retries)."""
    return ledger.record(session, _touches(session, batch))


def _touches(session: Session, batch: Sequence[Row]) -> Iterator[dict[str, Any]]:
    orders = _orders_of(session, batch)
    for event in batch:
        payload = event.payload or {}
        # A payload without the id it should name makes no touch: it must never stop
        # the dispatcher that every other consumer waits on.
        if event.type == "order.paid":
            order = orders.get(payload.get("order_id"))
            if order is not None:
                yield purchase(session, order, event.created_at)
        elif event.type == "order.refunded":
            order = orders.get(payload.get("order_id"))
            detail = payload.get("detail") or {}
            if order is not None and detail.get("refund_id") and detail.get("amount"):
                yield {
                    **_from_order(session, order),
                    "event_id": f"order:{order.id}:refund:{detail['refund_id']}",
                    "kind": "refund",
                    "at": event.created_at,
                    "value": -int(detail["amount"]),
                }
        elif event.type == "checkout.started" and payload.get("checkout_id"):
            yield {
                **ledger.from_attribution(payload.get("attribution") or {}),
                "event_id": f"checkout:{payload['checkout_id']}:started",
                "kind": "checkout_started",
                "source": "server",
                "at": event.created_at,
                "customer_id": payload.get("customer_id"),
                "currency": payload.get("currency"),
                "country": payload.get("country"),
            }
        elif (
            event.type == "message.received"
            and payload.get("direction") == "in"
            and payload.get("message_id")
        ):
            account_id = payload.get("account_id")
            account = session.get(InboxAccount, account_id) if account_id else None
            yield {
                "event_id": f"message:{payload['message_id']}",
                "kind": "comment" if payload.get("kind") in COMMENT_KINDS else "message",
                "source": "server",
                "at": event.created_at,
                "channel": account.platform if account else None,
                "conversation_id": payload.get("conversation_id"),
            }


def _orders_of(session: Session, batch: Sequence[Row]) -> dict[str, Order]:
    """The orders the batch's order events name, read in one query, not one each."""
    ids = {
        (e.payload or {}).get("order_id")
        for e in batch
        if e.type in ("order.paid", "order.refunded")
    }
    ids = sorted(i for i in ids if isinstance(i, str))
    if not ids:
        return {}
    return {o.id: o for o in session.scalars(select(Order).where(Order.id.in_(ids)))}


def purchase(session: Session, order: Order, at) -> dict[str, Any]:
    """A paid order as a purchase touch: its total, and where the sale came from."""
    return {
        **_from_order(session, order),
        "event_id": ledger.purchase_event_id(order.id),
        "kind": "purchase",
        "at": at,
        "value": order.total,
    }


def _from_order(session: Session, order: Order) -> dict[str, Any]:
    attribution = order.attribution or {}
    found = ledger.from_attribution(attribution)
    found["channel"] = order.source or found.get("channel") or _sold_on(session, order)
    found["campaign"] = order.campaign or found.get("campaign")
    found["post"] = order.content_id or found.get("post")
    found["creator"] = order.creator or found.get("creator")
    country = (order.shipping_address or {}).get("country")
    return {
        **found,
        "source": "server",
        "order_id": order.id,
        "customer_id": ledger.customer_key(order.customer_email, order.id),
        "currency": order.currency,
        "country": country.upper()[:2] if country else None,
    }


def _sold_on(session: Session, order: Order) -> str:
    """A sale with no link or platform attribution: the platform it was placed on, or
    direct for the shop's own checkout."""
    if order.channel == STOREFRONT:
        return "direct"
    channel = session.get(Channel, order.channel)
    return channel.kind if channel else order.channel
