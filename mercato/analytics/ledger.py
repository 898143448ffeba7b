"""Writing the touch ledger: append-only, one row per event id, visitors stitched to
customers only with consent, old touches forgotten after the retention period."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from mercato.analytics.models import Touch
from mercato.db import utcnow
from mercato.inserts import insert_or_ignore_many

# What the server knows better than a browser: a purchase's money and attribution.
SERVER_WINS = (
    "channel",
    "campaign",
    "post",
    "creator",
    "conversation_id",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_content",
    "utm_term",
    "customer_id",
    "value",
    "currency",
    "country",
    "experiment",
    "at",
)
UTM_FIELDS = ("utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term")


def purchase_event_id(order_id: str) -> str:
    """The id a purchase carries from the browser and from the server alike."""
    return f"order:{order_id}:purchase"


def customer_key(email: str | None, fallback: str) -> str:
    """A buyer's id in the ledger: a digest of the email, never the email itself (a
    guest and an account with one address are one customer); without an email, one
    customer per ``fallback`` (the order)."""
    if not email:
        return f"o_{fallback}"[:40]
    return "c_" + hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]


def from_attribution(attribution: Mapping[str, Any]) -> dict[str, Any]:
    """A checkout's or order's attribution (``checkout.attribution_from_link``'s shape)
    as touch columns."""
    utm = attribution.get("utm") or {}
    return {
        "channel": attribution.get("source"),
        "campaign": attribution.get("campaign") or utm.get("utm_campaign"),
        "post": attribution.get("content_id"),
        "creator": attribution.get("creator"),
        "conversation_id": attribution.get("conversation_id"),
        "experiment": attribution.get("experiment"),
        **{field: (utm.get(field) or None) for field in UTM_FIELDS},
    }


def record(session: Session, touches: Iterable[Mapping[str, Any]]) -> int:
    """Append touches; one whose event id is already there is not added twice. A
    purchase seen first by the browser then by the server keeps the browser's visitor
    and takes the server's money and attribution. Returns how many rows were added.
    The touches of a batch go in one insert (``insert_or_ignore_many``) and their
    purchases are stitched with one read: a worker's batch of platform orders had paid a
    statement or two per order here (bench/webhooks.py, PostgreSQL)."""
    rows = [_row(touch) for touch in touches]
    if not rows:
        return 0
    inserted = set(insert_or_ignore_many(session, Touch, ["event_id"], rows, "event_id"))
    added, purchases = 0, []
    for row in rows:
        if row["event_id"] in inserted:
            inserted.discard(row["event_id"])  # a twin later in the batch is seen again
            added += 1
        elif row["kind"] == "purchase":
            _merge_purchase(session, row)
        if row["kind"] == "purchase":
            purchases.append(row["event_id"])
    if purchases:
        stitch(session, *purchases)
    return added


_COLUMNS = frozenset(c.key for c in Touch.__table__.columns) - {"id"}


def _row(touch: Mapping[str, Any]) -> dict[str, Any]:
    """A touch as a row with every column (the rows of one insert share their keys)."""
    unknown = set(touch) - _COLUMNS
    if unknown:
        raise ValueError(f"not columns of a touch: {sorted(unknown)}")
    row = dict.fromkeys(_COLUMNS)
    row.update(touch)
    row["count"] = 1 if row["count"] is None else row["count"]
    row["recorded_at"] = row["recorded_at"] or utcnow()
    return row


def _merge_purchase(session: Session, touch: Mapping[str, Any]) -> None:
    row = session.scalars(
        select(Touch).where(Touch.event_id == touch["event_id"]).with_for_update()
    ).one()
    if touch["source"] == "server":
        for field in SERVER_WINS:
            if touch.get(field) is not None:
                setattr(row, field, touch[field])
        row.source = "server"
    if row.visitor_id is None and touch.get("visitor_id"):
        row.visitor_id = touch["visitor_id"]
    session.flush()


def stitch(session: Session, *purchase_events: str) -> int:
    """The buyers' earlier touches joined to them. A browser sends a visitor id only once
    the visitor consented, so a purchase carrying one is consent to link that visitor's
    touches; without it no visit is joined. A purchase through a link sent in an inbox
    conversation joins that conversation's messages: the order already names it."""
    joined = 0
    for row in session.execute(
        select(Touch.visitor_id, Touch.customer_id, Touch.conversation_id).where(
            Touch.event_id.in_(sorted(set(purchase_events))),
            Touch.customer_id.is_not(None),
            or_(Touch.visitor_id.is_not(None), Touch.conversation_id.is_not(None)),
        )
    ).all():
        same_person = []
        if row.visitor_id:
            same_person.append(Touch.visitor_id == row.visitor_id)
        if row.conversation_id:
            same_person.append(Touch.conversation_id == row.conversation_id)
        joined += session.execute(
            update(Touch)
            .where(or_(*same_person), Touch.customer_id.is_(None))
            .values(customer_id=row.customer_id)
        ).rowcount
    return joined


def forget_before(session: Session, cutoff: datetime) -> int:
    """Retention: touches that happened before ``cutoff`` deleted; returns how many."""
    return session.execute(delete(Touch).where(Touch.at < cutoff)).rowcount


EXPORT_COLUMNS = tuple(c.key for c in Touch.__table__.columns if c.key != "id")


def rows_between(session: Session, since: datetime, until: datetime) -> Iterable[tuple]:
    """The touches of [since, until) in time order, as EXPORT_COLUMNS, streamed."""
    columns = [getattr(Touch, key) for key in EXPORT_COLUMNS]
    return session.execute(
        select(*columns)
        .where(Touch.at >= since, Touch.at < until)
        .order_by(Touch.at, Touch.id)
        .execution_options(yield_per=1000)
    )
