"""The inventory statements the hot paths run, built once with parameters only: at a
drop's rate building SQLAlchemy expressions costs more than the database work.

Tables first, then what reads stock, what takes units under the guard, what moves them
after the checks, and what reads and ends reservations.
"""

from __future__ import annotations

from sqlalchemy import bindparam, exists, func, or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql import Executable

from mercato import inserts
from mercato.catalog.models import Variant
from mercato.inventory.models import (
    ChannelPool,
    ChannelRule,
    Location,
    Movement,
    PoolMove,
    Reservation,
    ReservationLine,
    StockLevel,
)

levels_table, lines_table = StockLevel.__table__, ReservationLine.__table__
reservations_table, movements_table = Reservation.__table__, Movement.__table__
variants_table, locations_table, rules_table = (
    Variant.__table__,
    Location.__table__,
    ChannelRule.__table__,
)

LAPSED_UNITS = (  # units of a stock level still held by reservations that have expired
    select(func.coalesce(func.sum(lines_table.c.quantity), 0))
    .select_from(
        lines_table.join(
            reservations_table, reservations_table.c.id == lines_table.c.reservation_id
        )
    )
    .where(
        lines_table.c.stock_level_id == levels_table.c.id,
        lines_table.c.state == "held",
        reservations_table.c.expires_at <= bindparam("now"),
    )
    .correlate(levels_table)
    .scalar_subquery()
)
STOCK_OF_VARIANTS = (
    select(
        variants_table.c.id,
        variants_table.c.sku,
        variants_table.c.inventory_policy,
        variants_table.c.inventory_tracked,
        levels_table.c.id,
        levels_table.c.location_id,
        locations_table.c.code,
        locations_table.c.name,
        locations_table.c.priority,
        levels_table.c.on_hand,
        levels_table.c.reserved,
        LAPSED_UNITS,
    )
    .select_from(
        variants_table.outerjoin(
            levels_table, levels_table.c.variant_id == variants_table.c.id
        ).outerjoin(locations_table, locations_table.c.id == levels_table.c.location_id)
    )
    .where(
        or_(
            variants_table.c.id.in_(bindparam("ids", expanding=True)),
            variants_table.c.sku.in_(bindparam("skus", expanding=True)),
        )
    )
    .order_by(variants_table.c.id, levels_table.c.id)
)
TAKE_UNITS = (  # the guard: takes only what is free, and says so by returning a row
    update(levels_table)
    .where(
        levels_table.c.id == bindparam("level_id"),
        levels_table.c.on_hand - levels_table.c.reserved >= bindparam("units"),
    )
    .values(
        on_hand=levels_table.c.on_hand - bindparam("sold"),
        reserved=levels_table.c.reserved + bindparam("held"),
    )
    .returning(levels_table.c.on_hand, levels_table.c.reserved)
)
MOVE_UNITS = (  # under the level's lock, after the checks
    update(levels_table)
    .where(levels_table.c.id == bindparam("level_id"))
    .values(
        on_hand=levels_table.c.on_hand + bindparam("on_hand_delta"),
        reserved=levels_table.c.reserved + bindparam("reserved_delta"),
    )
)
RECLAIM_LAPSED_LINES = (
    update(lines_table)
    .where(
        lines_table.c.stock_level_id == bindparam("level_id"),
        lines_table.c.state == "held",
        exists().where(
            reservations_table.c.id == lines_table.c.reservation_id,
            reservations_table.c.expires_at <= bindparam("now"),
        ),
    )
    .values(state="expired")
    .returning(lines_table.c.variant_id, lines_table.c.quantity, lines_table.c.reservation_id)
)
RESERVATIONS_WITH_LINES = (
    select(
        reservations_table.c.id,
        reservations_table.c.channel,
        reservations_table.c.reference,
        reservations_table.c.status,
        reservations_table.c.expires_at,
        reservations_table.c.created_at,
        reservations_table.c.settled_at,
        lines_table.c.id.label("line_id"),
        lines_table.c.variant_id,
        variants_table.c.sku,
        lines_table.c.stock_level_id,
        locations_table.c.code,
        lines_table.c.quantity,
        lines_table.c.state,
    )
    .select_from(
        reservations_table.outerjoin(
            lines_table, lines_table.c.reservation_id == reservations_table.c.id
        )
        .outerjoin(variants_table, variants_table.c.id == lines_table.c.variant_id)
        .outerjoin(levels_table, levels_table.c.id == lines_table.c.stock_level_id)
        .outerjoin(locations_table, locations_table.c.id == levels_table.c.location_id)
    )
    .where(reservations_table.c.id.in_(bindparam("ids", expanding=True)))
    .order_by(reservations_table.c.id, lines_table.c.id)
)
END_RESERVATIONS = (  # only active ones: what it returns says who won
    update(reservations_table)
    .where(
        reservations_table.c.id.in_(bindparam("ids", expanding=True)),
        reservations_table.c.status == "active",
    )
    .values(status=bindparam("outcome"), settled_at=bindparam("at"))
    .returning(reservations_table.c.id)
)
END_LINES = (
    update(lines_table)
    .where(
        lines_table.c.reservation_id.in_(bindparam("ids", expanding=True)),
        lines_table.c.state == "held",
    )
    .values(state=bindparam("line_state"))
)
CHANNEL_RULES = select(rules_table.c.channel, rules_table.c.buffer, rules_table.c.cap).order_by(
    rules_table.c.channel
)
pools_table, pool_moves_table = ChannelPool.__table__, PoolMove.__table__
POOLS_OF_VARIANTS = (
    select(
        pools_table.c.id,
        pools_table.c.variant_id,
        pools_table.c.channel,
        pools_table.c.units,
        pools_table.c.held,
        pools_table.c.sold,
        pools_table.c.source,
    )
    .where(pools_table.c.variant_id.in_(bindparam("ids", expanding=True)))
    .order_by(pools_table.c.variant_id, pools_table.c.channel)
)
FREE_UNITS = (  # what a variant's pools may fence at most: on hand, not held
    select(func.coalesce(func.sum(levels_table.c.on_hand - levels_table.c.reserved), 0))
    .where(levels_table.c.variant_id == bindparam("of_variant"))
    .scalar_subquery()
)
_FENCED_UNITS = (
    select(func.coalesce(func.sum(pools_table.c.units), 0))
    .where(pools_table.c.variant_id == bindparam("of_variant"))
    .scalar_subquery()
)
FENCE_MORE = (  # the guard of pools: fences only units no other pool has, and says so
    update(pools_table)
    .where(
        pools_table.c.id == bindparam("pool_id"),
        _FENCED_UNITS + bindparam("n") <= FREE_UNITS,
    )
    .values(units=pools_table.c.units + bindparam("n"), updated_at=bindparam("now"))
)
FENCE_LESS = (
    update(pools_table)
    .where(pools_table.c.id == bindparam("pool_id"), pools_table.c.units >= bindparam("n"))
    .values(units=pools_table.c.units - bindparam("n"), updated_at=bindparam("now"))
)
TAKE_FROM_POOL = (  # a sale or hold on the pool's channel
    update(pools_table)
    .where(pools_table.c.id == bindparam("pool_id"), pools_table.c.units >= bindparam("take"))
    .values(
        units=pools_table.c.units - bindparam("take"),
        held=pools_table.c.held + bindparam("add_held"),
        sold=pools_table.c.sold + bindparam("add_sold"),
    )
)
SETTLE_IN_POOL = (  # a hold taken from the pool ends: sold, or its units back in the pool
    update(pools_table)
    .where(
        pools_table.c.variant_id == bindparam("of_variant"),
        pools_table.c.channel == bindparam("of_channel"),
        pools_table.c.held >= bindparam("n"),
    )
    .values(
        held=pools_table.c.held - bindparam("n"),
        sold=pools_table.c.sold + bindparam("add_sold"),
        units=pools_table.c.units + bindparam("add_back"),
    )
)
_INSERTS_OR_IGNORE: dict[tuple[str, str], Executable] = {}
_UNIQUE_KEYS = {
    "inventory_reservations": ("channel", "reference"),
    "inventory_stock_levels": ("variant_id", "location_id"),
    "inventory_locations": ("code",),
    "inventory_pools": ("variant_id", "channel"),
}


def insert_or_ignore(session: Session, table) -> Executable:
    """INSERT ... ON CONFLICT (its unique key) DO NOTHING, on either database: concurrent
    creators agree on one row. Returns the id when a row was inserted."""
    key = (session.get_bind().dialect.name, table.name)
    if key not in _INSERTS_OR_IGNORE:
        _INSERTS_OR_IGNORE[key] = inserts.insert_or_ignore(
            session, table, _UNIQUE_KEYS[table.name]
        ).returning(table.c.id)
    return _INSERTS_OR_IGNORE[key]


def insert_or_ignore_rows(session: Session, table, rows: list[dict]) -> list[str]:
    """``insert_or_ignore`` of many rows in one statement whatever their number
    (``inserts.insert_or_ignore_many``): the ids of those inserted."""
    return inserts.insert_or_ignore_many(session, table, _UNIQUE_KEYS[table.name], rows)
