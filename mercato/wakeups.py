"""Wake-ups: "something new was committed", for live streams and idle workers.

A wake-up carries no data; whoever wakes re-reads the database. So a lost wake-up only
delays a reader until its next poll, and nothing is published "after commit" that the
database does not already hold.

- In one process: ``signal(session)`` marks the transaction; when it commits, every
  local waiter is woken (``LOCAL``).
- Across processes on PostgreSQL: ``signal`` also runs ``pg_notify`` inside the
  transaction (PostgreSQL delivers it on commit, never on rollback), and one listener
  thread per process and database (``listen(engine)``) turns notifications into local
  wake-ups.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable

import psycopg
from sqlalchemy import Engine, event, text
from sqlalchemy.orm import Session

logger = logging.getLogger("mercato.wakeups")

CHANNEL = "mercato_events"
_SIGNALLED = "mercato_wakeup"
_NOT_BEGUN = object()


class Wakeups:
    """Process-local broadcast to any number of threads and event loops."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._callbacks: set[Callable[[], None]] = set()

    def subscribe(self, callback: Callable[[], None]) -> Callable[[], None]:
        with self._lock:
            self._callbacks.add(callback)
        return lambda: self._unsubscribe(callback)

    def _unsubscribe(self, callback: Callable[[], None]) -> None:
        with self._lock:
            self._callbacks.discard(callback)

    def notify(self) -> None:
        with self._lock:
            callbacks = list(self._callbacks)
        for callback in callbacks:
            with contextlib.suppress(RuntimeError):  # an event loop that closed under us
                callback()

    def asyncio_event(self) -> tuple[asyncio.Event, Callable[[], None]]:
        """An asyncio.Event (of the running loop) set on every wake-up, and its unsubscribe."""
        loop = asyncio.get_running_loop()
        flag = asyncio.Event()
        return flag, self.subscribe(lambda: loop.call_soon_threadsafe(flag.set))


LOCAL = Wakeups()


def signal(session: Session) -> None:
    """Wake readers when the current transaction commits (nothing happens on rollback).

    Sent once per transaction; a savepoint that is rolled back takes its signal with it
    (PostgreSQL drops the NOTIFY too), so the next ``signal`` sends again."""
    if session.info.get(_SIGNALLED) is not None:
        return
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_notify(:channel, '')"), {"channel": CHANNEL})
    # Where it was sent: the innermost savepoint or transaction, if one began yet.
    session.info[_SIGNALLED] = (
        session.get_nested_transaction() or session.get_transaction() or _NOT_BEGUN
    )


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    # SQLAlchemy 2.1 also calls this when a savepoint is released: the transaction goes
    # on, nothing is visible yet, and the signal already sent stands for it.
    if session.in_nested_transaction():
        return
    if session.info.pop(_SIGNALLED, None) is not None:
        LOCAL.notify()


@event.listens_for(Session, "after_soft_rollback")
def _after_soft_rollback(session: Session, rolled_back) -> None:
    """Forget a signal sent in the transaction or savepoint rolled back (or inside it);
    a savepoint rolled back leaves the signal of the work around it."""
    marked = session.info.get(_SIGNALLED)
    if rolled_back.parent is None:  # the whole transaction
        session.info.pop(_SIGNALLED, None)
    while marked is not None:
        if marked is rolled_back:
            session.info.pop(_SIGNALLED, None)
            return
        marked = getattr(marked, "parent", None)


class _PgListener(threading.Thread):
    """LISTENs on its own connection and relays notifications to ``LOCAL``."""

    def __init__(self, conninfo: str) -> None:
        super().__init__(name="mercato-listen", daemon=True)
        self.conninfo = conninfo
        self.ready = threading.Event()
        self.stopping = threading.Event()
        self.users = 0

    def run(self) -> None:
        delay = 0.5
        while not self.stopping.is_set():
            try:
                with psycopg.connect(self.conninfo, autocommit=True) as connection:
                    connection.execute(f"LISTEN {CHANNEL}")
                    self.ready.set()
                    delay = 0.5
                    # Wake once on (re)connect: anything committed while deaf is read now.
                    LOCAL.notify()
                    while not self.stopping.is_set():
                        for _ in connection.notifies(timeout=1.0):
                            LOCAL.notify()
            except psycopg.Error as exc:
                if self.stopping.is_set():
                    return
                logger.warning("event listener lost its connection (%s); retrying", exc)
            self.stopping.wait(delay)
            delay = min(delay * 2, 30)


_listeners: dict[str, _PgListener] = {}
_listeners_lock = threading.Lock()


def listen(engine: Engine, wait: float = 5.0) -> Callable[[], None]:
    """Relay PostgreSQL notifications to this process while someone needs them.

    One listener per database and process, shared; returns the function that releases
    this use of it (the last release stops it). A no-op on SQLite.
    """
    if engine.dialect.name != "postgresql":
        return lambda: None
    conninfo = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    with _listeners_lock:
        listener = _listeners.get(conninfo)
        if listener is None:
            listener = _listeners[conninfo] = _PgListener(conninfo)
            listener.start()
        listener.users += 1
    listener.ready.wait(wait)
    released = threading.Event()

    def release() -> None:
        with _listeners_lock:
            if released.is_set():
                return
            released.set()
            listener.users -= 1
            if listener.users == 0:
                listener.stopping.set()
                del _listeners[conninfo]

    return release
