"""Where a reservation's units come from, and taking them under the guard.

A plan is read without locks; the guard decides. Holding is one conditional UPDATE per
stock level, ``reserved = reserved + q WHERE on_hand - reserved >= q``, whose returned
row says whether it took; the CHECK ``0 <= reserved <= on_hand`` stands behind it. When
a hold needs units of lapsed reservations, the lapsed lines of that one stock level are
reclaimed first, in the same transaction, under that level's lock.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from mercato.errors import FieldError, ValidationFailed
from mercato.inventory import lock_objects
from mercato.inventory.availability import InsufficientStock, Level, Stock, read_stock
from mercato.inventory.ledger import reclaim_lapsed
from mercato.inventory.queries import HOLD_UNITS, MOVE_UNITS, SELL_UNITS
from mercato.inventory.schemas import ReservationLineInput

# A hold whose plan went stale under contention is planned again this many times.
PLAN_ATTEMPTS = 3

Allocation = list[tuple[Level, int]]
AllocationPolicy = Callable[[int, Sequence[Level]], Allocation | None]


def _fill(quantity: int, levels: Iterable[Level]) -> Allocation | None:
    plan: Allocation = []
    for level in levels:
        if quantity == 0:
            break
        units = min(quantity, level.available)
        if units > 0:
            plan.append((level, units))
            quantity -= units
    return plan if quantity == 0 else None


def allocate_by_priority(quantity: int, levels: Sequence[Level]) -> Allocation | None:
    """Take from the lowest-ranked location first, then the next (None: not enough)."""
    return _fill(quantity, sorted(levels, key=lambda lv: (lv.priority, lv.location)))


def allocate_by_most_stock(quantity: int, levels: Sequence[Level]) -> Allocation | None:
    """Take from the location with the most available units first."""
    return _fill(quantity, sorted(levels, key=lambda lv: (-lv.available, lv.priority, lv.location)))


ALLOCATION_POLICIES: dict[str, AllocationPolicy] = {
    "priority": allocate_by_priority,
    "most_stock": allocate_by_most_stock,
}


def _variant_of(line: ReservationLineInput, by_sku: Mapping[str, str]) -> str | None:
    return by_sku.get(line.sku) if line.sku is not None else line.variant_id


def _wanted(lines: Sequence[ReservationLineInput], stocks: Mapping[str, Stock]) -> dict[str, int]:
    """Units per variant id (lines naming the same variant add up); unknown ones fail."""
    by_sku = {s.sku: s.variant_id for s in stocks.values() if s.sku is not None}
    wanted: dict[str, int] = {}
    errors = []
    for index, line in enumerate(lines):
        variant_id = _variant_of(line, by_sku)
        if variant_id not in stocks:
            name = "sku" if line.sku is not None else "variant_id"
            errors.append(
                FieldError(
                    ("lines", index, name),
                    f"no variant with {name} {line.sku or line.variant_id!r}",
                    "unknown",
                )
            )
            continue
        wanted[variant_id] = wanted.get(variant_id, 0) + line.quantity
    if errors:
        raise ValidationFailed("The reservation names unknown variants.", errors)
    return wanted


def read_lines(
    session: Session, lines: Sequence[ReservationLineInput], now: datetime
) -> tuple[dict[str, int], dict[str, Stock]]:
    stocks = read_stock(
        session,
        [ln.variant_id for ln in lines if ln.variant_id is not None],
        [ln.sku for ln in lines if ln.sku is not None],
        now,
    )
    return _wanted(lines, stocks), stocks


def hold_lines(
    session: Session,
    lines: Sequence[ReservationLineInput],
    stocks: dict[str, Stock],
    now: datetime,
    *,
    allocation: str,
    sell: bool,
    actor: str,
) -> tuple[dict[str, int], dict[str, Allocation]]:
    """Plan where each line's units come from, then hold (or sell) them; returns the
    units wanted per variant and the plans.

    The plan is read without locks (``stocks``, kept current as units are held); the
    conditional UPDATEs decide. A plan gone stale under contention is read again and
    tried again.
    """
    policy = ALLOCATION_POLICIES[allocation]
    for _ in range(PLAN_ATTEMPTS):
        wanted = _wanted(lines, stocks)
        plans, short = _plan(wanted, stocks, policy)
        if short:
            raise _insufficient(lines, wanted, stocks, short)
        planned = [portion for plan in plans.values() for portion in plan]
        if _hold_planned(session, planned, sell, now, actor):
            return wanted, plans
        stocks.update(read_stock(session, wanted, now=now))
    wanted = _wanted(lines, stocks)
    plans, short = _plan(wanted, stocks, policy)
    raise _insufficient(
        lines, wanted, stocks, short or [v for v in wanted if not stocks[v].oversells]
    )


def _plan(
    wanted: Mapping[str, int], stocks: Mapping[str, Stock], policy: AllocationPolicy
) -> tuple[dict[str, Allocation], list[str]]:
    """Where each variant's units come from; and the guarded variants that fall short.
    A `continue` variant that falls short is backordered whole; untracked ones hold nothing."""
    plans: dict[str, Allocation] = {}
    short = []
    for variant_id, quantity in wanted.items():
        stock = stocks[variant_id]
        if not stock.tracked:
            continue
        plan = policy(quantity, stock.levels)
        if plan is not None:
            plans[variant_id] = plan
        elif not stock.oversells:
            short.append(variant_id)
    return plans, short


def _hold_planned(
    session: Session, planned: Allocation, sell: bool, now: datetime, actor: str
) -> bool:
    """Hold (or sell) each planned amount, stock levels in id order; all or none."""
    guard = SELL_UNITS if sell else HOLD_UNITS
    done: Allocation = []
    for level, units in sorted(planned, key=lambda portion: portion[0].id):
        if units > level.free:
            lock_objects.stock_levels(session, [level.id])
            reclaim_lapsed(session, level.id, now, actor)
            level.lapsed = 0
        row = session.execute(guard, {"level_id": level.id, "units": units}).first()
        if row is None:
            # Someone held these units since the plan was read: give back what we held.
            for held, back in reversed(done):
                session.execute(
                    MOVE_UNITS,
                    {
                        "level_id": held.id,
                        "on_hand_delta": back if sell else 0,
                        "reserved_delta": 0 if sell else -back,
                    },
                )
            return False
        level.on_hand, level.reserved = row.on_hand, row.reserved
        done.append((level, units))
    return True


def _insufficient(
    lines: Sequence[ReservationLineInput],
    wanted: Mapping[str, int],
    stocks: Mapping[str, Stock],
    short: Collection[str],
) -> InsufficientStock:
    by_sku = {s.sku: s.variant_id for s in stocks.values() if s.sku is not None}
    details, errors, named = [], [], set()
    for index, line in enumerate(lines):
        variant_id = _variant_of(line, by_sku)
        if variant_id not in short or variant_id in named:
            continue
        named.add(variant_id)
        stock = stocks[variant_id]
        available = max(0, stock.available)
        details.append(
            {
                "sku": stock.sku,
                "variant_id": variant_id,
                "requested": wanted[variant_id],
                "available": available,
            }
        )
        errors.append(
            FieldError(
                ("lines", index, "quantity"),
                f"{wanted[variant_id]} requested, {available} available",
                "insufficient_stock",
            )
        )
    return InsufficientStock(
        f"Not enough stock for {len(details)} line(s); nothing was reserved.",
        errors,
        {"lines": details},
    )
