"""The worker: one loop thread that owns every claim and result write, plus a pool of
``concurrency`` threads that do the work (job functions, webhook requests).

Each turn of the loop: settle finished work (one transaction per pump), run the steps
(outbox dispatch, periodic schedules), claim as much new work as there are free threads,
and renew the leases of work still running. With nothing to do it sleeps until a commit
wakes it (``events.live``) or ``poll`` seconds pass.

Keeping the writes in the loop thread makes the worker a single writer on SQLite; on
PostgreSQL any number of workers claim side by side (see ``jobs.service``).
"""

from __future__ import annotations

import logging
import os
import queue
import random
import socket
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from mercato.db import make_sessionmaker, transaction, utcnow
from mercato.events import live
from mercato.jobs import registry, service

logger = logging.getLogger("mercato.worker")

DEFAULT_LEASE = timedelta(seconds=60)
SCHEDULE_CHECK_EVERY = 1.0  # seconds


class JobPump:
    """The ``jobs`` table as a source of work."""

    name = "jobs"

    def __init__(self, info: registry.WorkerInfo, rng: random.Random | None = None) -> None:
        self.info = info
        self.rng = rng

    def claim(self, session, now, limit, worker_id, lease):
        return service.claim(session, now, limit, worker_id, lease)

    def perform(self, item: service.ClaimedJob) -> str | None:
        context = registry.JobContext(item.id, item.attempt, self.info.clock(),
                                      self.info.sessions, self.info.read_sessions)
        return service.run(item, context)

    def finish(self, session, now, done, worker_id):
        for item, error in done:
            if isinstance(error, BaseException):
                error = repr(error)
            if error is not None:
                logger.warning("job %s (%s) attempt %d failed:\n%s", item.id, item.name,
                               item.attempt, error)
            service.finish(session, now, item, error, worker_id, self.rng)

    def renew(self, session, items, until, worker_id):
        service.renew(session, [item.id for item in items], until, worker_id)

    def close(self) -> None:
        pass


class Worker:
    def __init__(self, engine: Engine, *, concurrency: int = 8,
                 lease: timedelta = DEFAULT_LEASE, clock: Callable[[], datetime] = utcnow,
                 poll: float = 1.0, worker_id: str | None = None) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.engine = engine
        self.concurrency, self.lease, self.clock, self.poll = concurrency, lease, clock, poll
        self.id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.sessions = make_sessionmaker(engine)
        registry.load_all()
        info = registry.WorkerInfo(self.id, concurrency, self.sessions,
                                   make_sessionmaker(engine, read_only=True), clock)
        self.pumps: list[registry.Pump] = [JobPump(info)] + [
            factory(info) for factory in registry.PUMPS.values()]
        self.steps = dict(registry.STEPS)
        self._pool = ThreadPoolExecutor(concurrency, thread_name_prefix="mercato-work")
        self._inflight: dict[Future, tuple[registry.Pump, Any]] = {}
        self._done: queue.SimpleQueue[tuple[registry.Pump, Any, Any]] = queue.SimpleQueue()
        self._stopping = threading.Event()
        self._wake, self._unsubscribe = live.LOCAL.thread_event()
        self._next_schedule_check = 0.0
        self._next_renewal = time.monotonic() + self._renew_every
        self._turn = 0

    @property
    def _renew_every(self) -> float:
        return self.lease.total_seconds() / 3

    # ------------------------------------------------------------ running

    def run(self) -> None:
        """Work until ``stop()``; then finish what is running (graceful) and return."""
        live.listen(self.engine)
        logger.info("worker %s started (concurrency %d)", self.id, self.concurrency)
        try:
            while not self._stopping.is_set():
                if self.step() == 0:
                    self._wake.wait(self.poll)
                    self._wake.clear()
        finally:
            self.close()
            logger.info("worker %s stopped", self.id)

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def close(self) -> None:
        """Wait for running work, record its results, release the threads."""
        self._pool.shutdown(wait=True)
        self._settle()
        for pump in self.pumps:
            pump.close()
        self._unsubscribe()

    def drain(self, max_turns: int = 10_000) -> None:
        """Run until nothing is due at ``clock()`` and nothing is running (tests, CLI)."""
        for _ in range(max_turns):
            work = self.step()
            if self._inflight:
                self._wake.wait(1.0)
                self._wake.clear()
            elif work == 0:
                return
        raise RuntimeError(f"work still coming after {max_turns} turns")

    def step(self) -> int:
        """One turn of the loop; how much was done (0: idle)."""
        work = self._settle()
        now = self.clock()
        for name, step in self.steps.items():
            work += self._safely(name, lambda s, step=step: step(s, now))
        if time.monotonic() >= self._next_schedule_check:
            self._next_schedule_check = time.monotonic() + SCHEDULE_CHECK_EVERY
            work += self._safely("schedules", lambda s: service.enqueue_due_schedules(s, now))
        if not self._stopping.is_set():
            work += self._claim(now)
        if time.monotonic() >= self._next_renewal:
            self._next_renewal = time.monotonic() + self._renew_every
            self._renew()
        return work

    # ------------------------------------------------------------ internals

    def _safely(self, what: str, fn: Callable[[Session], int]) -> int:
        """One transaction; a failure is logged and the loop goes on (it retries next turn)."""
        try:
            with transaction(self.sessions) as session:
                return fn(session) or 0
        except Exception:
            logger.exception("worker step %s failed", what)
            time.sleep(0.1)  # don't spin on a persistent failure
            return 0

    def _claim(self, now: datetime) -> int:
        claimed = 0
        # Rotate which pump claims first, so that no source starves the others.
        self._turn += 1
        order = self.pumps[self._turn % len(self.pumps):] + self.pumps[
            :self._turn % len(self.pumps)]
        for pump in order:
            free = self.concurrency - len(self._inflight)
            if free <= 0:
                break
            items: list[Any] = []

            def take(session, pump=pump, free=free, items=items):
                items.extend(pump.claim(session, now, free, self.id, self.lease))
                return len(items)

            self._safely(f"claim {pump.name}", take)
            for item in items:
                future = self._pool.submit(pump.perform, item)
                self._inflight[future] = (pump, item)
                future.add_done_callback(self._on_done)
            claimed += len(items)
        return claimed

    def _on_done(self, future: Future) -> None:
        try:
            result = future.result()
        except Exception as exc:  # perform() should not raise; the pump still settles it
            logger.exception("work failed unexpectedly")
            result = exc
        self._done.put((future, result))
        self._wake.set()

    def _settle(self) -> int:
        """Record the results of finished work, a transaction per pump."""
        by_pump: dict[int, list[tuple[Any, Any]]] = {}
        pumps: dict[int, registry.Pump] = {}
        while True:
            try:
                future, result = self._done.get_nowait()
            except queue.Empty:
                break
            pump, item = self._inflight.pop(future)
            by_pump.setdefault(id(pump), []).append((item, result))
            pumps[id(pump)] = pump
        for key, done in by_pump.items():
            pump = pumps[key]
            self._safely(f"finish {pump.name}",
                         lambda s, pump=pump, done=done: pump.finish(
                             s, self.clock(), done, self.id) or len(done))
        return sum(len(done) for done in by_pump.values())

    def _renew(self) -> None:
        running: dict[int, list[Any]] = {}
        pumps: dict[int, registry.Pump] = {}
        for pump, item in list(self._inflight.values()):
            running.setdefault(id(pump), []).append(item)
            pumps[id(pump)] = pump
        until = self.clock() + self.lease
        for key, items in running.items():
            self._safely(f"renew {pumps[key].name}",
                         lambda s, key=key, items=items: pumps[key].renew(
                             s, items, until, self.id) or 0)


def embedded(engine: Engine, concurrency: int = 4):
    """A FastAPI lifespan running a worker thread beside the API (the embedded setup)."""

    @asynccontextmanager
    async def lifespan(_app) -> AsyncIterator[None]:
        worker = Worker(engine, concurrency=concurrency)
        thread = threading.Thread(target=worker.run, name="mercato-worker", daemon=True)
        thread.start()
        try:
            yield
        finally:
            worker.stop()
            await run_in_threadpool(thread.join, worker.lease.total_seconds())

    return lifespan
