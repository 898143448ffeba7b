"""An order's timeline: what happened to it, line by line (``OrderActivity``), and the
``order.*`` event each change records beside its line, in the caller's transaction."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from mercato import events
from mercato.db import insert_rows, utcnow
from mercato.money import format_plain
from mercato.orders.models import Order, OrderActivity
from mercato.orders.schemas import OrderChanged


def note(session: Session, order_id: str, actor: str, kind: str, message: str, **data) -> None:
    """A line on the timeline that changes nothing else (e.g. a push to the platform)."""
    order = session.get(Order, order_id)
    if order is not None:
        session.add(
            OrderActivity(
                order_id=order_id,
                at=utcnow(),
                actor=actor,
                kind=kind,
                message=message,
                data={k: v for k, v in data.items() if v is not None},
            )
        )


def changed(
    session: Session, order: Order, actor: str, kind: str, message: str, event_type: str, **detail
) -> None:
    """The order changed: stamp it, write the line and record the event."""
    order.updated_at = utcnow()
    log(session, order, actor, kind, message, **detail)
    publish(session, event_type, order, **detail)


def log(session: Session, order: Order, actor: str, kind: str, message: str, **data) -> None:
    order.timeline.append(
        OrderActivity(
            at=utcnow(),
            actor=actor,
            kind=kind,
            message=message,
            data={k: v for k, v in data.items() if v is not None},
        )
    )


def log_many(
    session: Session, entries: Sequence[tuple[Order, str, str, str, dict[str, Any]]]
) -> None:
    """``log`` for many (order, actor, kind, message, data): the entries written as rows
    in one insert (COPY on PostgreSQL) and put in the session as loaded, each order's
    timeline known whole, so nothing is loaded nor flushed again. The orders' timelines
    must hold no entry not yet written (a flush makes sure)."""
    if not entries:
        return
    ids = _next_entry_ids(session, len(entries))
    now = utcnow()
    made = [
        OrderActivity(
            id=entry_id,
            order_id=order.id,
            at=now,
            actor=actor,
            kind=kind,
            message=message,
            data={k: v for k, v in data.items() if v is not None},
        )
        for (order, actor, kind, message, data), entry_id in zip(entries, ids, strict=True)
    ]
    columns = [column.key for column in OrderActivity.__table__.columns]
    insert_rows(
        session,
        OrderActivity.__table__,
        [{key: entry.__dict__[key] for key in columns} for entry in made],
    )
    for (order, *_), entry in zip(entries, made, strict=True):
        make_transient_to_detached(entry)
        set_committed_value(order, "timeline", [*order.timeline, entry])
        session.add(entry)


def _next_entry_ids(session: Session, count: int) -> list[int]:
    """``count`` new entry ids, increasing, in one statement."""
    if session.get_bind().dialect.name == "postgresql":
        sequence = func.pg_get_serial_sequence(OrderActivity.__tablename__, "id")
        series = func.generate_series(1, count).table_valued("n")
        return sorted(session.scalars(select(func.nextval(sequence)).select_from(series)))
    # SQLite: writers are serialized (BEGIN IMMEDIATE), so max + 1 cannot race.
    last = session.scalar(select(func.max(OrderActivity.id))) or 0
    return list(range(last + 1, last + 1 + count))


def publish(session: Session, event_type: str, order: Order, **detail) -> None:
    """Record an ``order.*`` event with the order as it is now."""
    events.record(session, event_type, _changed(order, detail), key=order.id)


def publish_many(session: Session, changes: Sequence[tuple[str, Order]]) -> None:
    """``publish`` for many (event type, order), in that order, in one insert."""
    events.record_many(
        session, ((event_type, changed_payload(order), order.id) for event_type, order in changes)
    )


def changed_payload(order: Order) -> dict[str, Any]:
    """An ``OrderChanged`` with no detail as its JSON body, built directly: a batch of
    new orders records two events each, and a model per event cost a webhook worker
    more than their insert."""
    return {
        "order_id": order.id,
        "number": order.number,
        "channel": order.channel,
        "external_id": order.external_id,
        "status": order.status,
        "payment_status": order.payment_status,
        "fulfillment_status": order.fulfillment_status,
        "total": order.total,
        "currency": order.currency,
        "detail": {},
    }


def _changed(order: Order, detail: dict) -> OrderChanged:
    return OrderChanged(
        order_id=order.id,
        number=order.number,
        channel=order.channel,
        external_id=order.external_id,
        status=order.status,
        payment_status=order.payment_status,
        fulfillment_status=order.fulfillment_status,
        total=order.total,
        currency=order.currency,
        detail={k: v for k, v in detail.items() if v is not None},
    )


def amount_text(minor: int, currency: str) -> str:
    """An amount as the timeline writes it: "12.50 EUR"."""
    return f"{format_plain(minor, currency)} {currency}"
