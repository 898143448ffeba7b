"""Recording events in the caller's transaction; listing them; handing them to consumers.

Commit order: on PostgreSQL ``seq`` comes from a sequence, so a transaction holding seq
5 may commit after another's seq 6. Nothing here follows "seq > last seen":

- Consumers (webhook fan-out, ...) are fed by ``dispatch_pending``, which takes what is
  still in ``event_outbox``: an event that commits late is simply still pending.
- The live stream reads through ``stream.CommitOrderReader``, which holds back behind
  a seq gap until the transaction that might fill it has ended.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import ColumnElement, Row, bindparam, delete, false, or_, select, text
from sqlalchemy.orm import Session

from mercato import wakeups
from mercato.db import insert_rows, new_id, utcnow
from mercato.errors import FieldError, NotFound, ValidationFailed
from mercato.events.models import Event, OutboxEntry
from mercato.jobs import registry
from mercato.pagination import MAX_PAGE_SIZE as MAX_PAGE_SIZE
from mercato.pagination import Page, keyset_page, seqs

EVENT_TYPE = re.compile(r"^[a-z][a-z_]*\.[a-z][a-z_]*$")
TYPE_PATTERN = re.compile(r"^(\*|[a-z][a-z_]*\.(\*|[a-z][a-z_]*))$")
DISPATCH_BATCH = 500
# Any constant: one dispatcher at a time across every worker process on PostgreSQL.
_DISPATCH_LOCK = 0x6D65726361746F


class EventPayload(BaseModel):
    """Base of every event payload; bump ``version`` on an incompatible change."""

    version: int = 1


def _versioned(type: str, payload: EventPayload | dict[str, Any]) -> tuple[int, dict]:
    if not EVENT_TYPE.match(type):
        raise ValueError(f"event type {type!r} is not '<resource>.<past-tense>'")
    if isinstance(payload, EventPayload):
        return payload.version, payload.model_dump(mode="json", exclude={"version"})
    return 1, payload


def record(session: Session, type: str, payload: EventPayload | dict[str, Any], key: str) -> Event:
    """Add an event to the outbox in the current transaction (committed with the change)."""
    version, body = _versioned(type, payload)
    event = Event(id=new_id("evt"), type=type, key=key, version=version, payload=body)
    session.add(event)
    session.add(OutboxEntry(event=event))
    wakeups.signal(session)
    return event


def record_many(
    session: Session, entries: Iterable[tuple[str, EventPayload | dict[str, Any], str]]
) -> int:
    """``record()`` for many (type, payload, key) at once, in that order: two multi-row
    INSERTs instead of an object each, for imports and stock counts that touch thousands.
    ``entries`` may be a generator: each payload is then made as its row is written
    (see ``insert_rows``)."""
    now = utcnow()
    ids: list[str] = []

    def rows():
        for type, payload, key in entries:
            version, body = _versioned(type, payload)
            ids.append(new_id("evt"))
            yield {
                "id": ids[-1],
                "type": type,
                "key": key,
                "version": version,
                "payload": body,
                "created_at": now,
            }

    if insert_rows(session, Event.__table__, rows()):
        insert_rows(session, OutboxEntry.__table__, ({"event_id": i} for i in ids))
        wakeups.signal(session)
    return len(ids)


# ---------------------------------------------------------------- type patterns


def check_type_patterns(patterns: Sequence[str], loc: tuple[str | int, ...]) -> list[str]:
    """Patterns as given ("order.created", "order.*", "*"), or ValidationFailed."""
    errors = [
        FieldError((*loc, i), f"{p!r} is not an event type, '<resource>.*' or '*'")
        for i, p in enumerate(patterns)
        if not TYPE_PATTERN.match(p)
    ]
    if errors:
        raise ValidationFailed("Invalid event type filter.", errors)
    return list(dict.fromkeys(patterns))


def type_matches(patterns: Sequence[str], event_type: str) -> bool:
    return any(
        p == "*" or p == event_type or (p.endswith(".*") and event_type.startswith(p[:-1]))
        for p in patterns
    )


def type_filter(column, patterns: Sequence[str]) -> ColumnElement[bool]:
    """The SQL form of ``type_matches``."""
    if "*" in patterns:
        return column.is_not(None)
    exact = [p for p in patterns if not p.endswith(".*")]
    prefixes = [column.startswith(p[:-1], autoescape=True) for p in patterns if p.endswith(".*")]
    clauses = ([column.in_(exact)] if exact else []) + prefixes
    return or_(*clauses) if clauses else false()


# ---------------------------------------------------------------- reading


@dataclass
class EventFilters:
    types: list[str] | None = None
    key: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def apply(self, query):
        if self.types:
            query = query.where(type_filter(Event.type, self.types))
        if self.key:
            query = query.where(Event.key == self.key)
        if self.since:
            query = query.where(Event.created_at >= self.since)
        if self.until:
            query = query.where(Event.created_at < self.until)
        return query


def list_events(
    session: Session,
    filters: EventFilters,
    cursor: str | None = None,
    limit: int = 50,
    newest_first: bool = True,
) -> Page:
    """A page of events. To follow new events as they happen use the stream or a webhook:
    paging forward by ``seq`` can miss a transaction that commits late (see module doc)."""
    return keyset_page(
        session,
        filters.apply(select(Event)),
        Event.seq,
        cursor,
        limit,
        newest_first=newest_first,
        shape=seqs,
    )


def get_event(session: Session, event_id: str) -> Event:
    event = session.scalar(select(Event).where(Event.id == event_id))
    if event is None:
        raise NotFound(f"No event with id {event_id!r}.")
    return event


# ---------------------------------------------------------------- consumers

# A consumer is handed each pending event as a row of the ``events`` columns (``seq``,
# ``id``, ``type``, ``key``, ``version``, ``payload``, ``created_at``), read by attribute.
Consumer = Callable[[Session, Sequence[Row], datetime], None]
_consumers: dict[str, Consumer] = {}
_events, _outbox = Event.__table__, OutboxEntry.__table__
# Built once, plain columns: loading 500 events as objects each turn took a fifth of a
# webhook intake worker's CPU.
_PENDING = (
    select(
        _events.c.seq,
        _events.c.id,
        _events.c.type,
        _events.c.key,
        _events.c.version,
        _events.c.payload,
        _events.c.created_at,
    )
    .join(_outbox, _outbox.c.event_id == _events.c.id)
    .order_by(_events.c.seq)
    .limit(bindparam("limit"))
)
_HANDED_OVER = delete(_outbox).where(_outbox.c.event_id.in_(bindparam("ids", expanding=True)))


def consumer(name: str) -> Callable[[Consumer], Consumer]:
    """Register ``fn(session, events, now)``: called with every new event, in seq order,
    inside the dispatcher's transaction (so what it writes commits with the hand-over)."""

    def register(fn: Consumer) -> Consumer:
        _consumers[name] = fn
        return fn

    return register


@functools.cache
def _load_consumers() -> None:
    """Every domain's consumers registered, once a process: an event handed over leaves
    the outbox, so a process that had imported none of them (a CLI command) must not
    hand events to nobody."""
    registry.load_all()


def dispatch_pending(session: Session, now: datetime, limit: int = DISPATCH_BATCH) -> int:
    """Hand pending outbox events to every consumer and clear them; returns how many.

    One dispatcher at a time: the SQLite write lock, or an advisory lock on PostgreSQL
    (a second worker skips rather than waits). Serial dispatch keeps per-key order:
    two dispatchers working on different batches could otherwise create a later event's
    work before an earlier one's.
    """
    if session.get_bind().dialect.name == "postgresql" and not session.scalar(
        text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": _DISPATCH_LOCK}
    ):
        return 0
    events = session.execute(_PENDING, {"limit": limit}).all()
    if not events:
        return 0
    _load_consumers()
    # A copy: a consumer that enqueues a job may import (and so register) more consumers.
    for fn in list(_consumers.values()):
        fn(session, events, now)
    session.execute(_HANDED_OVER, {"ids": [e.id for e in events]})
    return len(events)
