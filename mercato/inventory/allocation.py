"""Where a reservation's units come from, and taking them under the guard.

The stock levels are locked, then read (``lock_objects.stock_levels_of_variants``):
what the read says cannot change before the commit, so each reservation of a batch is
decided from it in memory, one after another, each seeing the units the ones before
took. The guard still writes: one conditional UPDATE per stock level for the whole
batch, with the units summed (``take``), ``on_hand - reserved >= units``, whose returned
row says whether it took; the CHECK ``0 <= reserved <= on_hand`` stands behind it. A
batch of 50 orders of one SKU costs one UPDATE of its stock level, not 50. When a hold
needs units of lapsed reservations, the lapsed lines of that one stock level are
reclaimed first, in the same transaction, under that level's lock.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from mercato.errors import Conflict, FieldError, ValidationFailed
from mercato.inventory.availability import InsufficientStock, Level, Stock, read_stock
from mercato.inventory.ledger import reclaim_lapsed
from mercato.inventory.queries import MOVE_UNITS, TAKE_UNITS
from mercato.inventory.schemas import ReservationLineInput

Allocation = list[tuple[Level, int]]
AllocationPolicy = Callable[[int, Sequence[Level]], Allocation | None]
# Units decided but not yet written, per stock level id: [sold, held].
Taken = dict[str, list[int]]


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


def wanted_units(
    lines: Sequence[ReservationLineInput], stocks: Mapping[str, Stock]
) -> dict[str, int]:
    """Units per variant id the lines ask for (unknown variants: ``ValidationFailed``)."""
    return _wanted(lines, stocks)


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
    lines: Sequence[ReservationLineInput],
    stocks: dict[str, Stock],
    *,
    allocation: str,
    sell: bool,
    taken: Taken,
    reclaim: Callable[[Level], int],
) -> tuple[dict[str, int], dict[str, Allocation]]:
    """Plan where each line's units come from and take them (or sell them) in memory:
    ``stocks`` (read under the stock levels' locks) and ``taken`` (what ``take`` will
    write) change, the database does not, except for ``reclaim``-ed lapsed holds.
    Returns the units wanted per variant and the plans; raises ``InsufficientStock``
    naming each short line, with nothing taken."""
    wanted = _wanted(lines, stocks)
    plans, short = _plan(wanted, stocks, ALLOCATION_POLICIES[allocation])
    if short:
        raise _insufficient(lines, wanted, stocks, short)
    planned = [portion for plan in plans.values() for portion in plan]
    for level, units in planned:
        if units > level.free:  # only with units of lapsed holds, given back first
            level.reserved -= reclaim(level)
            level.lapsed = 0
        if units > level.free:  # the locked read was wrong: never take on a guess
            raise Conflict("The stock changed while it was locked; try again.")
    for level, units in planned:
        if sell:
            level.on_hand -= units
        else:
            level.reserved += units
        taken.setdefault(level.id, [0, 0])[0 if sell else 1] += units
    return wanted, plans


def reclaimer(session: Session, now: datetime, actor: str) -> Callable[[Level], int]:
    """``hold_lines``' way to give back a locked level's lapsed holds; returns units."""
    return lambda level: reclaim_lapsed(session, level.id, now, actor)


def take(session: Session, taken: Taken) -> None:
    """Write what ``hold_lines`` took: one guarded UPDATE per stock level, lowest id
    first, with the units of every reservation of the batch summed. The levels are locked
    and were read under the lock, so each takes; one that does not (nothing should
    change a locked row) undoes the others and raises ``Conflict``: nothing is sold on a
    wrong read."""
    done: list[tuple[str, int, int]] = []
    for level_id, (sold, held) in sorted(taken.items()):
        if not sold and not held:
            continue
        params = {"level_id": level_id, "sold": sold, "held": held, "units": sold + held}
        if session.execute(TAKE_UNITS, params).first() is None:
            for undo_id, undo_sold, undo_held in reversed(done):
                session.execute(
                    MOVE_UNITS,
                    {
                        "level_id": undo_id,
                        "on_hand_delta": undo_sold,
                        "reserved_delta": -undo_held,
                    },
                )
            raise Conflict("The stock changed while it was locked; try again.")
        done.append((level_id, sold, held))


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
