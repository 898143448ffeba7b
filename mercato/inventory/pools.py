"""Ring-fenced stock: a variant's free units split into channel pools (TikTok 40, the
storefront 50, 10 held back) for a live event or a drop.

- A variant with pools sells on a channel only from that channel's pool: a hold or sale
  takes from it under the same locks as the stock guard (``Fences``, used by
  ``reservations.reserve_many``), and a channel without a pool gets nothing.
- Each channel is pushed its pool, never more (``availability.available_for_many``).
- The pools never sum past the variant's free units (on hand less held): every change
  locks the variant's stock levels first (the one lock order, ``lock_objects``), then
  fences with a conditional UPDATE whose WHERE sums the pools and the stock levels
  (``queries.FENCE_MORE``); the CHECKs keep each pool's counts at zero or more.
- Every move (fenced, moved between pools, let go) is a row of the pools' ledger
  (``PoolMove``) and an ``inventory.changed``, so platforms are pushed their new pool.

Held-back units are the free units no pool fences: nobody sells them until they are
moved into a pool (``move``) or the pools are let go (``dissolve``).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from mercato.db import insert_rows, new_id
from mercato.errors import Conflict, FieldError, ValidationFailed
from mercato.inventory import lock_objects
from mercato.inventory.availability import InsufficientStock, Stock, as_of
from mercato.inventory.ledger import pool_move_row, record_changes
from mercato.inventory.queries import (
    FENCE_LESS,
    FENCE_MORE,
    FREE_UNITS,
    POOLS_OF_VARIANTS,
    TAKE_FROM_POOL,
    insert_or_ignore,
    pool_moves_table,
    pools_table,
)


@dataclass
class Pool:
    id: str
    variant_id: str
    channel: str
    units: int
    held: int
    sold: int
    source: str | None


@dataclass
class PoolsOfVariant:
    """A variant's pools as read under its stock levels' locks."""

    variant_id: str
    free: int
    pools: dict[str, Pool] = field(default_factory=dict)

    @property
    def fenced(self) -> int:
        return sum(p.units for p in self.pools.values())

    @property
    def held_back(self) -> int:
        return max(0, self.free - self.fenced)


def read_pools(session: Session, variant_ids: Collection[str]) -> dict[str, dict[str, Pool]]:
    """Pools of the variants, by variant id then channel; variants without pools left out."""
    found: dict[str, dict[str, Pool]] = {}
    if not variant_ids:
        return found
    for row in session.execute(POOLS_OF_VARIANTS, {"ids": sorted(set(variant_ids))}):
        found.setdefault(row.variant_id, {})[row.channel] = Pool(*row)
    return found


def pools_of(session: Session, variant_id: str) -> PoolsOfVariant:
    free = session.scalar(select(FREE_UNITS), {"of_variant": variant_id}) or 0
    return PoolsOfVariant(variant_id, free, read_pools(session, [variant_id]).get(variant_id, {}))


class Fences:
    """The pools of a batch of reservations (``reserve_many``), read after the stock levels
    were locked: each request is checked and taken from them in memory, in turn, then
    ``write`` takes the sum from each pool with one guarded UPDATE."""

    def __init__(self, session: Session, stocks: Mapping[str, Stock]) -> None:
        guarded = [v for v, stock in stocks.items() if stock.tracked and not stock.oversells]
        self.pools = read_pools(session, guarded)
        self.taken: dict[str, list[int]] = {}

    def check(self, channel: str, wanted: Mapping[str, int], stocks: Mapping[str, Stock]) -> None:
        """Raise ``InsufficientStock`` when a fenced variant's pool on ``channel`` has too
        few units for the request; nothing is taken then."""
        short = []
        for variant_id, quantity in wanted.items():
            pools = self.pools.get(variant_id)
            if pools is None:
                continue
            pool = pools.get(channel)
            units = pool.units if pool else 0
            if units < quantity:
                short.append((variant_id, quantity, units))
        if short:
            raise InsufficientStock(
                f"Not enough stock for {channel} for {len(short)} line(s); nothing was reserved.",
                [
                    FieldError(
                        ("lines",),
                        f"{stocks[v].sku or v}: {q} requested, {u} available on {channel}",
                        "insufficient_stock",
                    )
                    for v, q, u in short
                ],
                {
                    "lines": [
                        {"sku": stocks[v].sku, "variant_id": v, "requested": q, "available": u}
                        for v, q, u in short
                    ],
                    "channel": channel,
                },
            )

    def take(self, channel: str, wanted: Mapping[str, int], *, sell: bool) -> None:
        for variant_id, quantity in wanted.items():
            pool = self.pools.get(variant_id, {}).get(channel)
            if pool is None:
                continue
            pool.units -= quantity
            counts = self.taken.setdefault(pool.id, [0, 0])
            counts[1 if sell else 0] += quantity

    def units(self) -> dict[str, dict[str, int]]:
        """Unsold units per variant and channel once the batch is written."""
        return {v: {ch: p.units for ch, p in pools.items()} for v, pools in self.pools.items()}

    def write(self, session: Session) -> None:
        for pool_id, (held, sold) in sorted(self.taken.items()):
            params = {"pool_id": pool_id, "take": held + sold, "add_held": held, "add_sold": sold}
            if session.execute(TAKE_FROM_POOL, params).rowcount != 1:
                raise Conflict("The stock changed while it was locked; try again.")


def _lock(session: Session, variant_id: str) -> None:
    lock_objects.stock_levels_of_variants(session, [variant_id], [])


def _pool_id(session: Session, variant_id: str, channel: str, source: str | None, now) -> str:
    session.execute(
        insert_or_ignore(session, pools_table),
        {
            "id": new_id("pol"),
            "variant_id": variant_id,
            "channel": channel,
            "units": 0,
            "held": 0,
            "sold": 0,
            "source": source,
            "updated_at": now,
        },
    )
    return session.scalar(
        select(pools_table.c.id).where(
            pools_table.c.variant_id == variant_id, pools_table.c.channel == channel
        )
    )


def _fence_more(session: Session, pool_id: str, variant_id: str, units: int, now) -> None:
    done = session.execute(
        FENCE_MORE, {"pool_id": pool_id, "of_variant": variant_id, "n": units, "now": now}
    ).rowcount
    if done != 1:
        state = pools_of(session, variant_id)
        raise InsufficientStock(
            f"Only {state.held_back} unfenced unit(s) left; {units} asked.",
            [FieldError(("units",), f"at most {state.held_back} more", "insufficient_stock")],
            {"free": state.free, "fenced": state.fenced},
        )


def _fence_less(session: Session, pool_id: str, channel: str, units: int, now) -> None:
    if session.execute(FENCE_LESS, {"pool_id": pool_id, "n": units, "now": now}).rowcount != 1:
        raise InsufficientStock(
            f"The {channel} pool has fewer than {units} unsold unit(s).",
            [FieldError(("units",), "more than the pool has unsold", "insufficient_stock")],
        )


def fence(
    session: Session,
    variant_id: str,
    plan: Mapping[str, int],
    *,
    source: str | None = None,
    actor: str = "system",
    reason: str | None = None,
    now: datetime | None = None,
) -> PoolsOfVariant:
    """Set the unsold units of each channel's pool (channel -> units); other pools stay.
    Pools that shrink are done first, so units can move in one call. All or nothing:
    ``InsufficientStock`` when the pools would fence more than is free."""
    now = as_of(now)
    bad = [FieldError(("pools", ch), "must be 0 or more") for ch, u in plan.items() if u < 0]
    if bad:
        raise ValidationFailed("Pool sizes are units: 0 or more.", bad)
    _lock(session, variant_id)
    current = read_pools(session, [variant_id]).get(variant_id, {})
    moves = []
    changes = sorted(
        ((ch, units - (current[ch].units if ch in current else 0)) for ch, units in plan.items()),
        key=lambda change: (change[1], change[0]),
    )
    for channel, delta in changes:
        if delta == 0 and channel in current:
            continue
        pool_id = (
            current[channel].id
            if channel in current
            else _pool_id(session, variant_id, channel, source, now)
        )
        if delta > 0:
            _fence_more(session, pool_id, variant_id, delta, now)
        elif delta < 0:
            _fence_less(session, pool_id, channel, -delta, now)
        if delta:
            fenced, let_go = (None, channel) if delta > 0 else (channel, None)
            moves.append(
                pool_move_row(
                    variant_id,
                    fenced,
                    let_go,
                    abs(delta),
                    actor=actor,
                    now=now,
                    reason=reason,
                    reference=source,
                )
            )
    insert_rows(session, pool_moves_table, moves)
    record_changes(session, [variant_id], now=now)
    return pools_of(session, variant_id)


def move(
    session: Session,
    variant_id: str,
    from_channel: str | None,
    to_channel: str | None,
    units: int,
    *,
    source: str | None = None,
    actor: str = "system",
    reason: str | None = None,
    now: datetime | None = None,
) -> PoolsOfVariant:
    """Move unsold units from one pool to another (None: the held-back units)."""
    now = as_of(now)
    if units <= 0:
        raise ValidationFailed("Move at least one unit.", [FieldError(("units",), "at least 1")])
    if from_channel == to_channel:
        raise ValidationFailed(
            "A move needs two different pools.", [FieldError(("to",), "same as from")]
        )
    _lock(session, variant_id)
    current = read_pools(session, [variant_id]).get(variant_id, {})
    if from_channel is not None:
        if from_channel not in current:
            raise InsufficientStock(
                f"No {from_channel} pool to move units from.",
                [FieldError(("from",), "no such pool", "unknown")],
            )
        _fence_less(session, current[from_channel].id, from_channel, units, now)
    if to_channel is not None:
        pool_id = (
            current[to_channel].id
            if to_channel in current
            else _pool_id(session, variant_id, to_channel, source, now)
        )
        _fence_more(session, pool_id, variant_id, units, now)
    insert_rows(
        session,
        pool_moves_table,
        [
            pool_move_row(
                variant_id,
                from_channel,
                to_channel,
                units,
                actor=actor,
                now=now,
                reason=reason,
                reference=source,
            )
        ],
    )
    record_changes(session, [variant_id], now=now)
    return pools_of(session, variant_id)


def dissolve(
    session: Session,
    variant_ids: Iterable[str],
    *,
    actor: str = "system",
    reason: str | None = None,
    reference: str | None = None,
    now: datetime | None = None,
) -> dict[str, dict[str, Pool]]:
    """Let every pool of the variants go: their units are everyone's again. Returns the
    pools as they were (what each channel sold)."""
    now = as_of(now)
    variant_ids = sorted(set(variant_ids))
    if not variant_ids:
        return {}
    lock_objects.stock_levels_of_variants(session, variant_ids, [])
    before = read_pools(session, variant_ids)
    session.execute(delete(pools_table).where(pools_table.c.variant_id.in_(variant_ids)))
    insert_rows(
        session,
        pool_moves_table,
        [
            pool_move_row(
                pool.variant_id,
                pool.channel,
                None,
                pool.units,
                actor=actor,
                now=now,
                reason=reason,
                reference=reference,
            )
            for pools in before.values()
            for pool in pools.values()
            if pool.units > 0
        ],
    )
    record_changes(session, before, now=now)
    return before


def rebalance(
    session: Session,
    variant_id: str,
    *,
    source: str | None = None,
    actor: str = "system:rebalance",
    now: datetime | None = None,
) -> PoolsOfVariant:
    """The scheduled rule: the unsold units of every pool, and the held-back ones, are
    spread across the pools in proportion to what each sold so far (evenly when none sold).
    Held-back units stay held back when no pool sold anything yet."""
    now = as_of(now)
    _lock(session, variant_id)
    state = pools_of(session, variant_id)
    if not state.pools:
        return state
    channels = sorted(state.pools)
    sold = {ch: state.pools[ch].sold for ch in channels}
    total_sold = sum(sold.values())
    spread = state.fenced + (state.held_back if total_sold else 0)
    if total_sold:
        shares = {ch: spread * sold[ch] // total_sold for ch in channels}
    else:
        shares = {ch: spread // len(channels) for ch in channels}
    # The units left by rounding go to the best sellers first.
    for ch in sorted(channels, key=lambda c: (-sold[c], c))[: spread - sum(shares.values())]:
        shares[ch] += 1
    if all(shares[ch] == state.pools[ch].units for ch in channels):
        return state
    return fence(
        session,
        variant_id,
        shares,
        source=source,
        actor=actor,
        reason="rebalanced by sales",
        now=now,
    )
