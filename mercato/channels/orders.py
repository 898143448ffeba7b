"""What order intake asks of every platform: verify and read a webhook, fetch and list
orders, push back what the merchant did (ship, cancel, refund). Each kind's
``channels/<kind>/orders.py`` translates and talks HTTP; the rules live in
``mercato.orders.intake``.

A platform order is handed over as a ``PlatformOrder``: the order in Mercato's input
shape, plus the platform's status translated to a stage (``STAGES``), never a decision.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from importlib import import_module
from types import ModuleType
from typing import Any, Protocol

import httpx
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from mercato.channels import tokens
from mercato.channels.capabilities import ORDER_KINDS as ORDER_KINDS
from mercato.channels.capabilities import orders_note
from mercato.channels.models import Channel
from mercato.db import Sessions
from mercato.orders.schemas import OrderCreate

# The platform's order stage, in the order a platform moves through them. A status
# event whose stage is below what Mercato has seen is stale and never applied.
STAGES = ("unpaid", "paid", "shipped", "delivered", "completed", "cancelled")


def stage_rank(stage: str | None) -> int:
    return STAGES.index(stage) if stage in STAGES else -1


@dataclass
class PlatformOrder:
    external_id: str
    stage: str
    status: str  # the platform's own word, kept for people
    updated_at: datetime
    order: OrderCreate


@dataclass
class Notice:
    """One order a webhook speaks of: the full order when the webhook carries it."""

    external_id: str
    document: dict[str, Any] | None = None


@dataclass
class Inbound:
    """A webhook, read: its event id for deduplication and the orders it speaks of."""

    event_id: str
    notices: list[Notice] = field(default_factory=list)


@dataclass
class Page:
    documents: list[dict[str, Any]]
    next_cursor: str | None = None


class OrderClient(Protocol):
    def get_order(self, external_id: str) -> dict[str, Any] | None: ...

    def get_orders(self, external_ids: list[str]) -> list[dict[str, Any]]:
        """Many orders, in as few requests as the platform allows; unknown ones left out."""
        ...

    def list_orders(self, updated_since: datetime | None, cursor: str | None) -> Page: ...

    def ship(
        self,
        external_id: str,
        items: list[dict],
        carrier: str | None,
        tracking_number: str | None,
        key: str,
    ) -> None: ...

    def cancel(
        self, external_id: str, items: list[dict], reason: str | None, restock: bool, key: str
    ) -> None: ...

    def refund(
        self,
        external_id: str,
        items: list[dict],
        amount: int,
        currency: str,
        reason: str | None,
        key: str,
    ) -> None: ...


def why_no_orders(session: Session, channel: str | None) -> str | None:
    """When an orders filter names a channel (id or name) whose platform sends no orders,
    the line that says so; None otherwise."""
    if not channel:
        return None
    kind = session.scalar(
        select(Channel.kind).where(or_(Channel.id == channel, Channel.name == channel))
    )
    return orders_note(kind) if kind else None


def module(kind: str) -> ModuleType:
    if kind not in ORDER_KINDS:
        raise LookupError(f"{kind} channels do not send orders")
    return import_module(f"mercato.channels.{kind}.orders")


class Connection(Protocol):
    """A channel's connection as read for work done outside a transaction."""

    channel_id: str
    kind: str
    settings: dict[str, Any]
    credentials: dict[str, str]


def client_for(connection: Connection, http: httpx.Client, sessions: Sessions) -> OrderClient:
    """The channel's order client: an expired token is refreshed (and stored on the
    channel) where the platform has a refresh call, as for the catalog's sync."""
    kind, settings = connection.kind, connection.settings
    return tokens.for_channel(
        sessions,
        connection.channel_id,
        kind,
        lambda fresh: module(kind).OrderClient(settings, fresh, http),
        connection.credentials,
        http,
    )
