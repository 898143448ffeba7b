"""Reservations: hold stock for a cart or an order, then commit it (sold) or release it
(given back); a hold that lapses stops counting at once and is tidied by the sweeper.

Every change to a reservation or its lines happens while holding the locks of its stock
levels, taken lowest id first (``lock_objects``). That serializes commit, release,
extend, expiry and reclaim of the same units, and rules out deadlocks. A refused
reservation undoes its own writes (compensation), so it is safe inside a larger
transaction.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import Field
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from mercato.db import insert_rows, new_id, utcnow
from mercato.errors import Conflict, FieldError, MercatoError, NotFound, ValidationFailed
from mercato.inventory import lock_objects
from mercato.inventory.allocation import (
    Taken,
    hold_lines,
    read_lines,
    reclaimer,
    take,
    wanted_units,
)
from mercato.inventory.availability import as_of, read_stock
from mercato.inventory.ledger import movement_row, record_changes, settle_pools, write_movements
from mercato.inventory.models import Reservation
from mercato.inventory.pools import Fences
from mercato.inventory.queries import (
    END_LINES,
    END_RESERVATIONS,
    MOVE_UNITS,
    RESERVATIONS_WITH_LINES,
    insert_or_ignore_rows,
    lines_table,
    reservations_table,
)
from mercato.inventory.schemas import (
    ReservationLineInput,
    ReservationLinePublic,
    ReservationPublic,
)

DEFAULT_HOLD = timedelta(minutes=15)
SWEEP_BATCH = 500
# Clocks of the processes sharing the database differ by less than this: a hold this far
# from lapsing is lapsed for none of them.
CLOCK_SKEW = timedelta(seconds=30)


class ReservationExpired(Conflict):
    slug = "reservation-expired"
    title = "Reservation expired"


class LineView(ReservationLinePublic):
    """A reservation line as the services return it: its API shape, plus the stock level
    its units are held at (None when it holds no stock: untracked or backordered)."""

    stock_level_id: str | None = Field(None, exclude=True)


class ReservationView(ReservationPublic):
    """A reservation as the services return it (and as commit, release and expiry read it
    back under the locks): its API shape, plus whether an earlier request with the same
    reference made it."""

    lines: list[LineView]
    replayed: bool = Field(False, exclude=True)


def _load(session: Session, reservation_ids: Collection[str]) -> dict[str, ReservationView]:
    """Reservations with their lines, fresh from the database (read after locking)."""
    loaded: dict[str, ReservationView] = {}
    for row in session.execute(RESERVATIONS_WITH_LINES, {"ids": sorted(reservation_ids)}):
        reservation = loaded.get(row.id)
        if reservation is None:
            reservation = loaded[row.id] = ReservationView.model_construct(
                id=row.id,
                channel=row.channel,
                reference=row.reference,
                status=row.status,
                expires_at=row.expires_at,
                created_at=row.created_at,
                settled_at=row.settled_at,
                lines=[],
            )
        if row.line_id is not None:
            reservation.lines.append(
                LineView.model_construct(
                    variant_id=row.variant_id,
                    sku=row.sku,
                    location=row.code,
                    quantity=row.quantity,
                    state=row.state,
                    stock_level_id=row.stock_level_id,
                )
            )
    return loaded


def get_reservation(session: Session, reservation_id: str) -> ReservationView:
    return _load_one(session, reservation_id)


def _hold_seconds(ttl_seconds: int | None) -> timedelta:
    if ttl_seconds is None:
        return DEFAULT_HOLD
    if ttl_seconds <= 0:
        raise ValidationFailed(
            "A hold must last a while.", [FieldError(("ttl_seconds",), "must be at least 1 second")]
        )
    return timedelta(seconds=ttl_seconds)


@dataclass(frozen=True)
class ReservationRequest:
    """What ``reserve`` is asked for, as one value (``reserve_many`` takes a list)."""

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
        session,
        [ReservationRequest(lines, channel, reference, ttl_seconds, allocation, sell, actor)],
        now,
    )
    if isinstance(outcome, MercatoError):
        raise outcome
    return outcome


def reserve_many(
    session: Session, requests: Sequence[ReservationRequest], now: datetime | None = None
) -> list[ReservationView | MercatoError]:
    """``reserve`` for many requests in one transaction; each gets its own outcome (a
    refused one undoes its own writes). References must be distinct within one call.

    One claim of all references, the stock levels locked lowest id first (so that two
    such transactions never wait on each other in opposite orders) then read, each
    request decided in turn from that read (``allocation.hold_lines``), then one guarded
    UPDATE per stock level with the units of them all (``allocation.take``) and one
    insert each of lines, movements and events.
    """
    now = as_of(now)
    outcomes: list[ReservationView | MercatoError | None] = [None] * len(requests)
    claims: dict[int, dict[str, Any]] = {}
    for index, request in enumerate(requests):
        try:
            expires_at = now + _hold_seconds(request.ttl_seconds)
        except MercatoError as refused:
            outcomes[index] = refused
            continue
        claim_id = new_id("res")
        status, settled_at = ("committed", now) if request.sell else ("active", None)
        claims[index] = {
            "id": claim_id,
            "channel": request.channel,
            "reference": request.reference or claim_id,
            "status": status,
            "expires_at": expires_at,
            "actor": request.actor,
            "created_at": now,
            "settled_at": settled_at,
        }
    # Claim the references first: a concurrent twin waits here, then replays ours.
    claimed = set()
    if claims:
        claimed = set(insert_or_ignore_rows(session, reservations_table, list(claims.values())))
    variant_ids = [ln.variant_id for i in claims for ln in requests[i].lines if ln.variant_id]
    skus = [ln.sku for i in claims for ln in requests[i].lines if ln.sku]
    locked = lock_objects.stock_levels_of_variants(session, variant_ids, skus)
    stocks = read_stock(session, variant_ids, skus, now)
    if locked is not None:  # a level made since the lock is left alone: it is not ours
        for stock in stocks.values():
            stock.levels = [level for level in stock.levels if level.id in locked]

    fences = Fences(session, stocks)
    taken: Taken = {}
    line_rows: list[dict[str, Any]] = []
    movements: list[dict[str, Any]] = []
    changed: set[str] = set()
    refused_claims = []
    for index, row in claims.items():
        request = requests[index]
        try:
            if row["id"] not in claimed:
                outcomes[index] = _replay(session, request.channel, row["reference"], request.lines)
                continue
            if fences.pools:  # ring-fenced variants sell from the channel's pool only
                fences.check(request.channel, wanted_units(request.lines, stocks), stocks)
            wanted, plans = hold_lines(
                request.lines,
                stocks,
                allocation=request.allocation,
                sell=request.sell,
                taken=taken,
                reclaim=reclaimer(session, now, request.actor),
            )
        except MercatoError as refused:
            outcomes[index] = refused
            if row["id"] in claimed:
                refused_claims.append(row["id"])
            continue
        views = []
        state = "sold" if request.sell else "held"
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
                views.append(
                    LineView.model_construct(
                        variant_id=variant_id,
                        sku=stocks[variant_id].sku,
                        location=location,
                        quantity=units,
                        state=state,
                        stock_level_id=level_id,
                    )
                )
                if level_id is not None:
                    movements.append(
                        movement_row(
                            level_id,
                            variant_id,
                            "sale" if request.sell else "reservation",
                            units,
                            on_hand=-units if request.sell else 0,
                            reserved=0 if request.sell else units,
                            actor=request.actor,
                            now=now,
                            reference=row["reference"],
                            reservation_id=row["id"],
                        )
                    )
        changed.update(plans)
        if fences.pools:
            fences.take(request.channel, wanted, sell=request.sell)
        outcomes[index] = ReservationView.model_construct(
            id=row["id"],
            channel=row["channel"],
            reference=row["reference"],
            status=row["status"],
            expires_at=row["expires_at"],
            created_at=now,
            settled_at=row["settled_at"],
            lines=views,
        )
    take(session, taken)
    fences.write(session)
    if refused_claims:
        session.execute(
            delete(reservations_table).where(reservations_table.c.id.in_(refused_claims))
        )
    insert_rows(session, lines_table, line_rows)  # COPY on PostgreSQL
    write_movements(session, movements)
    record_changes(session, changed, stocks, now, fences.units())
    return outcomes


def _replay(
    session: Session, channel: str, reference: str, lines: Sequence[ReservationLineInput]
) -> ReservationView:
    reservation_id = session.scalar(
        select(Reservation.id).where(
            Reservation.channel == channel, Reservation.reference == reference
        )
    )
    loaded = _load(session, [reservation_id])[reservation_id]
    requested, _ = read_lines(session, lines, utcnow())
    held: dict[str, int] = defaultdict(int)
    for line in loaded.lines:
        held[line.variant_id] += line.quantity
    if requested != dict(held):
        raise Conflict(
            f"Reference {reference!r} was already used for a different "
            "reservation on this channel.",
            [FieldError(("reference",), "already used with other lines", "taken")],
            {"reservation_id": reservation_id},
        )
    loaded.replayed = True
    return loaded


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
    return settle_many(session, [reservation_id], "committed", as_of(now), actor)[0]


def release(
    session: Session, reservation_id: str, *, actor: str = "system", now: datetime | None = None
) -> ReservationView:
    """Give the held units back. Idempotent; an expired reservation stays expired."""
    return settle_many(session, [reservation_id], "released", as_of(now), actor)[0]


def extend(
    session: Session, reservation_id: str, ttl_seconds: int, *, now: datetime | None = None
) -> ReservationView:
    """Keep an active hold for ``ttl_seconds`` from now."""
    extend_until(session, reservation_id, ttl_seconds, now=now)
    return _load_one(session, reservation_id)


def extend_until(
    session: Session, reservation_id: str, ttl_seconds: int, *, now: datetime | None = None
) -> datetime:
    """``extend`` without reading the hold back: when it now lapses."""
    now = as_of(now)
    expires_at = now + _hold_seconds(ttl_seconds)
    extend_far_from_lapsing = (
        update(reservations_table)
        .where(
            reservations_table.c.id == reservation_id,
            reservations_table.c.status == "active",
            reservations_table.c.expires_at > now + CLOCK_SKEW,
        )
        .values(expires_at=expires_at)
    )
    # A hold far from lapsing is one no sweeper or reclaim can be taking now: only its
    # expiry changes, so no stock level is locked (checkouts extend on the way to
    # payment; taking the SKU's level here queued every buyer of a hot SKU once more).
    if session.execute(extend_far_from_lapsing).rowcount == 1:
        return expires_at
    lock_objects.stock_levels_of_reservations(session, [reservation_id])
    reservation = _load_one(session, reservation_id)
    if reservation.status != "active":
        raise _not_active(reservation, "extended")
    if _lapsed(reservation, now):
        raise _expired(reservation, "it cannot be extended")
    extended = session.execute(
        update(reservations_table)
        .where(reservations_table.c.id == reservation_id, reservations_table.c.status == "active")
        .values(expires_at=expires_at)
    ).rowcount
    if extended != 1:  # settled meanwhile (only a reservation holding no stock gets here)
        raise Conflict(f"Reservation {reservation_id} changed meanwhile; try again.")
    return expires_at


def _load_one(session: Session, reservation_id: str) -> ReservationView:
    reservation = _load(session, [reservation_id]).get(reservation_id)
    if reservation is None:
        raise NotFound(f"No reservation with id {reservation_id!r}.")
    return reservation


def _lapsed(reservation: ReservationView, now: datetime) -> bool:
    return reservation.expires_at <= now or any(
        line.state == "expired" for line in reservation.lines
    )


def _not_active(reservation: ReservationView, verb: str) -> Conflict:
    return Conflict(
        f"Reservation {reservation.id} is {reservation.status}; it cannot be {verb}.",
        extra={"reservation_status": reservation.status},
    )


def _expired(reservation: ReservationView, consequence: str) -> ReservationExpired:
    at = reservation.expires_at.isoformat()
    return ReservationExpired(
        f"Reservation {reservation.id} expired at {at}; {consequence}.", extra={"expires_at": at}
    )


def settle_many(
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
    pooled: list[tuple[str, str, int]] = []
    ending: dict[str, list[str]] = defaultdict(list)  # by outcome
    views = []
    for reservation_id in reservation_ids:
        reservation = loaded.get(reservation_id)
        if reservation is None:
            raise NotFound(f"No reservation with id {reservation_id!r}.")
        if reservation.status != "active":
            if outcome == "expired":
                continue  # settled since the sweeper looked
            if reservation.status == outcome or (outcome, reservation.status) == (
                "released",
                "expired",
            ):
                views.append(reservation)
                continue
            raise _not_active(reservation, outcome)
        lapsed = _lapsed(reservation, now)
        if outcome == "expired" and not lapsed:
            continue  # extended since the sweeper looked
        if outcome == "committed" and lapsed:
            raise _expired(reservation, "nothing was sold")
        final = "expired" if lapsed else outcome
        ending[final].append(reservation_id)
        state, kind = OUTCOMES[final]
        sold = final == "committed"
        for line in reservation.lines:
            if line.state != "held":
                continue
            line.state = state
            level_id, units = line.stock_level_id, line.quantity
            if level_id is None:
                continue
            level_deltas[level_id][0] -= units if sold else 0
            level_deltas[level_id][1] -= units
            movements.append(
                movement_row(
                    level_id,
                    line.variant_id,
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
            pooled.append((line.variant_id, reservation.channel, units))
            if not sold:
                freed_variants.add(line.variant_id)
        reservation.status, reservation.settled_at = final, now
        views.append(reservation)
    # Each outcome's reservations and their lines in one UPDATE each, not two a reservation.
    for final, ids in ending.items():
        flipped = set(session.scalars(END_RESERVATIONS, {"ids": ids, "outcome": final, "at": now}))
        if lost := [i for i in ids if i not in flipped]:
            # Settled meanwhile (only a reservation holding no stock gets here).
            raise Conflict(f"Reservation {lost[0]} changed meanwhile; try again.")
        session.execute(END_LINES, {"ids": ids, "line_state": OUTCOMES[final][0]})
    if level_deltas:
        session.execute(
            MOVE_UNITS,
            [
                {"level_id": level_id, "on_hand_delta": on_hand, "reserved_delta": reserved}
                for level_id, (on_hand, reserved) in sorted(level_deltas.items())
            ],
        )
    write_movements(session, movements)
    settle_pools(session, pooled, sold=outcome == "committed")
    # A sale takes units from on_hand and reserved alike: availability does not move.
    record_changes(session, freed_variants, now=now)
    return views


def sweep_expired(session: Session, now: datetime | None = None, limit: int = SWEEP_BATCH) -> int:
    """Expire up to ``limit`` lapsed reservations, recording their expiry movements.

    Only tidies: lapsed holds stopped counting when they expired. Returns how many
    reservations it expired; call again (in a new transaction) while it returns ``limit``.
    """
    now = as_of(now)
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
    return len(settle_many(session, due, "expired", now, "system:sweeper"))
