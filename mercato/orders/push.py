"""Telling the platform what the merchant did: ship, cancel, refund.

``enqueue`` runs inside the order change's transaction, so the push exists iff the change
does; jobs keyed by the order id run one at a time in order. ``perform`` (the job) calls
the platform with an idempotency key made from the Mercato record it carries, so a retry
after a timeout can never ship, cancel or refund twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from mercato import jobs
from mercato.channels import http as channel_http
from mercato.channels import orders as platforms
from mercato.channels.models import Channel
from mercato.channels.service import credentials
from mercato.channels.tasks import AVAILABILITY_JOB
from mercato.db import Sessions, transaction
from mercato.orders import timeline
from mercato.orders.models import Fulfillment, Order, OrderActivity, Refund

ACTIONS = ("ship", "tracking", "cancel", "refund")
JOB = "orders.push"


def exchanges_orders(channel: Channel) -> bool:
    """Does this connection exchange orders with its platform?"""
    return channel.kind in platforms.ORDER_KINDS and channel.status == "active"


def enqueue(session: Session, order: Order, action: str, ref: str) -> None:
    """Queue the push of ``action`` (about Mercato record ``ref``) when the order came from
    a platform that takes it; nothing for storefront and manual orders."""
    if not order.external_id:
        return
    channel = session.get(Channel, order.channel)
    if channel is None or not exchanges_orders(channel):
        return
    jobs.enqueue(session, JOB, {"order_id": order.id, "action": action, "ref": ref}, key=order.id)


@dataclass
class Call:
    channel_id: str
    kind: str
    base_url: str
    settings: dict[str, Any]
    credentials: dict[str, str]
    external_id: str
    number: int
    action: str
    key: str
    args: dict[str, Any] = field(default_factory=dict)


def _items(order: Order, lines: list[dict]) -> list[dict]:
    by_id = {line.id: line for line in order.lines}
    return [
        {
            "sku": by_id[i["line_id"]].sku,
            "line_id": by_id[i["line_id"]].external_id,
            "quantity": i["quantity"],
        }
        for i in lines
        if i["line_id"] in by_id
    ]


def plan(session: Session, order_id: str, action: str, ref: str) -> Call | None:
    """What to send, read from the database (no HTTP here)."""
    order = session.get(Order, order_id)
    channel = session.get(Channel, order.channel) if order else None
    if order is None or channel is None:
        return None
    call = Call(
        channel.id,
        channel.kind,
        channel.base_url,
        dict(channel.settings or {}),
        credentials(channel),
        order.external_id,
        order.number,
        action,
        f"mercato-{action}-{ref}",
    )
    if action == "ship":
        record = session.get(Fulfillment, ref)
        call.args = {
            "items": _items(order, record.lines),
            "carrier": record.carrier,
            "tracking_number": record.tracking_number,
        }
    elif action == "tracking":  # ref: "<fulfillment id>:<correction>"
        record = session.get(Fulfillment, ref.partition(":")[0])
        call.args = {
            "items": _items(order, record.lines),
            "carrier": record.carrier,
            "tracking_number": record.tracking_number,
        }
    elif action == "cancel":
        # The reason the order was cancelled with (platforms take a reason code from it).
        reason = session.scalar(
            select(OrderActivity.data)
            .where(OrderActivity.order_id == order.id, OrderActivity.kind == "cancelled")
            .order_by(OrderActivity.id.desc())
            .limit(1)
        )
        call.args = {
            "items": [],
            "reason": (reason or {}).get("reason") or "cancelled by the merchant",
            "restock": True,
        }
    elif action == "refund":
        record = session.get(Refund, ref)
        call.args = {
            "items": _items(order, record.lines),
            "amount": record.amount,
            "currency": record.currency,
            "reason": record.reason,
        }
    return call


def send(sessions: Sessions, call: Call) -> None:
    """Raises PlatformUnavailable/AuthExpired (retry later) or PlatformError (refused)."""
    with channel_http.open_client(call.base_url) as http:
        client = platforms.client_for(call, http, sessions)
        method = {
            "ship": client.ship,
            "tracking": getattr(client, "update_tracking", None),
            "cancel": client.cancel,
            "refund": client.refund,
        }[call.action]
        if method is None:
            raise channel_http.PlatformError(f"{call.kind} cannot take a tracking correction")
        method(call.external_id, **call.args, key=call.key)


def perform(
    sessions: sessionmaker[Session],
    read_sessions: sessionmaker[Session],
    order_id: str,
    action: str,
    ref: str,
) -> None:
    with read_sessions() as session:
        call = plan(session, order_id, action, ref)
    if call is None:
        return
    try:
        send(Sessions(sessions, read_sessions), call)
    except (channel_http.PlatformUnavailable, channel_http.AuthExpired):
        raise  # the worker retries with backoff; the idempotency key makes that safe
    except channel_http.PlatformError as exc:
        with transaction(sessions) as session:
            timeline.note(
                session,
                order_id,
                f"channel:{call.kind}",
                "push_refused",
                f"{call.kind} refused the {action}: {exc}",
                action=action,
                ref=ref,
            )
        return
    with transaction(sessions) as session:
        timeline.note(
            session,
            order_id,
            f"channel:{call.kind}",
            "pushed",
            f"{action.capitalize()} sent to {call.kind}.",
            action=action,
            ref=ref,
        )
        if action == "cancel":
            _stock_again(session, order_id)


def _stock_again(session: Session, order_id: str) -> None:
    """A platform that cancels an order takes its units back into its own count: our
    stock of those variants is sent to it again (after any stock change queued before)."""
    order = session.get(Order, order_id)
    variant_ids = sorted({line.variant_id for line in order.lines if line.variant_id})
    if variant_ids:
        jobs.enqueue(
            session,
            AVAILABILITY_JOB,
            {"channel_id": order.channel, "variant_ids": variant_ids, "resend": True},
            key=f"channels.availability:{order.channel}",
        )
