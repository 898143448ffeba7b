"""The channels' change log: which variants changed since each channel's publish last took
them (see ``models.Change``). A publish reads it instead of the whole catalog, so its cost
grows with what changed, not with the catalog."""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from sqlalchemy import and_, bindparam, delete, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from mercato.channels.models import Change
from mercato.db import utcnow

# Events whose variants a publish must look at again.
PRODUCT_EVENTS = ("product.created", "product.updated", "product.deleted")
STOCK_EVENTS = ("inventory.changed",)
# Rows per statement.
CHUNK = 500


@dataclass
class Pending:
    """The change log of one channel as a publish read it."""

    # variant id -> the stamp read (what the publish may delete once it is done).
    stamps: dict[str, int] = field(default_factory=dict)
    # Products changed as a whole (their removed variants are looked for too).
    product_ids: set[str] = field(default_factory=set)

    @property
    def variant_ids(self) -> list[str]:
        return sorted(self.stamps)

    def __len__(self) -> int:
        return len(self.stamps)


def of_events(events: Iterable) -> dict[str, str | None]:
    """variant id -> its product id (None for a stock change) of the events that change
    what a channel should show."""
    changed: dict[str, str | None] = {}
    for event in events:
        payload = event.payload
        if event.type in PRODUCT_EVENTS:
            for variant_id in payload.get("variant_ids") or ():
                changed[variant_id] = payload["product_id"]
        elif event.type in STOCK_EVENTS and payload.get("variant_id"):
            changed.setdefault(payload["variant_id"], None)
    return changed


def record(session: Session, channel_ids: Iterable[str], changed: Mapping[str, str | None]) -> None:
    """Add (or renew) the change rows of ``changed`` (variant id -> product id or None) for
    each channel, in the caller's transaction."""
    if not changed:
        return
    now = utcnow()
    rows = [
        {
            "channel_id": channel_id,
            "variant_id": variant_id,
            "product_id": product_id,
            "stamp": secrets.randbits(62),
            "changed_at": now,
        }
        for channel_id in channel_ids
        for variant_id, product_id in changed.items()
    ]
    if not rows:
        return
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = insert(Change)
    statement = statement.on_conflict_do_update(
        index_elements=[Change.channel_id, Change.variant_id],
        set_={
            "stamp": statement.excluded.stamp,
            "changed_at": statement.excluded.changed_at,
            # A product change stays one until published, even if a stock change follows.
            "product_id": func.coalesce(statement.excluded.product_id, Change.product_id),
        },
    )
    for start in range(0, len(rows), CHUNK):
        session.execute(statement, rows[start : start + CHUNK])


def read(session: Session, channel_id: str) -> Pending:
    """Every change row of the channel (read before the catalog: whatever they stand for is
    then in what the catalog read returns)."""
    pending = Pending()
    for variant_id, product_id, stamp in session.execute(
        select(Change.variant_id, Change.product_id, Change.stamp).where(
            Change.channel_id == channel_id
        )
    ):
        pending.stamps[variant_id] = stamp
        if product_id:
            pending.product_ids.add(product_id)
    return pending


_CONSUME = delete(Change.__table__).where(
    and_(
        Change.__table__.c.channel_id == bindparam("b_channel_id"),
        Change.__table__.c.variant_id == bindparam("b_variant_id"),
        Change.__table__.c.stamp == bindparam("b_stamp"),
    )
)


def consume(session: Session, channel_id: str, pending: Pending) -> None:
    """Delete the rows a publish read and finished with; a row renewed meanwhile (another
    stamp) stays."""
    rows = [
        {"b_channel_id": channel_id, "b_variant_id": variant_id, "b_stamp": stamp}
        for variant_id, stamp in pending.stamps.items()
    ]
    for start in range(0, len(rows), CHUNK):
        session.execute(_CONSUME, rows[start : start + CHUNK])
