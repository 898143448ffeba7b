"""The live event stream: events in commit-safe ``seq`` order, resumable by ``seq``.

``CommitOrderReader`` never hands out seq N while a lower seq might still commit, so
"everything up to the last id I got" is a complete, exact resume point
(``Last-Event-ID``).

- SQLite: one writer at a time, so seqs become visible in order; no gaps to wait for.
- PostgreSQL: a sequence value is taken when the row is inserted, not at commit. When
  the reader sees seq 7 but not 6, it waits. It notes the snapshot's ``xmax`` (the next
  transaction id); once the oldest running transaction (``xmin``) has passed it, every
  transaction in flight when the gap was seen has ended, the one that took seq 6 among
  them, and if 6 is still not visible it rolled back: the reader moves on. (So a long
  write transaction elsewhere on the server that was open at that moment holds the
  gap too, up to ``MAX_GAP_WAIT``; gaps only come from rollbacks and concurrent
  commits.) A transaction gets its id at its first write, which for an
  event recorded first comes a moment after the seq it takes: ``MIN_GAP_WAIT`` covers
  that moment. ``MAX_GAP_WAIT`` bounds the wait whatever happens.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import orjson
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from mercato.events.models import Event
from mercato.events.service import EventFilters
from mercato.wakeups import LOCAL

MIN_GAP_WAIT = 0.5  # seconds
# A stream re-reads at least this often when nothing wakes it (seconds).
POLL = 5.0
MAX_GAP_WAIT = 60.0  # seconds; no transaction that records events should take longer
# When starting without Last-Event-ID, these many recent seqs are checked for gaps.
START_WINDOW = 1000
BATCH = 500


@dataclass
class _Gap:
    """A run of missing seqs [first, last], as first seen."""

    first: int
    last: int
    xmax: int | None
    seen_at: float


@dataclass
class CommitOrderReader:
    after: int
    # Seqs above ``after`` that must not be emitted (already committed when we started).
    skip: set[int] = field(default_factory=set)
    gaps: list[_Gap] = field(default_factory=list)
    clock: Callable[[], float] = time.monotonic

    @classmethod
    def from_now(cls, session: Session) -> CommitOrderReader:
        """Start after the newest event, still catching a late commit just below it."""
        newest = session.scalar(select(func.max(Event.seq))) or 0
        seen = set(session.scalars(select(Event.seq).where(Event.seq > newest - START_WINDOW)))
        return cls(after=min(seen) - 1 if seen else newest, skip=seen)

    def read(self, session: Session, filters: EventFilters, limit: int = BATCH) -> list[Event]:
        """The next events matching ``filters`` whose every predecessor is settled."""
        postgres = session.get_bind().dialect.name == "postgresql"
        xmin = xmax = None
        if postgres:
            # Before reading rows: a transaction that ended before this point is visible.
            xmin, xmax = session.execute(
                text(
                    "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint, "
                    "pg_snapshot_xmax(pg_current_snapshot())::text::bigint"
                )
            ).one()
        seqs = list(
            session.scalars(
                select(Event.seq).where(Event.seq > self.after).order_by(Event.seq).limit(limit)
            )
        )
        horizon = self.after
        for seq in seqs:
            if (
                seq > horizon + 1
                and postgres
                and not self._settled(horizon + 1, seq - 1, xmin, xmax)
            ):
                break
            horizon = seq
        if horizon == self.after:
            return []
        wanted = [s for s in seqs if s <= horizon and s not in self.skip]
        self.skip.difference_update(s for s in seqs if s <= horizon)
        self.gaps = [g for g in self.gaps if g.last > horizon]
        self.after = horizon
        if not wanted:
            return []
        query = filters.apply(select(Event).where(Event.seq.in_(wanted))).order_by(Event.seq)
        return list(session.scalars(query))

    def _settled(self, first: int, last: int, xmin: int, xmax: int) -> bool:
        """Are the missing seqs first..last final (never coming)?"""
        # Missing seqs only ever fill in, so a run seen earlier covers any part of it.
        gap = next((g for g in self.gaps if g.first <= first and last <= g.last), None)
        if gap is None:
            self.gaps.append(_Gap(first, last, xmax, self.clock()))
            return False
        waited = self.clock() - gap.seen_at
        return (xmin >= gap.xmax and waited >= MIN_GAP_WAIT) or waited > MAX_GAP_WAIT


def event_message(event: Event) -> dict[str, str]:
    """One SSE message: ``id`` is the seq (the resume point), ``event`` the type."""
    data = {
        "id": event.id,
        "seq": event.seq,
        "type": event.type,
        "key": event.key,
        "version": event.version,
        "created_at": event.created_at.isoformat(),
        "data": event.payload,
    }
    return {"id": str(event.seq), "event": event.type, "data": orjson.dumps(data).decode()}


async def follow(
    read_sessions: sessionmaker[Session],
    filters: EventFilters,
    last_event_id: int | None,
    poll: float | None = None,
    on_close: Callable[[], None] = lambda: None,
) -> AsyncIterator[dict]:
    """SSE messages until the client leaves: woken by commits (or every ``poll`` s)."""
    poll = POLL if poll is None else poll

    def start() -> CommitOrderReader:
        if last_event_id is not None:
            return CommitOrderReader(after=last_event_id)
        with read_sessions() as session:
            return CommitOrderReader.from_now(session)

    def read() -> tuple[list[Event], bool, bool]:
        with read_sessions() as session:
            before = reader.after
            events = reader.read(session, filters)
            return events, reader.after != before, bool(reader.gaps)

    wakeup, unsubscribe = LOCAL.asyncio_event()
    try:
        reader = await run_in_threadpool(start)
        while True:
            wakeup.clear()
            events, advanced, waiting_on_gap = await run_in_threadpool(read)
            for event in events:
                yield event_message(event)
            if advanced:
                continue
            # A gap settles without a commit we'd hear of (a rollback): re-check soon.
            timeout = 0.2 if waiting_on_gap else poll
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wakeup.wait(), timeout)
    finally:
        unsubscribe()
        on_close()
