"""Group commit: requests of one API process that arrive together are written together.

Under a burst (a live drop, a platform's webhook storm) each request is a small
transaction, and most of its cost is the transaction itself: a connection, BEGIN,
statements built and sent one by one, COMMIT, and on SQLite a turn at the write lock.
A ``GroupCommit`` queues the requests and hands them to ``write_batch`` a queue-full at a
time, in one thread, one transaction per batch. Every request still gets its own answer:
a value, or the error that refused it alone.

Domains subclass it with the batch writer (``inventory.reservation_batches``, ``orders.intake``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Hashable
from typing import Generic, TypeVar

from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from mercato.db import transaction

Request = TypeVar("Request")
log = logging.getLogger(__name__)

# Requests written in one transaction at most: enough to carry a burst, few enough that
# the first of them is not kept waiting long.
BATCH_LIMIT = 64


class GroupCommit(Generic[Request]):
    # Refusals ``write_batch`` may raise that only a request's own transaction can answer
    # (which of the batch it was): the batch is undone and each written alone, quietly.
    refused_alone: tuple[type[Exception], ...] = ()

    def __init__(self, sessions: sessionmaker[Session], limit: int = BATCH_LIMIT):
        self.sessions, self.limit = sessions, limit
        self.waiting: list[tuple[Request, asyncio.Future]] = []
        self.writing: asyncio.Task | None = None

    @classmethod
    def of(cls, state, name: str):
        """The API process's one batcher kept as ``state.<name>`` (the app's state), made
        on first use with the app's write sessions."""
        found = getattr(state, name, None)
        if found is None:
            found = cls(state.sessions.write)
            setattr(state, name, found)
        return found

    # ---------------------------------------------------------------- for subclasses

    def write_batch(self, session: Session, requests: list[Request]) -> list:
        """Write ``requests`` in ``session``'s transaction; one outcome each (a value or a
        refusal as an exception object). Raising fails the batch: each is then retried
        alone through ``write_one``."""
        raise NotImplementedError

    def write_one(self, session: Session, request: Request):
        raise NotImplementedError

    def key(self, request: Request) -> Hashable | None:
        """Requests sharing a key never share a batch (a twin waits for the next one and
        sees what the first wrote). None: no such constraint."""
        return None

    # ---------------------------------------------------------------- the queue

    async def submit(self, request: Request):
        """Queue ``request`` and wait for its outcome; raises its refusal."""
        future = asyncio.get_running_loop().create_future()
        self.waiting.append((request, future))
        if self.writing is None:
            self.writing = asyncio.get_running_loop().create_task(self._write_while_waiting())
        outcome = await future
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    async def _write_while_waiting(self) -> None:
        batch: list[tuple[Request, asyncio.Future]] = []
        try:
            while self.waiting:
                batch = self._next_batch()
                outcomes = await run_in_threadpool(self._write, [r for r, _ in batch])
                for (_, future), outcome in zip(batch, outcomes, strict=True):
                    if not future.done():
                        future.set_result(outcome)
        except BaseException as failed:
            # Nobody may wait for ever: whoever is still waiting gets the failure.
            for _, future in [*batch, *self.waiting]:
                if not future.done():
                    future.set_result(failed)
            self.waiting = []
            raise
        finally:
            self.writing = None

    def _next_batch(self) -> list[tuple[Request, asyncio.Future]]:
        """Up to ``limit`` waiting requests of the first one's type, no key twice."""
        kind = type(self.waiting[0][0])
        batch, keys, rest = [], set(), []
        for entry in self.waiting:
            key = self.key(entry[0])
            if (
                len(batch) < self.limit
                and type(entry[0]) is kind
                and (key is None or key not in keys)
            ):
                batch.append(entry)
                keys.add(key)
            else:
                rest.append(entry)
        self.waiting = rest
        return batch

    def _write(self, requests: list[Request]) -> list:
        try:
            with transaction(self.sessions) as session:
                return self.write_batch(session, requests)
        except self.refused_alone:
            pass
        except Exception:  # noqa: BLE001 - retried one by one below, each with its answer
            # Said once a batch, with its cause: a batch writer that keeps failing turns every
            # burst into single transactions, which no answer would show.
            log.warning(
                "%s: a batch of %d failed; writing each alone",
                type(self).__name__,
                len(requests),
                exc_info=True,
            )
        outcomes = []
        for request in requests:
            try:
                with transaction(self.sessions) as session:
                    outcomes.append(self.write_one(session, request))
            except Exception as refused:  # noqa: BLE001 - this request's answer
                outcomes.append(refused)
        return outcomes
