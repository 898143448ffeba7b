"""Orders coming in from the platforms: signed webhooks and polling, one set of rules.

Why here (orders) and not in channels: what a webhook *means* — dedupe, which order,
whether it moves forward, what happens to stock — is an order rule. Channels keep the
platform knowledge (``channels/<kind>/orders.py``: signatures, shapes, HTTP).

1. ``receive``: verify the signature on the raw bytes, read the event id, store the raw
   event once per (channel, event id) and queue its processing — one transaction, so an
   acknowledged event is always processed and a duplicate is never queued twice.
2. ``read_event`` (a short read) and ``fetch_orders`` (no transaction, may call the
   platform) make an ``OrderPull``; ``apply_pulled`` (one transaction) ``apply``-s its
   orders. Polling fills an ``OrderPull`` a page at a time the same way.
3. ``apply``: create the order (taking stock) or move it forward. Status events are
   compared by the platform's stage and update time: a late, older event never moves
   an order back. An order for stock Mercato no longer has is held with the reason and,
   per the store's policy, kept as a backorder or cancelled on the platform.

A burst of deliveries is acknowledged a batch per transaction (``WebhookBatcher``, group
commit, ``mercato.group_commit``). It earns its place on PostgreSQL: bench/webhooks.py,
1,500 new events then their 1,500 redeliveries from 16 senders, on a 2-core machine
shared with other work (load average 27-31), runs interleaved: PostgreSQL 218 and 198
new events acknowledged/s, p99 146 and 157 ms, against 96 and 121/s, p99 461 and 584 ms
with one transaction per delivery; SQLite 338 and 536/s, p99 108 and 91 ms, against 70
and 86/s, p99 651 and 553 ms. Every redelivery was answered as a duplicate either way.
``MERCATO_WEBHOOK_GROUP_COMMIT=0`` writes each delivery alone (the comparison).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

import orjson
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from mercato import jobs, wakeups
from mercato.catalog.models import Variant
from mercato.channels import crypto
from mercato.channels import http as channel_http
from mercato.channels import orders as platforms
from mercato.channels.models import Channel
from mercato.config import get_settings
from mercato.db import Sessions, new_id, transaction, utcnow
from mercato.errors import BadSignature, MalformedPayload, MercatoError, NotFound, PayloadTooLarge
from mercato.group_commit import GroupCommit
from mercato.inserts import insert_or_ignore
from mercato.orders import creation, lifecycle, push, screening, timeline
from mercato.orders.models import InboundEvent, Order, OrderSyncCursor

logger = logging.getLogger("mercato.orders")

MAX_BODY = 256 * 1024  # bytes; order notifications are a few kB
PROCESS_JOB = "orders.process_inbound"
# Events one worker call processes: one order fetch (TikTok's Get Order Detail takes
# 50 ids) and one transaction.
PROCESS_BATCH = 50
OVERSOLD_POLICIES = ("backorder", "cancel")
# Polling reads a little before its cursor: platforms stamp updates at second precision.
POLL_OVERLAP = timedelta(minutes=2)
MAX_POLL_PAGES = 100


@lru_cache(maxsize=256)
def _credentials(encrypted: str) -> dict[str, str]:
    return crypto.decrypt(encrypted)


def _order_channel(session: Session, channel_id: str) -> Channel:
    channel = session.get(Channel, channel_id)
    if channel is None or channel.kind not in platforms.ORDER_KINDS:
        raise NotFound("No such webhook.")
    return channel


# ---------------------------------------------------------------- receiving


@dataclass
class Receipt:
    event_id: str
    duplicate: bool


@dataclass(frozen=True)
class Delivery:
    """One webhook delivery as it came: the raw bytes and the headers."""

    channel_id: str
    raw: bytes
    headers: dict[str, str]


@dataclass
class _Verified:
    channel_id: str
    event_id: str
    order_key: str | None


def receive(session: Session, channel_id: str, raw: bytes, headers) -> Receipt:
    """Verify, store once, queue processing. Nothing is stored unless all checks pass."""
    [outcome] = receive_many(session, [Delivery(channel_id, raw, dict(headers))])
    if isinstance(outcome, MercatoError):
        raise outcome
    return outcome


def receive_many(session: Session, deliveries: list[Delivery]) -> list[Receipt | MercatoError]:
    """``receive`` for many deliveries in one transaction: one insert of the events that
    are new, one of their jobs. Each gets its receipt, or the error that refused it
    (then nothing of it is stored)."""
    outcomes: list[Receipt | MercatoError | None] = [None] * len(deliveries)
    verified: dict[int, _Verified] = {}
    channels: dict[str, Channel] = {}
    for index, delivery in enumerate(deliveries):
        try:
            channel = channels.get(delivery.channel_id)
            if channel is None:
                channel = channels[delivery.channel_id] = _order_channel(
                    session, delivery.channel_id
                )
            verified[index] = _verify(channel, delivery)
        except MercatoError as refused:
            outcomes[index] = refused
    rows = {
        index: {
            "id": new_id("inb"),
            "channel_id": v.channel_id,
            "event_id": v.event_id,
            "body": deliveries[index].raw,
            "state": "received",
            "received_at": utcnow(),
        }
        for index, v in verified.items()
    }
    stored = set()
    if rows:
        stored = set(session.scalars(_store_events(session), list(rows.values())).all())
    # Events about the same order are processed one at a time, in arrival order.
    jobs.enqueue_new(
        session,
        PROCESS_JOB,
        [
            ({"inbound_id": rows[index]["id"]}, verified[index].order_key)
            for index in sorted(rows)
            if rows[index]["id"] in stored
        ],
    )
    for index, v in verified.items():
        outcomes[index] = Receipt(v.event_id, duplicate=rows[index]["id"] not in stored)
    return outcomes


_STORE_EVENTS: dict[str, Any] = {}


def _store_events(session: Session):
    """The insert of new events (one per channel and event id; returns the ids stored),
    built once per database, on the table: the ORM's bulk insert of the same rows cost
    the API more than the rest of acknowledging a batch."""
    dialect = session.get_bind().dialect.name
    if dialect not in _STORE_EVENTS:
        table = InboundEvent.__table__
        _STORE_EVENTS[dialect] = insert_or_ignore(
            session, table, ("channel_id", "event_id")
        ).returning(table.c.id)
    return _STORE_EVENTS[dialect]


def _verify(channel: Channel, delivery: Delivery) -> _Verified:
    PayloadTooLarge.check(len(delivery.raw), MAX_BODY)
    headers = {key.lower(): value for key, value in delivery.headers.items()}
    module = platforms.module(channel.kind)
    if not module.verify(_credentials(channel.credentials_encrypted), delivery.raw, headers):
        raise BadSignature("The webhook's signature is missing or does not match its body.")
    try:
        inbound = module.read(orjson.loads(delivery.raw), delivery.raw, headers)
    except (orjson.JSONDecodeError, ValueError, KeyError, TypeError) as exc:
        raise MalformedPayload(f"The body is not a {channel.kind} notification: {exc}") from None
    if not inbound.event_id or len(inbound.event_id) > 255:
        raise MalformedPayload("The notification has no usable event id.")
    key = f"{channel.id}:{inbound.notices[0].external_id}" if inbound.notices else None
    return _Verified(channel.id, inbound.event_id, key)


class WebhookBatcher(GroupCommit[Delivery]):
    """One per API process: webhook deliveries stored a batch at a time, so a platform's
    burst is acknowledged at the rate of one transaction per batch, not per delivery."""

    def key(self, delivery: Delivery) -> None:
        return None  # twins in one batch: the insert keeps one, the other is a duplicate

    def write_batch(self, session: Session, deliveries: list[Delivery]) -> list:
        return receive_many(session, deliveries)

    def write_one(self, session: Session, delivery: Delivery) -> Receipt:
        return receive(session, delivery.channel_id, delivery.raw, delivery.headers)


# ---------------------------------------------------------------- processing


@dataclass
class OrderPull:
    """Orders pulled from one channel: its connection (read in a short read transaction),
    the notices of the event being processed, and the order documents fetched."""

    inbound_id: str | None
    channel_id: str
    kind: str
    base_url: str
    settings: dict[str, Any]
    credentials: dict[str, str]
    notices: list[platforms.Notice] = field(default_factory=list)
    documents: list[dict] = field(default_factory=list)


def _pull_for(channel: Channel, inbound_id: str | None = None) -> OrderPull:
    return OrderPull(
        inbound_id,
        channel.id,
        channel.kind,
        channel.base_url,
        dict(channel.settings or {}),
        _credentials(channel.credentials_encrypted),
    )


def read_event(session: Session, inbound_id: str) -> OrderPull | None:
    event = session.get(InboundEvent, inbound_id)
    if event is None or event.state == "processed":
        return None
    return _pull_of(session, event)


def _pull_of(session: Session, event: InboundEvent, channels: dict | None = None) -> OrderPull:
    # Held in ``channels`` across a batch: the session's identity map would let it go.
    channel = (channels or {}).get(event.channel_id) or session.get(Channel, event.channel_id)
    if channels is not None:
        channels[event.channel_id] = channel
    module = platforms.module(channel.kind)
    raw = bytes(event.body)
    pull = _pull_for(channel, event.id)
    pull.notices = module.read(orjson.loads(raw), raw, {"webhook-id": event.event_id}).notices
    return pull


def fetch_orders(sessions: Sessions, pull: OrderPull) -> OrderPull:
    """Fetch the orders the event names but does not carry (HTTP; no transaction)."""
    failed = fetch_many(sessions, {0: pull})
    if failed:
        raise failed[0]
    return pull


def apply_pulled(
    session: Session, pull: OrderPull, imports: list[Imported] | None = None
) -> list[Order]:
    """Apply the pulled orders and mark the event processed (one transaction). Given
    ``imports``, new orders' stock is left for ``finish_imports``, and the event for
    ``mark_processed``."""
    channel = session.get(Channel, pull.channel_id)
    module = platforms.module(pull.kind)
    applied = [
        apply(session, channel, module.to_order(doc, channel.id), imports) for doc in pull.documents
    ]
    if pull.inbound_id and imports is None:
        mark_processed(session, [pull.inbound_id])
    return applied


def mark_processed(session: Session, inbound_ids: list[str]) -> None:
    """One UPDATE. A batch makes it last: a redelivery of the event (an insert that
    meets its row) waits for the transaction that updated the row to end. PostgreSQL,
    bench/webhooks.py, 1,000 events: redeliveries 114 to 117/s, p99 2 to 3 s, with each
    event marked in its savepoint; 847 to 1,180/s, p99 81 to 110 ms marked last."""
    if inbound_ids:
        session.execute(
            update(InboundEvent)
            .where(InboundEvent.id.in_(inbound_ids))
            .values(state="processed", processed_at=utcnow(), error=None)
            # The session holds none of these events: nothing in it to bring up to date.
            .execution_options(synchronize_session=False)
        )


def process_events(
    read_sessions: sessionmaker[Session], sessions: sessionmaker[Session], inbound_ids: list[str]
) -> list[Exception | None]:
    """Process many received events at once; each one's outcome, in order (None: done,
    or nothing left to do).

    One read of the events; per channel one order fetch in as few requests as the
    platform allows (TikTok: 50 orders a request), with no transaction open; then one
    transaction (``_apply_together``) where the new orders of every event are created
    together (``creation.create_orders``), each event's other changes are applied in
    its own savepoint, so an event that fails (its outcome is the exception) changes
    nothing and the others are applied, and the stock of all new orders is taken at
    once at the end.

    A batch of new orders costs the same statements whatever its size: 40 cost 21 on
    PostgreSQL (COPYs aside) and 30 on SQLite, the stock one guarded UPDATE per stock
    level for the whole batch (``inventory.reservations.reserve_many``); it was 61 and 70
    with one such UPDATE per order, and 1,065 for 50 orders created one by one in the
    batch. Figures from before the stock was taken in one UPDATE: bench/webhooks.py, 100,
    1,000 and 10,000 events, 2-core machine shared with other work, two rounds run
    interleaved with the orders created one by one: PostgreSQL with 2 workers 70 to
    103, 94 to 163 and 117 to 132 events to orders/s against 36 to 49, 48 to 62 and 54
    to 67, acknowledged meanwhile 107 to 250/s against 88 to 164/s (load 5 to 16);
    SQLite, embedded worker, batches of 10 (``jobs.worker.SQLITE_BATCH``), 114 to 154,
    135 to 191 and 100 to 138/s against 40 to 72, 65 to 72 and 57 to 66/s, acknowledged
    132 to 304/s against 61 to 101/s (load 5 to 15). Every order of the bench takes the
    same SKU, whose stock level a batch holds locked from its stock step to its commit:
    the shorter that step, the less the other worker waits.
    """
    outcomes: list[Exception | None] = [None] * len(inbound_ids)
    pulls: dict[int, OrderPull] = {}
    channels: dict[str, Channel] = {}
    with read_sessions() as session:
        events = {
            e.id: e
            for e in session.scalars(select(InboundEvent).where(InboundEvent.id.in_(inbound_ids)))
        }
        for index, inbound_id in enumerate(inbound_ids):
            event = events.get(inbound_id)
            if event is None or event.state == "processed":
                continue
            try:
                pulls[index] = _pull_of(session, event, channels)
            except Exception as exc:  # noqa: BLE001 - this event's failure, not the batch's
                outcomes[index] = exc
    for index, failure in fetch_many(Sessions(sessions, read_sessions), pulls).items():
        outcomes[index] = failure
    ready = {index: pull for index, pull in pulls.items() if outcomes[index] is None}
    if not ready:
        return outcomes
    try:
        with transaction(sessions) as session:
            _apply_together(session, ready, outcomes)
    except Exception:  # noqa: BLE001 - each event again on its own, so that one fails alone
        logger.warning("applying %d events together failed", len(ready), exc_info=True)
        for index, pull in ready.items():
            try:
                with transaction(sessions) as session:
                    apply_pulled(session, pull)
                outcomes[index] = None
            except Exception as exc:  # noqa: BLE001 - this event's failure
                outcomes[index] = exc
    return outcomes


def _apply_together(session: Session, ready: dict[int, OrderPull], outcomes: list) -> None:
    """The new orders of every event created together (``_create_together``); then
    each event's other changes in its savepoint (one that fails is undone and gets its
    exception); then the stock of every new order at once, last: the stock levels,
    which every order of a drop shares, stay locked only from there to the commit. A
    failure outside a savepoint fails the whole transaction (the caller then applies
    each event on its own)."""
    # Signalled once here for every event of the batch, outside their savepoints.
    wakeups.signal(session)
    parsed, created = _create_together(session, ready, outcomes)
    imports: list[Imported] = []
    for index, pull in ready.items():
        if outcomes[index] is not None:
            continue
        news = [created[id(i)] for i in parsed[index] if id(i) in created]
        rest = [i for i in parsed[index] if id(i) not in created]
        mine: list[Imported] = []
        if rest:
            channel = session.get(Channel, pull.channel_id)
            try:
                with session.begin_nested():
                    for incoming in rest:
                        apply(session, channel, incoming, mine)
            except Exception as exc:  # noqa: BLE001 - this event's failure, not the batch's
                if news:  # its new orders were written outside the savepoint
                    raise
                outcomes[index] = exc
                continue
        imports += news + mine
    finish_imports(session, imports)
    mark_processed(
        session,
        [pull.inbound_id for index, pull in ready.items() if outcomes[index] is None],
    )


def _create_together(
    session: Session, ready: dict[int, OrderPull], outcomes: list
) -> tuple[dict[int, list[platforms.PlatformOrder]], dict[int, Imported]]:
    """Read every event's orders and create the new ones in one ``create_orders`` per
    platform: a batch of new orders costs a few statements, not a few per order. An
    event whose order is refused (or cannot be read) gets the error and changes nothing.
    Returns each event's orders and, by ``id()`` of the incoming order, those created
    (their stock still to be taken)."""
    parsed: dict[int, list[platforms.PlatformOrder]] = {}
    first: dict[tuple[str, str], tuple[int, Channel, platforms.PlatformOrder]] = {}
    for index, pull in ready.items():
        channel = session.get(Channel, pull.channel_id)
        module = platforms.module(pull.kind)
        try:
            parsed[index] = [module.to_order(doc, channel.id) for doc in pull.documents]
        except Exception as exc:  # noqa: BLE001 - this event's failure, not the batch's
            outcomes[index] = exc
            continue
        for incoming in parsed[index]:
            first.setdefault((channel.id, incoming.external_id), (index, channel, incoming))
    # Orders seen again in the batch, and those that exist, follow the one-by-one path.
    candidates = list(first.values())
    unknown = _known_lines(session, [incoming for _, _, incoming in candidates])
    created: dict[int, Imported] = {}
    refused: set[int] = set()
    by_kind: dict[str, list[int]] = {}
    for n, (_, channel, _) in enumerate(candidates):
        by_kind.setdefault(channel.kind, []).append(n)
    for kind, numbers in by_kind.items():
        actor = f"channel:{kind}"
        made = creation.create_orders(
            session,
            [candidates[n][2].order for n in numbers],
            actor=actor,
            external=[(candidates[n][2].status, candidates[n][2].updated_at) for n in numbers],
        )
        for n, outcome in zip(numbers, made, strict=True):
            index, channel, incoming = candidates[n]
            if isinstance(outcome, Exception):
                outcomes[index] = outcome
                refused.add(index)
            elif outcome[1]:
                created[id(incoming)] = Imported(channel, outcome[0], incoming, unknown[n], actor)
    if any(id(i) in created for index in refused for i in parsed[index]):
        # An event refused with another of its orders made: undone by the caller.
        raise RuntimeError("an event's orders were partly refused")
    return parsed, created


def fetch_many(sessions: Sessions, pulls: dict[int, OrderPull]) -> dict[int, Exception]:
    """``fetch_orders`` for many pulls: per channel, the orders none of them carries
    fetched together. Returns the pulls whose fetch failed, with the failure."""
    failed: dict[int, Exception] = {}
    by_channel: dict[str, list[int]] = {}
    for index, pull in pulls.items():
        pull.documents = [n.document for n in pull.notices if n.document is not None]
        if any(n.document is None for n in pull.notices):
            by_channel.setdefault(pull.channel_id, []).append(index)
    for indexes in by_channel.values():
        first = pulls[indexes[0]]
        wanted = [n.external_id for i in indexes for n in pulls[i].notices if n.document is None]
        try:
            with channel_http.open_client(first.base_url) as http:
                client = platforms.client_for(first, http, sessions)
                found = {str(doc["id"]): doc for doc in client.get_orders(wanted)}
        except Exception as exc:  # noqa: BLE001 - the platform's trouble fails these pulls only
            failed.update(dict.fromkeys(indexes, exc))
            continue
        for index in indexes:
            pulls[index].documents += [
                found[n.external_id]
                for n in pulls[index].notices
                if n.document is None and n.external_id in found
            ]
    return failed


# ---------------------------------------------------------------- the rules


def _stage_of(channel: Channel, order: Order) -> str | None:
    if order.external_status is None:
        return None
    return platforms.module(channel.kind).STAGE.get(order.external_status)


def is_stale(channel: Channel, order: Order, incoming: platforms.PlatformOrder) -> bool:
    """Older than what we have, or a stage behind it: never applied."""
    if order.external_updated_at and incoming.updated_at < order.external_updated_at:
        return True
    return platforms.stage_rank(incoming.stage) < platforms.stage_rank(_stage_of(channel, order))


def oversold_policy(channel: Channel) -> str:
    policy = (channel.settings or {}).get("oversold_policy") or get_settings().oversold_policy
    return policy if policy in OVERSOLD_POLICIES else "backorder"


def _known_lines(session: Session, orders: list[platforms.PlatformOrder]) -> list[list[str]]:
    """Lines whose SKU Mercato does not know become custom lines; returns those SKUs,
    each order's, from one query."""
    skus = {line.sku for incoming in orders for line in incoming.order.lines if line.sku}
    known = (
        set(session.scalars(select(Variant.sku).where(Variant.sku.in_(skus)))) if skus else set()
    )
    unknown: list[list[str]] = []
    for incoming in orders:
        unknown.append([])
        for line in incoming.order.lines:
            if line.sku and line.sku not in known:
                unknown[-1].append(line.sku)
                line.title = line.title or line.sku
                line.sku = None
    return unknown


@dataclass
class Imported:
    """A new platform order whose stock is still to be taken (``finish_imports``)."""

    channel: Channel
    order: Order
    incoming: platforms.PlatformOrder
    unknown: list[str]
    actor: str


def apply(
    session: Session,
    channel: Channel,
    incoming: platforms.PlatformOrder,
    imports: list[Imported] | None = None,
) -> Order:
    """Create the order or move it forward. Given ``imports``, a new order's stock is
    left for ``finish_imports`` and the order added there."""
    actor = f"channel:{channel.kind}"
    order = session.scalar(
        select(Order).where(Order.channel == channel.id, Order.external_id == incoming.external_id)
    )
    if order is None:
        [unknown] = _known_lines(session, [incoming])
        order, created = creation.create_order(
            session, incoming.order, actor=actor, deduct_stock=imports is None
        )
        if created:
            order.external_status = incoming.status
            order.external_updated_at = incoming.updated_at
            if imports is None:
                _after_import(session, channel, order, incoming, unknown, actor)
            else:
                imports.append(Imported(channel, order, incoming, unknown, actor))
            return order
    if is_stale(channel, order, incoming) or (
        order.external_updated_at == incoming.updated_at
        and order.external_status == incoming.status
    ):
        return order
    order.external_status = incoming.status
    order.external_updated_at = incoming.updated_at
    _follow(session, channel, order, incoming, actor)
    return order


def finish_imports(session: Session, imports: list[Imported]) -> None:
    """Take the stock of new orders all at once, then flag the ones it was short for."""
    creation.take_stock(session, [(i.order, i.actor) for i in imports])
    current = screening.policy(session) if imports else None  # once for the batch
    for i in imports:
        _after_import(session, i.channel, i.order, i.incoming, i.unknown, i.actor, current)


def _after_import(
    session: Session,
    channel: Channel,
    order: Order,
    incoming: platforms.PlatformOrder,
    unknown: list[str],
    actor: str,
    current: screening.Policy | None = None,
) -> None:
    reasons = []
    if order.stock_state == "short":
        short = order.timeline[-1].message.removeprefix("Stock not taken: ")
        reasons.append(f"sold on {channel.name} without the stock: {short}")
    if unknown:
        reasons.append(f"unknown SKU(s) {', '.join(sorted(set(unknown)))}")
    if incoming.stage == "cancelled":
        _follow(session, channel, order, incoming, actor)
        return
    if reasons:
        lifecycle.hold(session, order.id, "Needs attention: " + "; ".join(reasons), actor=actor)
        if (
            order.stock_state == "short"
            and oversold_policy(channel) == "cancel"
            and push.exchanges_orders(channel)
        ):
            lifecycle.cancel(session, order.id, "out of stock", restock=False, actor=actor)
    if order.status != "cancelled":
        # No platform documents a risk flag on its orders yet (docs/fraud.md): the
        # order's own buyer, amount and countries are screened.
        screening.screen(session, order, screening.signals_of(order), current)


def _follow(
    session: Session, channel: Channel, order: Order, incoming: platforms.PlatformOrder, actor: str
) -> None:
    """Take the platform's newer stage into Mercato's own state machine."""
    rank = platforms.stage_rank(incoming.stage)
    if incoming.stage == "cancelled":
        if order.status != "cancelled":
            if order.fulfillment_status == "unfulfilled":
                lifecycle.cancel(
                    session,
                    order.id,
                    f"cancelled on {channel.name}",
                    restock=True,
                    actor=actor,
                    notify_platform=False,
                )
            else:
                timeline.note(
                    session,
                    order.id,
                    actor,
                    "platform_cancelled",
                    f"{channel.name} cancelled an order with shipped items.",
                )
        return
    if rank >= platforms.stage_rank("paid") and order.payment_status == "pending":
        lifecycle.mark_paid(session, order.id, actor=actor)


# ---------------------------------------------------------------- polling


def poll_targets(session: Session) -> list[OrderPull]:
    return [
        _pull_for(c)
        for c in session.scalars(select(Channel).order_by(Channel.id))
        if push.exchanges_orders(c)
    ]


def cursor_of(session: Session, channel_id: str) -> datetime | None:
    row = session.get(OrderSyncCursor, channel_id)
    return row.updated_since if row else None


def save_cursor(
    session: Session, channel_id: str, documents_applied: list[Order], now: datetime
) -> None:
    row = session.get(OrderSyncCursor, channel_id)
    if row is None:
        row = OrderSyncCursor(channel_id=channel_id)
        session.add(row)
    seen = [o.external_updated_at for o in documents_applied if o.external_updated_at]
    if seen:
        row.updated_since = max([*seen, *([row.updated_since] if row.updated_since else [])])
    row.polled_at = now


def poll_since(cursor: datetime | None) -> datetime | None:
    return cursor - POLL_OVERLAP if cursor else None
