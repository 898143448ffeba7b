"""The reservation desk: reservations and settlements that arrive together are written
together (``mercato.group_commit``).

During a drop every buyer's request is one small transaction on the same stock row. The
desk writes a queue-full of them in one transaction: one claim of all references, one
stock read, then the one guarded UPDATE per stock level per request that decides who
gets a unit, then one insert each of lines, movements and events, and one commit.

Each request still gets its own outcome: a refused one (short stock, unknown SKU, reused
reference) undoes its own writes and fails alone, the rest commit. Should the batch's
transaction itself fail, every request in it is retried on its own.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, insert
from sqlalchemy.orm import Session

from mercato.db import new_id, utcnow
from mercato.errors import MercatoError
from mercato.group_commit import GroupCommit
from mercato.inventory import lock_objects, service
from mercato.inventory.schemas import ReservationLineInput
from mercato.inventory.service import (
    ALLOCATION_POLICIES,
    PLAN_ATTEMPTS,
    LineView,
    ReservationView,
)


@dataclass(frozen=True)
class Ask:
    """One reservation request, as ``service.reserve`` takes it."""

    lines: Sequence[ReservationLineInput]
    channel: str = "storefront"
    reference: str | None = None
    ttl_seconds: int | None = None
    allocation: str = "priority"
    sell: bool = False
    actor: str = "system"


@dataclass(frozen=True)
class Settle:
    """Commit or release one reservation."""

    reservation_id: str
    outcome: str  # committed | released
    actor: str = "system"


Outcome = ReservationView | MercatoError


def reserve_many(session: Session, asks: Sequence[Ask]) -> list[Outcome]:
    """``service.reserve`` for many requests in one transaction; each gets its own outcome.

    References must be distinct within one call (the desk sees to it).
    """
    now = utcnow()
    outcomes: list[Outcome | None] = [None] * len(asks)
    claims: dict[int, dict[str, Any]] = {}
    for index, ask in enumerate(asks):
        try:
            expires_at = now + service._hold_seconds(ask.ttl_seconds)
        except MercatoError as refused:
            outcomes[index] = refused
            continue
        claim_id = new_id("res")
        status, settled_at = ("committed", now) if ask.sell else ("active", None)
        claims[index] = {"id": claim_id, "channel": ask.channel,
                         "reference": ask.reference or claim_id, "status": status,
                         "expires_at": expires_at, "actor": ask.actor, "created_at": now,
                         "settled_at": settled_at}
    # Claim every reference at once: a twin in another process waits here, then replays.
    claimed = set()
    if claims:
        claimed = set(session.scalars(
            service._insert_or_ignore(session, service._reservations), list(claims.values()),
        ).all())
    stocks = service.read_stock(
        session, [ln.variant_id for i in claims for ln in asks[i].lines if ln.variant_id],
        [ln.sku for i in claims for ln in asks[i].lines if ln.sku], now)
    # The batch's requests take their stock levels in their own orders: lock them all
    # first, lowest id first, so that batches of two processes never wait on each other
    # in opposite orders (PostgreSQL; a SQLite writer holds the whole database anyway).
    lock_objects.stock_levels(session, [level.id for stock in stocks.values()
                                        for level in stock.levels])

    line_rows: list[dict[str, Any]] = []
    movements: list[dict[str, Any]] = []
    changed: set[str] = set()
    refused_claims = []
    for index, row in claims.items():
        ask = asks[index]
        if row["id"] not in claimed:
            outcomes[index] = _replayed(session, ask, row["reference"])
            continue
        try:
            wanted, plans = _hold(session, ask, stocks, now)
        except MercatoError as refused:
            outcomes[index] = refused
            refused_claims.append(row["id"])
            continue
        views = []
        state = "sold" if ask.sell else "held"
        for variant_id, quantity in wanted.items():
            plan = plans.get(variant_id, [])
            portions = [(level.id, level.location, units) for level, units in plan]
            backordered = quantity - sum(units for _, units in plan)
            if backordered:
                portions.append((None, None, backordered))
            for level_id, location, units in portions:
                line_rows.append({"id": new_id("rsl"), "reservation_id": row["id"],
                                  "variant_id": variant_id, "stock_level_id": level_id,
                                  "quantity": units, "state": state})
                views.append(LineView(variant_id, stocks[variant_id].sku, location, units,
                                      state))
                if level_id is not None:
                    movements.append(service._movement(
                        level_id, variant_id, "sale" if ask.sell else "reservation", units,
                        on_hand=-units if ask.sell else 0, reserved=0 if ask.sell else units,
                        actor=ask.actor, now=now, reference=row["reference"],
                        reservation_id=row["id"]))
        changed.update(plans)
        outcomes[index] = ReservationView(
            row["id"], row["channel"], row["reference"], row["status"], row["expires_at"],
            now, row["settled_at"], views)
    if refused_claims:
        session.execute(delete(service._reservations)
                        .where(service._reservations.c.id.in_(refused_claims)))
    if line_rows:
        session.execute(insert(service._lines), line_rows)
    service._write_movements(session, movements)
    service._record_changes(session, changed, stocks, now)
    return outcomes


def _hold(session: Session, ask: Ask, stocks: dict[str, service.Stock], now):
    """Plan and take one request's units against the batch's running stock picture;
    a plan gone stale (another process took units) is read again and retried."""
    policy = ALLOCATION_POLICIES[ask.allocation]
    for _ in range(PLAN_ATTEMPTS):
        wanted = service._wanted(ask.lines, stocks)
        plans, short = service._plan(wanted, stocks, policy)
        if short:
            raise service._insufficient(ask.lines, wanted, stocks, short)
        if service._take(session, [take for plan in plans.values() for take in plan],
                         ask.sell, now, ask.actor):
            return wanted, plans
        stocks.update(service.read_stock(session, wanted, now=now))
    wanted = service._wanted(ask.lines, stocks)
    plans, short = service._plan(wanted, stocks, policy)
    raise service._insufficient(ask.lines, wanted, stocks,
                                short or [v for v in wanted if not stocks[v].oversells])


def _replayed(session: Session, ask: Ask, reference: str) -> Outcome:
    try:
        return service._replay(session, ask.channel, reference, ask.lines)
    except MercatoError as refused:
        return refused


def settle_many(session: Session, settles: Sequence[Settle]) -> list[Outcome]:
    """Commit or release many reservations in one transaction, or raise if any of them
    is refused (the desk then settles each on its own, so each gets its own answer)."""
    outcomes: dict[Settle, ReservationView] = {}
    groups: dict[tuple[str, str], list[Settle]] = defaultdict(list)
    for settle in settles:
        groups[(settle.outcome, settle.actor)].append(settle)
    now = utcnow()
    lock_objects.stock_levels_of_reservations(session, [s.reservation_id for s in settles])
    for (outcome, actor), group in groups.items():
        ids = list(dict.fromkeys(s.reservation_id for s in group))
        views = dict(zip(ids, service._settle(session, ids, outcome, now, actor), strict=True))
        outcomes.update({s: views[s.reservation_id] for s in group})
    return [outcomes[s] for s in settles]


class Desk(GroupCommit[Ask | Settle]):
    """One per API process: reservations and settlements, a batch at a time."""

    async def reserve(self, ask: Ask) -> ReservationView:
        return await self.submit(ask)

    async def settle(self, settle: Settle) -> ReservationView:
        return await self.submit(settle)

    def key(self, request: Ask | Settle):
        if isinstance(request, Settle):
            return request.reservation_id
        return (request.channel, request.reference) if request.reference else None

    def write_batch(self, session: Session, requests: list[Ask | Settle]) -> list[Outcome]:
        if isinstance(requests[0], Settle):
            return settle_many(session, requests)
        return reserve_many(session, requests)

    def write_one(self, session: Session, request: Ask | Settle) -> ReservationView:
        if isinstance(request, Settle):
            settle = service.commit if request.outcome == "committed" else service.release
            return settle(session, request.reservation_id, actor=request.actor)
        return service.reserve(
            session, request.lines, channel=request.channel, reference=request.reference,
            ttl_seconds=request.ttl_seconds, allocation=request.allocation,
            sell=request.sell, actor=request.actor)
