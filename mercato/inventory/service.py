"""Inventory rules: stock levels kept by a ledger, reservations that expire on their own,
and what each channel may publish.

How stock is guarded (DESIGN.md, "Stock is guarded by the database"):

- A hold is one conditional UPDATE per stock level,
  ``reserved = reserved + q WHERE on_hand - reserved >= q``, whose returned row says
  whether it took. Reads only choose where to take from; they never decide that a unit
  is free. The CHECK ``0 <= reserved <= on_hand`` stands behind it.
- A hold past its ``expires_at`` stops counting at once: availability is
  ``on_hand - reserved + lapsed`` where ``lapsed`` sums held lines of expired
  reservations. When a hold needs those units, the lapsed lines of that one stock level
  are reclaimed first, in the same transaction, under that level's lock. The sweeper only
  tidies what nobody reclaimed.
- Every change to a reservation or its lines happens while holding the locks of its
  stock levels, taken lowest id first (lock_objects). That serializes commit, release,
  extend, expiry and reclaim of the same units, and rules out deadlocks.
- Every change of ``on_hand`` or ``reserved`` writes a movement with the same deltas, so
  the ledger always sums to the stock levels (``verify``).

Services flush but never commit: the caller owns the transaction. A refused reservation
undoes its own writes (compensation), so it is safe inside a larger transaction.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, delete, exists, func, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.sql import Executable

from mercato import events
from mercato.catalog.models import Variant
from mercato.db import insert_rows, new_id, utcnow
from mercato.errors import Conflict, FieldError, MercatoError, NotFound, ValidationFailed
from mercato.inventory import lock_objects
from mercato.inventory.models import (
    ChannelRule,
    Location,
    Movement,
    Reservation,
    ReservationLine,
    StockLevel,
)
from mercato.inventory.schemas import (
    AdjustmentCreate,
    ChannelRuleInput,
    LocationInput,
    ReservationLineInput,
)

DEFAULT_LOCATION = "default"
DEFAULT_HOLD = timedelta(minutes=15)
# Published for variants whose stock is not counted; the most any platform accepts
# (TikTok Shop allows up to 999999).
UNLIMITED = 999_999
# A hold whose plan went stale under contention is planned again this many times.
PLAN_ATTEMPTS = 3
SWEEP_BATCH = 500


class InsufficientStock(Conflict):
    """Some lines cannot be held; ``extra["lines"]`` says what each could get."""

    slug = "insufficient-stock"
    title = "Insufficient stock"


class ReservationExpired(Conflict):
    slug = "reservation-expired"
    title = "Reservation expired"


def _now(now: datetime | None) -> datetime:
    if now is None:
        return utcnow()
    if now.tzinfo is None:
        raise ValueError("naive datetime given; inventory works in UTC-aware time")
    return now


# ---------------------------------------------------------------- statements

# The hot paths (reserve, commit) run statements built once, with parameters only: on
# this scale building SQLAlchemy expressions costs more than the database work.
_levels, _lines = StockLevel.__table__, ReservationLine.__table__
_reservations, _movements = Reservation.__table__, Movement.__table__
_variants, _locations, _rules = Variant.__table__, Location.__table__, ChannelRule.__table__

_LAPSED_UNITS = (  # units of a stock level still held by reservations that have expired
    select(func.coalesce(func.sum(_lines.c.quantity), 0))
    .select_from(_lines.join(_reservations, _reservations.c.id == _lines.c.reservation_id))
    .where(
        _lines.c.stock_level_id == _levels.c.id,
        _lines.c.state == "held",
        _reservations.c.expires_at <= bindparam("now"),
    )
    .correlate(_levels)
    .scalar_subquery()
)
_STOCK_OF_VARIANTS = (
    select(
        _variants.c.id,
        _variants.c.sku,
        _variants.c.inventory_policy,
        _variants.c.inventory_tracked,
        _levels.c.id,
        _levels.c.location_id,
        _locations.c.code,
        _locations.c.name,
        _locations.c.priority,
        _levels.c.on_hand,
        _levels.c.reserved,
        _LAPSED_UNITS,
    )
    .select_from(
        _variants.outerjoin(_levels, _levels.c.variant_id == _variants.c.id).outerjoin(
            _locations, _locations.c.id == _levels.c.location_id
        )
    )
    .where(
        or_(
            _variants.c.id.in_(bindparam("ids", expanding=True)),
            _variants.c.sku.in_(bindparam("skus", expanding=True)),
        )
    )
    .order_by(_variants.c.id, _levels.c.id)
)
_HOLD_UNITS = (  # the guard: takes only what is free, and says so by returning a row
    update(_levels)
    .where(
        _levels.c.id == bindparam("level_id"),
        _levels.c.on_hand - _levels.c.reserved >= bindparam("units"),
    )
    .values(reserved=_levels.c.reserved + bindparam("units"))
    .returning(_levels.c.on_hand, _levels.c.reserved)
)
_SELL_UNITS = (  # the same guard, for units sold at once
    update(_levels)
    .where(
        _levels.c.id == bindparam("level_id"),
        _levels.c.on_hand - _levels.c.reserved >= bindparam("units"),
    )
    .values(on_hand=_levels.c.on_hand - bindparam("units"))
    .returning(_levels.c.on_hand, _levels.c.reserved)
)
_MOVE_UNITS = (  # under the level's lock, after the checks
    update(_levels)
    .where(_levels.c.id == bindparam("level_id"))
    .values(
        on_hand=_levels.c.on_hand + bindparam("on_hand_delta"),
        reserved=_levels.c.reserved + bindparam("reserved_delta"),
    )
)
_RECLAIM_LAPSED_LINES = (
    update(_lines)
    .where(
        _lines.c.stock_level_id == bindparam("level_id"),
        _lines.c.state == "held",
        exists().where(
            _reservations.c.id == _lines.c.reservation_id,
            _reservations.c.expires_at <= bindparam("now"),
        ),
    )
    .values(state="expired")
    .returning(_lines.c.variant_id, _lines.c.quantity, _lines.c.reservation_id)
)
_RESERVATIONS_WITH_LINES = (
    select(
        _reservations.c.id,
        _reservations.c.channel,
        _reservations.c.reference,
        _reservations.c.status,
        _reservations.c.expires_at,
        _reservations.c.created_at,
        _reservations.c.settled_at,
        _lines.c.id.label("line_id"),
        _lines.c.variant_id,
        _variants.c.sku,
        _lines.c.stock_level_id,
        _locations.c.code,
        _lines.c.quantity,
        _lines.c.state,
    )
    .select_from(
        _reservations.outerjoin(_lines, _lines.c.reservation_id == _reservations.c.id)
        .outerjoin(_variants, _variants.c.id == _lines.c.variant_id)
        .outerjoin(_levels, _levels.c.id == _lines.c.stock_level_id)
        .outerjoin(_locations, _locations.c.id == _levels.c.location_id)
    )
    .where(_reservations.c.id.in_(bindparam("ids", expanding=True)))
    .order_by(_reservations.c.id, _lines.c.id)
)
_SETTLE_RESERVATION = (  # only an active one: the row count says who won
    update(_reservations)
    .where(_reservations.c.id == bindparam("reservation_id"), _reservations.c.status == "active")
    .values(status=bindparam("outcome"), settled_at=bindparam("at"))
)
_SETTLE_LINES = (
    update(_lines)
    .where(_lines.c.reservation_id == bindparam("of_reservation"), _lines.c.state == "held")
    .values(state=bindparam("line_state"))
)
_CHANNEL_RULES = select(_rules.c.channel, _rules.c.buffer, _rules.c.cap).order_by(_rules.c.channel)
_INSERTS_OR_IGNORE: dict[tuple[str, str], Executable] = {}
_UNIQUE_KEYS = {
    "inventory_reservations": ("channel", "reference"),
    "inventory_stock_levels": ("variant_id", "location_id"),
    "inventory_locations": ("code",),
}


def _insert_or_ignore(session: Session, table) -> Executable:
    """INSERT ... ON CONFLICT (its unique key) DO NOTHING, on either database: concurrent
    creators agree on one row. Returns the id when a row was inserted."""
    key = (session.get_bind().dialect.name, table.name)
    if key not in _INSERTS_OR_IGNORE:
        dialect = postgresql if key[0] == "postgresql" else sqlite
        _INSERTS_OR_IGNORE[key] = (
            dialect.insert(table)
            .on_conflict_do_nothing(index_elements=list(_UNIQUE_KEYS[table.name]))
            .returning(table.c.id)
        )
    return _INSERTS_OR_IGNORE[key]


# ---------------------------------------------------------------- locations


def default_location(session: Session) -> Location:
    """The location stock goes to when none is named; created on first use."""
    location = session.scalar(select(Location).where(Location.code == DEFAULT_LOCATION))
    if location is None:
        session.execute(
            _insert_or_ignore(session, _locations),
            {
                "id": new_id("loc"),
                "code": DEFAULT_LOCATION,
                "name": "Default location",
                "kind": "warehouse",
                "priority": 0,
                "created_at": utcnow(),
            },
        )
        location = session.scalar(select(Location).where(Location.code == DEFAULT_LOCATION))
    return location


def get_location(session: Session, code: str) -> Location:
    if code == DEFAULT_LOCATION:
        return default_location(session)
    location = session.scalar(select(Location).where(Location.code == code))
    if location is None:
        raise NotFound(f"No location {code!r}.", [FieldError(("location",), "unknown location")])
    return location


def list_locations(session: Session) -> list[Location]:
    """Every location, lowest rank first (the default one appears once first used)."""
    return list(session.scalars(select(Location).order_by(Location.priority, Location.code)))


def save_location(session: Session, code: str, data: LocationInput) -> Location:
    """Create the location ``code`` or update its name, kind and priority."""
    location = (
        default_location(session)
        if code == DEFAULT_LOCATION
        else session.scalar(select(Location).where(Location.code == code))
    )
    if location is None:
        location = Location(code=code)
        session.add(location)
    location.name, location.kind, location.priority = data.name, data.kind, data.priority
    session.flush()
    return location


# ---------------------------------------------------------------- reading stock


@dataclass
class Level:
    """A stock level as read: the allocation policies choose among these."""

    id: str
    variant_id: str
    location_id: str
    location: str
    location_name: str
    priority: int
    on_hand: int
    reserved: int
    # Units still counted in ``reserved`` by holds that have expired.
    lapsed: int = 0

    @property
    def free(self) -> int:
        """Units a conditional UPDATE can take without reclaiming lapsed holds."""
        return self.on_hand - self.reserved

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved + self.lapsed


@dataclass
class Stock:
    """A variant with its stock levels."""

    variant_id: str
    sku: str | None
    policy: str
    tracked: bool
    levels: list[Level] = field(default_factory=list)

    @property
    def oversells(self) -> bool:
        """Exempt from the guard, as in Shopify: untracked variants hold nothing, and
        `continue` variants are held from stock while it lasts, then backordered."""
        return self.policy == "continue" or not self.tracked

    @property
    def on_hand(self) -> int:
        return sum(level.on_hand for level in self.levels)

    @property
    def reserved(self) -> int:
        return sum(level.reserved - level.lapsed for level in self.levels)

    @property
    def available(self) -> int:
        return sum(level.available for level in self.levels)


def read_stock(
    session: Session,
    variant_ids: Collection[str] = (),
    skus: Collection[str] = (),
    now: datetime | None = None,
) -> dict[str, Stock]:
    """Variants (by id or SKU) with every stock level, keyed by variant id; one query."""
    if not variant_ids and not skus:
        return {}
    rows = session.execute(
        _STOCK_OF_VARIANTS,
        {"ids": sorted(set(variant_ids)), "skus": sorted(set(skus)), "now": _now(now)},
    )
    stocks: dict[str, Stock] = {}
    for (
        vid,
        sku,
        policy,
        tracked,
        sid,
        lid,
        code,
        name,
        priority,
        on_hand,
        reserved,
        lapsed,
    ) in rows:
        stock = stocks.setdefault(vid, Stock(vid, sku, policy, tracked))
        if sid is not None:
            stock.levels.append(
                Level(sid, vid, lid, code, name, priority, on_hand, reserved, lapsed)
            )
    return stocks


def _variant_by_ref(session: Session, sku: str | None, variant_id: str | None) -> Variant:
    variant = session.scalar(
        select(Variant).where(Variant.sku == sku if sku is not None else Variant.id == variant_id)
    )
    if variant is None:
        what = f"SKU {sku!r}" if sku is not None else f"id {variant_id!r}"
        raise NotFound(
            f"No variant with {what}.",
            [FieldError(("sku" if sku is not None else "variant_id",), "unknown variant")],
        )
    return variant


# ---------------------------------------------------------------- channel availability


def channel_rules(session: Session) -> list[ChannelRule]:
    return list(session.scalars(select(ChannelRule).order_by(ChannelRule.channel)))


def _rules_now(session: Session):
    """Every channel's buffer and cap as plain rows (no ORM: read on every change)."""
    return session.execute(_CHANNEL_RULES).all()


def save_channel_rule(session: Session, channel: str, data: ChannelRuleInput) -> ChannelRule:
    """Set a channel's buffer and cap; records inventory.changed for every variant, since
    what the channel may publish can move for any of them."""
    rule = session.get(ChannelRule, channel)
    if rule is None:
        rule = ChannelRule(channel=channel)
        session.add(rule)
    before = (rule.buffer, rule.cap)
    rule.buffer, rule.cap, rule.updated_at = data.buffer, data.cap, utcnow()
    session.flush()
    if before != (data.buffer, data.cap):
        for batch in _batches(
            session.scalars(select(Variant.id).order_by(Variant.id)), SWEEP_BATCH
        ):
            _record_changes(session, batch)
    return rule


def publishable(stock: Stock, rule: ChannelRule | None) -> int:
    """Units a channel may publish: available less its buffer, at most its cap.

    Buffers and caps shape what platforms show, so a lagging platform sells out before
    stock does; they do not refuse an order a platform has already taken. Physical stock
    is guarded by the holds alone.
    """
    buffer = rule.buffer if rule else 0
    units = UNLIMITED if stock.oversells else stock.available - buffer
    if rule is not None and rule.cap is not None:
        units = min(units, rule.cap)
    return max(0, min(units, UNLIMITED))


def available_for(
    session: Session, channel: str, variant_id: str, now: datetime | None = None
) -> int:
    """What ``channel`` may publish for the variant now (what catalog sync pushes)."""
    available = available_for_many(session, channel, [variant_id], now)
    if variant_id not in available:
        raise NotFound(f"No variant with id {variant_id!r}.")
    return available[variant_id]


def available_for_many(
    session: Session, channel: str, variant_ids: Collection[str], now: datetime | None = None
) -> dict[str, int]:
    """``available_for`` of many variants in one stock query (feeds, full syncs);
    unknown variant ids are left out."""
    rule = session.get(ChannelRule, channel)
    return {
        variant_id: publishable(stock, rule)
        for variant_id, stock in read_stock(session, variant_ids=variant_ids, now=now).items()
    }


def _record_changes(
    session: Session,
    variant_ids: Iterable[str],
    stocks: Mapping[str, Stock] | None = None,
    now: datetime | None = None,
) -> None:
    """Record inventory.changed for each variant, with what every channel may publish."""
    variant_ids = sorted(set(variant_ids))
    if not variant_ids:
        return
    if stocks is None or any(v not in stocks for v in variant_ids):
        stocks = read_stock(session, variant_ids=variant_ids, now=now)
    rules = _rules_now(session)
    events.record_many(
        session,
        (
            ("inventory.changed", _changed_payload(stocks[variant_id], rules), variant_id)
            for variant_id in variant_ids
        ),
    )


def _changed_payload(stock: Stock, rules) -> dict[str, Any]:
    """An ``InventoryChanged`` as its JSON body, built directly: counts and imports record
    thousands at once, and a model per event costs more than the insert."""
    return {
        "variant_id": stock.variant_id,
        "sku": stock.sku,
        "on_hand": stock.on_hand,
        "reserved": stock.reserved,
        "available": max(0, stock.available),
        "published": publishable(stock, None),
        "channels": [{"channel": r.channel, "available": publishable(stock, r)} for r in rules],
    }


# ---------------------------------------------------------------- the ledger


def _movement(
    level_id: str,
    variant_id: str,
    kind: str,
    quantity: int,
    *,
    on_hand: int = 0,
    reserved: int = 0,
    actor: str,
    now: datetime,
    reason: str | None = None,
    reference: str | None = None,
    reservation_id: str | None = None,
) -> dict[str, Any]:
    return {
        "id": new_id("mov"),
        "stock_level_id": level_id,
        "variant_id": variant_id,
        "kind": kind,
        "quantity": quantity,
        "on_hand_delta": on_hand,
        "reserved_delta": reserved,
        "reason": reason,
        "reference": reference,
        "actor": actor,
        "reservation_id": reservation_id,
        "created_at": now,
    }


def _write_movements(session: Session, movements: list[dict[str, Any]]) -> None:
    if movements:
        insert_rows(session, _movements, movements)


def _reclaim_lapsed(session: Session, level_id: str, now: datetime, actor: str) -> int:
    """Release the expired holds on one stock level (locked by the caller); returns units.

    Only lines of this level change, so the caller's lock order stays intact; the rest of
    each reservation is reclaimed where it is needed, or by the sweeper.
    """
    lines = session.execute(_RECLAIM_LAPSED_LINES, {"level_id": level_id, "now": now}).all()
    units = sum(line.quantity for line in lines)
    if units:
        session.execute(
            _MOVE_UNITS, {"level_id": level_id, "on_hand_delta": 0, "reserved_delta": -units}
        )
        _write_movements(
            session,
            [
                _movement(
                    level_id,
                    line.variant_id,
                    "expiry",
                    line.quantity,
                    reserved=-line.quantity,
                    actor=actor,
                    now=now,
                    reservation_id=line.reservation_id,
                    reason="hold expired",
                )
                for line in lines
            ],
        )
    return units


# ---------------------------------------------------------------- allocation policies


Allocation = list[tuple[Level, int]]
AllocationPolicy = Callable[[int, Sequence[Level]], Allocation | None]


def _fill(quantity: int, levels: Iterable[Level]) -> Allocation | None:
    plan: Allocation = []
    for level in levels:
        if quantity == 0:
            break
        take = min(quantity, level.available)
        if take > 0:
            plan.append((level, take))
            quantity -= take
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


# ---------------------------------------------------------------- reservations


@dataclass
class LineView:
    variant_id: str
    sku: str | None
    location: str | None
    quantity: int
    state: str


@dataclass
class ReservationView:
    id: str
    channel: str
    reference: str
    status: str
    expires_at: datetime
    created_at: datetime
    settled_at: datetime | None
    lines: list[LineView]
    # True when an earlier request with the same reference made it.
    replayed: bool = False


@dataclass
class _Reservation:
    id: str
    channel: str
    reference: str
    status: str
    expires_at: datetime
    created_at: datetime
    settled_at: datetime | None


@dataclass
class _Loaded:
    reservation: _Reservation
    lines: list[dict[str, Any]]

    def view(self, replayed: bool = False) -> ReservationView:
        r = self.reservation
        return ReservationView(
            r.id,
            r.channel,
            r.reference,
            r.status,
            r.expires_at,
            r.created_at,
            r.settled_at,
            [
                LineView(ln["variant_id"], ln["sku"], ln["location"], ln["quantity"], ln["state"])
                for ln in self.lines
            ],
            replayed,
        )


def _load(session: Session, reservation_ids: Collection[str]) -> dict[str, _Loaded]:
    """Reservations with their lines, fresh from the database (read after locking)."""
    loaded: dict[str, _Loaded] = {}
    for row in session.execute(_RESERVATIONS_WITH_LINES, {"ids": sorted(reservation_ids)}):
        entry = loaded.get(row.id)
        if entry is None:
            entry = loaded[row.id] = _Loaded(_Reservation(*row[:7]), [])
        if row.line_id is not None:
            entry.lines.append(
                {
                    "id": row.line_id,
                    "variant_id": row.variant_id,
                    "sku": row.sku,
                    "stock_level_id": row.stock_level_id,
                    "location": row.code,
                    "quantity": row.quantity,
                    "state": row.state,
                }
            )
    return loaded


def get_reservation(session: Session, reservation_id: str) -> ReservationView:
    return _load_one(session, reservation_id).view()


def _hold_seconds(ttl_seconds: int | None) -> timedelta:
    if ttl_seconds is None:
        return DEFAULT_HOLD
    if ttl_seconds <= 0:
        raise ValidationFailed(
            "A hold must last a while.", [FieldError(("ttl_seconds",), "must be at least 1 second")]
        )
    return timedelta(seconds=ttl_seconds)


@dataclass(frozen=True)
class Ask:
    """One reservation request (see ``reserve``)."""

    lines: Sequence[ReservationLineInput]
    channel: str = "storefront"
    reference: str | None = None
    ttl_seconds: int | None = None
    allocation: str = "priority"
    sell: bool = False
    actor: str = "system"


def reserve(
    session: Session,
    lines: Sequence[ReservationLineInput],
    *,
    channel: str = "storefront",
    reference: str | None = None,
    ttl_seconds: int | None = None,
    allocation: str = "priority",
    sell: bool = False,
    actor: str = "system",
    now: datetime | None = None,
) -> ReservationView:
    """Hold every line or none; the same (channel, reference) returns the same reservation.

    ``sell`` takes the units as sold at once, for an order that arrives already paid
    (a platform's checkout): the same guard, one transaction instead of two.
    Raises ``InsufficientStock`` naming each short line and what it could get.
    """
    [outcome] = reserve_many(
        session, [Ask(lines, channel, reference, ttl_seconds, allocation, sell, actor)], now
    )
    if isinstance(outcome, MercatoError):
        raise outcome
    return outcome


def reserve_many(
    session: Session, asks: Sequence[Ask], now: datetime | None = None
) -> list[ReservationView | MercatoError]:
    """``reserve`` for many requests in one transaction; each gets its own outcome (a
    refused one undoes its own writes). References must be distinct within one call.

    One claim of all references, one stock read, the stock levels locked lowest id first
    (so that two such transactions never wait on each other in opposite orders), then
    each request's guarded UPDATEs, then one insert each of lines, movements and events.
    """
    now = _now(now)
    outcomes: list[ReservationView | MercatoError | None] = [None] * len(asks)
    claims: dict[int, dict[str, Any]] = {}
    for index, ask in enumerate(asks):
        try:
            expires_at = now + _hold_seconds(ask.ttl_seconds)
        except MercatoError as refused:
            outcomes[index] = refused
            continue
        claim_id = new_id("res")
        status, settled_at = ("committed", now) if ask.sell else ("active", None)
        claims[index] = {
            "id": claim_id,
            "channel": ask.channel,
            "reference": ask.reference or claim_id,
            "status": status,
            "expires_at": expires_at,
            "actor": ask.actor,
            "created_at": now,
            "settled_at": settled_at,
        }
    # Claim the references first: a concurrent twin waits here, then replays ours.
    claimed = set()
    if claims:
        claimed = set(
            session.scalars(_insert_or_ignore(session, _reservations), list(claims.values())).all()
        )
    stocks = read_stock(
        session,
        [ln.variant_id for i in claims for ln in asks[i].lines if ln.variant_id],
        [ln.sku for i in claims for ln in asks[i].lines if ln.sku],
        now,
    )
    lock_objects.stock_levels(
        session, [level.id for stock in stocks.values() for level in stock.levels]
    )

    line_rows: list[dict[str, Any]] = []
    movements: list[dict[str, Any]] = []
    changed: set[str] = set()
    refused_claims = []
    for index, row in claims.items():
        ask = asks[index]
        try:
            if row["id"] not in claimed:
                outcomes[index] = _replay(session, ask.channel, row["reference"], ask.lines)
                continue
            wanted, plans = _hold_lines(session, ask, stocks, now)
        except MercatoError as refused:
            outcomes[index] = refused
            if row["id"] in claimed:
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
                line_rows.append(
                    {
                        "id": new_id("rsl"),
                        "reservation_id": row["id"],
                        "variant_id": variant_id,
                        "stock_level_id": level_id,
                        "quantity": units,
                        "state": state,
                    }
                )
                views.append(LineView(variant_id, stocks[variant_id].sku, location, units, state))
                if level_id is not None:
                    movements.append(
                        _movement(
                            level_id,
                            variant_id,
                            "sale" if ask.sell else "reservation",
                            units,
                            on_hand=-units if ask.sell else 0,
                            reserved=0 if ask.sell else units,
                            actor=ask.actor,
                            now=now,
                            reference=row["reference"],
                            reservation_id=row["id"],
                        )
                    )
        changed.update(plans)
        outcomes[index] = ReservationView(
            row["id"],
            row["channel"],
            row["reference"],
            row["status"],
            row["expires_at"],
            now,
            row["settled_at"],
            views,
        )
    if refused_claims:
        session.execute(delete(_reservations).where(_reservations.c.id.in_(refused_claims)))
    if line_rows:
        session.execute(insert(_lines), line_rows)
    _write_movements(session, movements)
    _record_changes(session, changed, stocks, now)
    return outcomes


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


def _read_lines(
    session: Session, lines: Sequence[ReservationLineInput], now: datetime
) -> tuple[dict[str, int], dict[str, Stock]]:
    stocks = read_stock(
        session,
        [ln.variant_id for ln in lines if ln.variant_id is not None],
        [ln.sku for ln in lines if ln.sku is not None],
        now,
    )
    return _wanted(lines, stocks), stocks


def _hold_lines(
    session: Session, ask: Ask, stocks: dict[str, Stock], now: datetime
) -> tuple[dict[str, int], dict[str, Allocation]]:
    """Plan where each line's units come from, then take them; returns the plans.

    The plan is read without locks (``stocks``, kept current as units are taken); the
    conditional UPDATEs decide. A plan gone stale under contention is read again and
    tried again.
    """
    policy = ALLOCATION_POLICIES[ask.allocation]
    for _ in range(PLAN_ATTEMPTS):
        wanted = _wanted(ask.lines, stocks)
        plans, short = _plan(wanted, stocks, policy)
        if short:
            raise _insufficient(ask.lines, wanted, stocks, short)
        if _take(
            session, [take for plan in plans.values() for take in plan], ask.sell, now, ask.actor
        ):
            return wanted, plans
        stocks.update(read_stock(session, wanted, now=now))
    wanted = _wanted(ask.lines, stocks)
    plans, short = _plan(wanted, stocks, policy)
    raise _insufficient(
        ask.lines, wanted, stocks, short or [v for v in wanted if not stocks[v].oversells]
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


def _take(session: Session, takes: Allocation, sell: bool, now: datetime, actor: str) -> bool:
    """Hold (or sell) each planned amount, stock levels in id order; all or none."""
    guard = _SELL_UNITS if sell else _HOLD_UNITS
    done: Allocation = []
    for level, units in sorted(takes, key=lambda take: take[0].id):
        if units > level.free:
            lock_objects.stock_levels(session, [level.id])
            _reclaim_lapsed(session, level.id, now, actor)
            level.lapsed = 0
        row = session.execute(guard, {"level_id": level.id, "units": units}).first()
        if row is None:
            # Someone took these units since the plan was read: give back what we took.
            for taken, back in reversed(done):
                session.execute(
                    _MOVE_UNITS,
                    {
                        "level_id": taken.id,
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


def _replay(
    session: Session, channel: str, reference: str, lines: Sequence[ReservationLineInput]
) -> ReservationView:
    reservation_id = session.scalar(
        select(Reservation.id).where(
            Reservation.channel == channel, Reservation.reference == reference
        )
    )
    loaded = _load(session, [reservation_id])[reservation_id]
    asked, _ = _read_lines(session, lines, utcnow())
    held: dict[str, int] = defaultdict(int)
    for line in loaded.lines:
        held[line["variant_id"]] += line["quantity"]
    if asked != dict(held):
        raise Conflict(
            f"Reference {reference!r} was already used for a different "
            "reservation on this channel.",
            [FieldError(("reference",), "already used with other lines", "taken")],
            {"reservation_id": reservation_id},
        )
    return loaded.view(replayed=True)


# outcome -> (state of its lines, kind of its movements)
OUTCOMES = {
    "committed": ("sold", "sale"),
    "released": ("released", "release"),
    "expired": ("expired", "expiry"),
}


def commit(
    session: Session, reservation_id: str, *, actor: str = "system", now: datetime | None = None
) -> ReservationView:
    """Turn held units into a sale: on_hand and reserved both go down. Idempotent."""
    return _settle(session, [reservation_id], "committed", _now(now), actor)[0]


def release(
    session: Session, reservation_id: str, *, actor: str = "system", now: datetime | None = None
) -> ReservationView:
    """Give the held units back. Idempotent; an expired reservation stays expired."""
    return _settle(session, [reservation_id], "released", _now(now), actor)[0]


def extend(
    session: Session, reservation_id: str, ttl_seconds: int, *, now: datetime | None = None
) -> ReservationView:
    """Keep an active hold for ``ttl_seconds`` from now."""
    now = _now(now)
    expires_at = now + _hold_seconds(ttl_seconds)
    lock_objects.stock_levels_of_reservations(session, [reservation_id])
    entry = _load_one(session, reservation_id)
    if entry.reservation.status != "active":
        raise _not_active(entry.reservation, "extended")
    if _lapsed(entry, now):
        raise _expired(entry.reservation, "it cannot be extended")
    extended = session.execute(
        update(_reservations)
        .where(_reservations.c.id == reservation_id, _reservations.c.status == "active")
        .values(expires_at=expires_at)
    ).rowcount
    if extended != 1:  # settled meanwhile (only a reservation holding no stock gets here)
        raise Conflict(f"Reservation {reservation_id} changed meanwhile; try again.")
    entry.reservation.expires_at = expires_at
    return entry.view()


def _load_one(session: Session, reservation_id: str) -> _Loaded:
    entry = _load(session, [reservation_id]).get(reservation_id)
    if entry is None:
        raise NotFound(f"No reservation with id {reservation_id!r}.")
    return entry


def _lapsed(entry: _Loaded, now: datetime) -> bool:
    return entry.reservation.expires_at <= now or any(
        line["state"] == "expired" for line in entry.lines
    )


def _not_active(reservation: _Reservation, verb: str) -> Conflict:
    return Conflict(
        f"Reservation {reservation.id} is {reservation.status}; it cannot be {verb}.",
        extra={"reservation_status": reservation.status},
    )


def _expired(reservation: _Reservation, consequence: str) -> ReservationExpired:
    at = reservation.expires_at.isoformat()
    return ReservationExpired(
        f"Reservation {reservation.id} expired at {at}; {consequence}.", extra={"expires_at": at}
    )


def _settle(
    session: Session, reservation_ids: Sequence[str], outcome: str, now: datetime, actor: str
) -> list[ReservationView]:
    """Commit, release or expire reservations: one path, so the three cannot drift apart.

    Locks every stock level involved first, then reads the reservations, so what it sees
    cannot change before it writes.
    """
    lock_objects.stock_levels_of_reservations(session, reservation_ids)
    loaded = _load(session, reservation_ids)
    level_deltas: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    movements: list[dict[str, Any]] = []
    freed_variants: set[str] = set()
    views = []
    for reservation_id in reservation_ids:
        entry = loaded.get(reservation_id)
        if entry is None:
            raise NotFound(f"No reservation with id {reservation_id!r}.")
        reservation = entry.reservation
        if reservation.status != "active":
            if outcome == "expired":
                continue  # settled since the sweeper looked
            if reservation.status == outcome or (outcome, reservation.status) == (
                "released",
                "expired",
            ):
                views.append(entry.view())
                continue
            raise _not_active(reservation, outcome)
        lapsed = _lapsed(entry, now)
        if outcome == "expired" and not lapsed:
            continue  # extended since the sweeper looked
        if outcome == "committed" and lapsed:
            raise _expired(reservation, "nothing was sold")
        final = "expired" if lapsed else outcome
        flipped = session.execute(
            _SETTLE_RESERVATION, {"reservation_id": reservation_id, "outcome": final, "at": now}
        ).rowcount
        if flipped != 1:  # settled meanwhile (only a reservation holding no stock gets here)
            raise Conflict(f"Reservation {reservation_id} changed meanwhile; try again.")
        state, kind = OUTCOMES[final]
        sold = final == "committed"
        for line in entry.lines:
            if line["state"] != "held":
                continue
            line["state"] = state
            level_id, units = line["stock_level_id"], line["quantity"]
            if level_id is None:
                continue
            level_deltas[level_id][0] -= units if sold else 0
            level_deltas[level_id][1] -= units
            movements.append(
                _movement(
                    level_id,
                    line["variant_id"],
                    kind,
                    units,
                    on_hand=-units if sold else 0,
                    reserved=-units,
                    actor=actor,
                    now=now,
                    reference=reservation.reference,
                    reservation_id=reservation_id,
                )
            )
            if not sold:
                freed_variants.add(line["variant_id"])
        session.execute(_SETTLE_LINES, {"of_reservation": reservation_id, "line_state": state})
        reservation.status, reservation.settled_at = final, now
        views.append(entry.view())
    if level_deltas:
        session.execute(
            _MOVE_UNITS,
            [
                {"level_id": level_id, "on_hand_delta": on_hand, "reserved_delta": reserved}
                for level_id, (on_hand, reserved) in sorted(level_deltas.items())
            ],
        )
    _write_movements(session, movements)
    # A sale takes units from on_hand and reserved alike: availability does not move.
    _record_changes(session, freed_variants, now=now)
    return views


def sweep_expired(session: Session, now: datetime | None = None, limit: int = SWEEP_BATCH) -> int:
    """Expire up to ``limit`` lapsed reservations, recording their expiry movements.

    Only tidies: lapsed holds stopped counting when they expired. Returns how many
    reservations it expired; call again (in a new transaction) while it returns ``limit``.
    """
    now = _now(now)
    due = list(
        session.scalars(
            select(Reservation.id)
            .where(Reservation.status == "active", Reservation.expires_at <= now)
            .order_by(Reservation.expires_at, Reservation.id)
            .limit(limit)
        )
    )
    if not due:
        return 0
    return len(_settle(session, due, "expired", now, "system:sweeper"))


# ---------------------------------------------------------------- on hand


@dataclass
class StockChange:
    variant_id: str
    sku: str | None
    location: str
    on_hand: int
    reserved: int
    # The movement written (its columns), or None when the count did not change.
    movement: dict[str, Any] | None


def _stock_levels_for(
    session: Session, variant_ids: Collection[str], location: Location
) -> dict[str, str]:
    """The stock level id of each variant at the location, created when missing."""
    wanted = sorted(set(variant_ids))
    found = dict(
        session.execute(
            select(StockLevel.variant_id, StockLevel.id).where(
                StockLevel.location_id == location.id, StockLevel.variant_id.in_(wanted)
            )
        ).all()
    )
    missing = [v for v in wanted if v not in found]
    if missing:
        session.execute(
            _insert_or_ignore(session, _levels),
            [
                {
                    "id": new_id("stk"),
                    "variant_id": v,
                    "location_id": location.id,
                    "on_hand": 0,
                    "reserved": 0,
                }
                for v in missing
            ],
        )
        found.update(
            session.execute(
                select(StockLevel.variant_id, StockLevel.id).where(
                    StockLevel.location_id == location.id, StockLevel.variant_id.in_(missing)
                )
            ).all()
        )
    return found


def set_on_hand(
    session: Session,
    counts: Mapping[str, int],
    location: str = DEFAULT_LOCATION,
    *,
    reason: str | None = None,
    reference: str | None = None,
    actor: str = "system",
    now: datetime | None = None,
) -> list[StockChange]:
    """Set counted on-hand totals (variant id -> units) at a location, as corrections.

    Batched for imports: a few statements whatever the number of variants. Only counts
    that differ write a movement. A count below the units held for open reservations is
    refused (release them first).
    """
    if not counts:
        return []
    now = _now(now)
    where = get_location(session, location)
    bad = [
        FieldError(("on_hand",), f"{units} is below zero") for units in counts.values() if units < 0
    ]
    if bad:
        raise ValidationFailed("Stock cannot be negative.", bad)
    levels = _stock_levels_for(session, counts, where)
    return _change_on_hand(
        session,
        {levels[v]: ("set", units) for v, units in counts.items()},
        where,
        "correction",
        reason,
        reference,
        actor,
        now,
    )


def count_and_track(
    session: Session,
    counts: Mapping[str, int],
    location: str = DEFAULT_LOCATION,
    **options: Any,
) -> tuple[list[StockChange], list[str]]:
    """``set_on_hand`` for a merchant's count: a counted variant whose stock was not
    tracked is tracked from now on, so channels publish the count instead of
    ``UNLIMITED``. Returns the changes and the ids of the variants that started being
    tracked."""
    started = list(
        session.scalars(
            select(Variant.id).where(
                Variant.id.in_(list(counts)), Variant.inventory_tracked.is_(False)
            )
        )
    )
    if started:
        session.execute(
            update(Variant).where(Variant.id.in_(started)).values(inventory_tracked=True)
        )
    changes = set_on_hand(session, counts, location, **options)
    # A count that moved nothing wrote no event; channels still have to learn it.
    unmoved = {c.variant_id for c in changes if c.movement is None}
    _record_changes(session, [v for v in started if v in unmoved], now=options.get("now"))
    return changes, started


@dataclass(frozen=True)
class NewCount:
    """Counted on-hand units of a variant created in the current transaction."""

    variant_id: str
    sku: str | None
    policy: str
    tracked: bool
    on_hand: int


def set_on_hand_of_new(
    session: Session,
    counts: Iterable[NewCount],
    location: str = DEFAULT_LOCATION,
    *,
    reason: str | None = None,
    reference: str | None = None,
    actor: str = "system",
    now: datetime | None = None,
) -> None:
    """``set_on_hand`` for variants created in this transaction, which have no stock level
    anywhere yet: the same levels, corrections and events, written in a few multi-row
    INSERTs with nothing to read or lock first (imports create thousands of variants).

    A variant that already has a level at the location fails on its unique key.
    """
    counts = {count.variant_id: count for count in counts}
    if not counts:
        return
    now = _now(now)
    where = get_location(session, location)
    bad = [
        FieldError(("on_hand",), f"{c.on_hand} is below zero")
        for c in counts.values()
        if c.on_hand < 0
    ]
    if bad:
        raise ValidationFailed("Stock cannot be negative.", bad)
    # Read once: attributes of an ORM object cost more than the rest of each row.
    location_id, code, name, priority = where.id, where.code, where.name, where.priority
    levels, movements, stocks = [], [], {}
    for variant_id in sorted(counts):
        count = counts[variant_id]
        level_id = new_id("stk")
        levels.append(
            {
                "id": level_id,
                "variant_id": variant_id,
                "location_id": location_id,
                "on_hand": count.on_hand,
                "reserved": 0,
            }
        )
        if count.on_hand:  # as set_on_hand: a count of 0 on a new level moves nothing
            movements.append(
                _movement(
                    level_id,
                    variant_id,
                    "correction",
                    count.on_hand,
                    on_hand=count.on_hand,
                    actor=actor,
                    now=now,
                    reason=reason,
                    reference=reference,
                )
            )
            stocks[variant_id] = Stock(
                variant_id,
                count.sku,
                count.policy,
                count.tracked,
                [Level(level_id, variant_id, location_id, code, name, priority, count.on_hand, 0)],
            )
    insert_rows(session, _levels, levels)
    _write_movements(session, movements)
    _record_changes(session, stocks, stocks, now)


def adjust(
    session: Session, data: AdjustmentCreate, *, actor: str = "system", now: datetime | None = None
) -> StockChange:
    """Add or remove units (receipt, return, adjustment) or record a count (correction)."""
    now = _now(now)
    variant = _variant_by_ref(session, data.sku, data.variant_id)
    where = get_location(session, data.location)
    level_id = _stock_levels_for(session, [variant.id], where)[variant.id]
    if data.on_hand is not None:
        change, kind = ("set", data.on_hand), "correction"
    else:
        change, kind = ("add", data.quantity), data.kind
    return _change_on_hand(
        session, {level_id: change}, where, kind, data.reason, data.reference, actor, now
    )[0]


def _change_on_hand(
    session: Session,
    changes: Mapping[str, tuple[str, int]],
    location: Location,
    kind: str,
    reason: str | None,
    reference: str | None,
    actor: str,
    now: datetime,
) -> list[StockChange]:
    lock_objects.stock_levels(session, changes)
    levels = {
        row.id: row
        for row in session.execute(
            select(
                StockLevel.id,
                StockLevel.variant_id,
                StockLevel.on_hand,
                StockLevel.reserved,
                Variant.sku,
            )
            .join(Variant, Variant.id == StockLevel.variant_id)
            .where(StockLevel.id.in_(sorted(changes)))
            .order_by(StockLevel.id)
        )
    }
    results, updates, movements, errors = [], [], [], []
    for level_id in sorted(changes):
        level = levels[level_id]
        mode, units = changes[level_id]
        target = units if mode == "set" else level.on_hand + units
        reserved = level.reserved
        if target < reserved:
            reserved -= _reclaim_lapsed(session, level_id, now, actor)
        if target < reserved or target < 0:
            errors.append((level, target, reserved))
            continue
        movement = None
        if target != level.on_hand:
            delta = target - level.on_hand
            updates.append({"level_id": level_id, "on_hand_delta": delta, "reserved_delta": 0})
            movement = _movement(
                level_id,
                level.variant_id,
                kind,
                abs(delta),
                on_hand=delta,
                actor=actor,
                now=now,
                reason=reason,
                reference=reference,
            )
            movements.append(movement)
        results.append(
            StockChange(level.variant_id, level.sku, location.code, target, reserved, movement)
        )
    if errors:
        raise InsufficientStock(
            f"{len(errors)} count(s) would leave fewer units than are held for open "
            "reservations or below zero; nothing was changed.",
            [
                FieldError(
                    ("on_hand" if kind == "correction" else "quantity",),
                    f"{lv.sku or lv.variant_id}: {target} on hand but {reserved} held",
                    "insufficient_stock",
                )
                for lv, target, reserved in errors
            ],
            {
                "lines": [
                    {
                        "sku": lv.sku,
                        "variant_id": lv.variant_id,
                        "requested": target,
                        "held": reserved,
                    }
                    for lv, target, reserved in errors
                ]
            },
        )
    if updates:
        # Deltas read under the lock taken above, so they are current.
        session.execute(_MOVE_UNITS, updates)
        _write_movements(session, movements)
        _record_changes(session, {m["variant_id"] for m in movements}, now=now)
    return results


def on_hand_at_default(session: Session, variant_ids: Collection[str]) -> dict[str, int]:
    """On-hand units at the default location (0 where none were ever counted)."""
    location = session.scalar(select(Location.id).where(Location.code == DEFAULT_LOCATION))
    found = (
        {}
        if location is None
        else dict(
            session.execute(
                select(StockLevel.variant_id, StockLevel.on_hand).where(
                    StockLevel.location_id == location, StockLevel.variant_id.in_(set(variant_ids))
                )
            ).all()
        )
    )
    return {v: found.get(v, 0) for v in variant_ids}


# ---------------------------------------------------------------- views and checks


@dataclass
class LevelView:
    location: str
    location_name: str
    on_hand: int
    reserved: int
    available: int


@dataclass
class ChannelView:
    channel: str
    buffer: int
    cap: int | None
    available: int


@dataclass
class InventoryView:
    variant_id: str
    sku: str | None
    tracked: bool
    policy: str
    on_hand: int
    reserved: int
    available: int
    published: int
    locations: list[LevelView]
    channels: list[ChannelView]


def inventory_by_sku(session: Session, sku: str, now: datetime | None = None) -> InventoryView:
    """A variant's stock per location and what each channel with rules may publish."""
    stock = next(iter(read_stock(session, skus=[sku], now=now).values()), None)
    if stock is None:
        raise NotFound(f"No variant with SKU {sku!r}.")
    levels = sorted(stock.levels, key=lambda lv: (lv.priority, lv.location))
    return InventoryView(
        stock.variant_id,
        stock.sku,
        stock.tracked,
        stock.policy,
        stock.on_hand,
        stock.reserved,
        max(0, stock.available),
        publishable(stock, None),
        [
            LevelView(
                lv.location,
                lv.location_name,
                lv.on_hand,
                lv.reserved - lv.lapsed,
                max(0, lv.available),
            )
            for lv in levels
        ],
        [
            ChannelView(r.channel, r.buffer, r.cap, publishable(stock, r))
            for r in _rules_now(session)
        ],
    )


@dataclass(frozen=True)
class Mismatch:
    stock_level_id: str
    sku: str | None
    location: str
    problem: str

    def __str__(self) -> str:
        return f"{self.sku or '-'} at {self.location} ({self.stock_level_id}): {self.problem}"


def verify(session: Session) -> list[Mismatch]:
    """Check that every stock level equals what its ledger sums to, and that its reserved
    units are exactly those of held reservation lines. Empty when all is well."""
    ledger = (
        select(
            Movement.stock_level_id,
            func.sum(Movement.on_hand_delta).label("on_hand"),
            func.sum(Movement.reserved_delta).label("reserved"),
        )
        .group_by(Movement.stock_level_id)
        .subquery()
    )
    held = (
        select(ReservationLine.stock_level_id, func.sum(ReservationLine.quantity).label("units"))
        .where(ReservationLine.state == "held", ReservationLine.stock_level_id.isnot(None))
        .group_by(ReservationLine.stock_level_id)
        .subquery()
    )
    rows = session.execute(
        select(
            StockLevel.id,
            Variant.sku,
            Location.code,
            StockLevel.on_hand,
            StockLevel.reserved,
            func.coalesce(ledger.c.on_hand, 0),
            func.coalesce(ledger.c.reserved, 0),
            func.coalesce(held.c.units, 0),
        )
        .join(Variant, Variant.id == StockLevel.variant_id)
        .join(Location, Location.id == StockLevel.location_id)
        .outerjoin(ledger, ledger.c.stock_level_id == StockLevel.id)
        .outerjoin(held, held.c.stock_level_id == StockLevel.id)
        .where(
            or_(
                StockLevel.on_hand != func.coalesce(ledger.c.on_hand, 0),
                StockLevel.reserved != func.coalesce(ledger.c.reserved, 0),
                StockLevel.reserved != func.coalesce(held.c.units, 0),
                StockLevel.reserved < 0,
                StockLevel.reserved > StockLevel.on_hand,
            )
        )
        .order_by(Variant.sku, Location.code)
    ).all()
    found = []
    for level_id, sku, code, on_hand, reserved, ledger_on_hand, ledger_reserved, held_units in rows:
        problems = []
        if on_hand != ledger_on_hand:
            problems.append(f"on hand {on_hand}, ledger says {ledger_on_hand}")
        if reserved != ledger_reserved:
            problems.append(f"reserved {reserved}, ledger says {ledger_reserved}")
        if reserved != held_units:
            problems.append(f"reserved {reserved}, held lines add up to {held_units}")
        if not 0 <= reserved <= on_hand:
            problems.append(f"reserved {reserved} outside 0..{on_hand}")
        found.append(Mismatch(level_id, sku, code, "; ".join(problems)))
    return found


def _batches(items: Iterable[Any], size: int) -> Iterable[list[Any]]:
    batch: list[Any] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


# ---------------------------------------------------------------- looking


@dataclass(frozen=True)
class HeldLine:
    reservation_id: str
    channel: str
    reference: str
    quantity: int
    expires_at: datetime
    lapsed: bool


def holds_of(
    session: Session, variant_id: str, now: datetime | None = None, limit: int = 50
) -> list[HeldLine]:
    """Units of a variant held by active reservations, soonest to expire first."""
    now = _now(now)
    rows = session.execute(
        select(
            Reservation.id,
            Reservation.channel,
            Reservation.reference,
            ReservationLine.quantity,
            Reservation.expires_at,
        )
        .join(ReservationLine, ReservationLine.reservation_id == Reservation.id)
        .where(
            ReservationLine.variant_id == variant_id,
            ReservationLine.state == "held",
            Reservation.status == "active",
        )
        .order_by(Reservation.expires_at)
        .limit(limit)
    )
    return [
        HeldLine(rid, channel, reference, quantity, expires, expires <= now)
        for rid, channel, reference, quantity, expires in rows
    ]


def ledger_of(session: Session, variant_id: str, limit: int = 100) -> list[Movement]:
    """A variant's latest stock movements, newest first."""
    return list(
        session.scalars(
            select(Movement)
            .where(Movement.variant_id == variant_id)
            .order_by(Movement.id.desc())
            .limit(limit)
        )
    )


def lowest_stock(session: Session, limit: int = 50) -> list[tuple[str | None, int, int]]:
    """(SKU, on hand, reserved) of the tracked variants with the fewest free units."""
    free = func.sum(StockLevel.on_hand - StockLevel.reserved)
    rows = session.execute(
        select(Variant.sku, func.sum(StockLevel.on_hand), func.sum(StockLevel.reserved))
        .join(StockLevel, StockLevel.variant_id == Variant.id)
        .where(Variant.inventory_tracked.is_(True))
        .group_by(Variant.id, Variant.sku)
        .order_by(free, Variant.sku)
        .limit(limit)
    )
    return [(sku, int(on_hand), int(reserved)) for sku, on_hand, reserved in rows]
