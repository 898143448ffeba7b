"""The worker: one loop thread that owns every claim and every result write, and per
queue of work (jobs, webhook deliveries) a pool of ``concurrency`` threads
that do the work itself (job functions, HTTP requests).

Each turn of the loop runs the steps (outbox dispatch, periodic schedules), then per
queue one transaction that records the finished work and claims more, and every lease/3
renews the leases of work still running. With nothing to do it sleeps until a commit
wakes it (``mercato.wakeups``) or ``poll`` seconds pass.

Claims carry a lease: work claimed by a worker that dies (SIGKILL, power loss) is
claimed again by any worker once the lease has run out, so it is done at least once.
Keeping the writes in the loop thread makes a worker one writer on SQLite (where
write transactions are serialized anyway); on PostgreSQL any number of workers claim
side by side with ``FOR UPDATE SKIP LOCKED`` (see ``jobs.service``).
"""

from __future__ import annotations

import collections
import itertools
import logging
import os
import queue
import socket
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from mercato import wakeups
from mercato.db import make_sessionmaker, transaction, utcnow
from mercato.jobs import registry, service

logger = logging.getLogger("mercato.worker")

DEFAULT_LEASE = timedelta(seconds=60)
SCHEDULE_CHECK_EVERY = 1.0  # seconds
# SQLite has one writer: a batch holds the write lock for its whole transaction, and the
# API's writes (acknowledging webhooks) wait behind it. bench/webhooks.py, 1,000 order
# events, embedded worker, interleaved (load 3 to 4): batches of 10 acknowledged 181 to
# 191/s, p99 332 to 388 ms, and processed 98 to 114/s; batches of 50 acknowledged 114 to
# 142/s, p99 603 to 811 ms, and processed 112 to 134/s.
SQLITE_BATCH = 10


@dataclass(frozen=True)
class ClaimedBatch:
    """Jobs of one batch task, claimed together and performed in one call."""

    jobs: tuple[service.ClaimedJob, ...]


class JobQueue:
    """The ``jobs`` table as a queue of work.

    A claim that finds jobs of a batch task (``registry.batch_task``) takes more of that
    name in the same transaction, up to a full batch for each one found, and hands each
    batch to one thread: a burst of them costs a call and a transaction per batch.
    """

    name = "jobs"

    def __init__(self, info: registry.WorkerInfo) -> None:
        self.info = info

    def claim(self, session, now, limit, worker_id, lease):
        claimed = service.claim(session, now, limit, worker_id, lease)
        items: list[service.ClaimedJob | ClaimedBatch] = []
        batches: dict[str, list[service.ClaimedJob]] = {}
        for job in claimed:
            task = registry.TASKS.get(job.name)
            if task is not None and task.batch_size > 1:
                batches.setdefault(job.name, []).append(job)
            else:
                items.append(job)
        for name, jobs in batches.items():
            size = registry.TASKS[name].batch_size
            if session.get_bind().dialect.name == "sqlite":
                size = min(size, SQLITE_BATCH)
            jobs += service.claim(session, now, len(jobs) * (size - 1), worker_id, lease, name)
            items += [ClaimedBatch(tuple(jobs[i : i + size])) for i in range(0, len(jobs), size)]
        return items

    def perform(self, item: service.ClaimedJob | ClaimedBatch) -> str | None | list[str | None]:
        if isinstance(item, ClaimedBatch):
            context = registry.BatchContext(
                self.info.clock(), self.info.sessions, self.info.read_sessions
            )
            return service.run_many(list(item.jobs), context)
        context = registry.JobContext(
            item.id, item.attempt, self.info.clock(), self.info.sessions, self.info.read_sessions
        )
        return service.run(item, context)

    def finish(self, session, now, done, worker_id):
        outcomes: list[tuple[service.ClaimedJob, str | None]] = []
        for item, result in done:
            if isinstance(result, BaseException):  # perform() itself failed
                result = repr(result)
            if isinstance(item, ClaimedBatch):
                errors = result if isinstance(result, list) else [result] * len(item.jobs)
                outcomes += zip(item.jobs, errors, strict=True)
            else:
                outcomes.append((item, result))
        for job, error in outcomes:
            if error is not None:
                logger.warning(
                    "job %s (%s) attempt %d failed:\n%s", job.id, job.name, job.attempt, error
                )
        service.finish_many(session, now, outcomes, worker_id)

    def renew(self, session, items, until, worker_id):
        ids = [
            job.id
            for item in items
            for job in (item.jobs if isinstance(item, ClaimedBatch) else (item,))
        ]
        service.renew(session, ids, until, worker_id)

    def close(self) -> None:
        pass


class _QueueSlot:
    """One work queue with its own threads, so that long jobs never hold up deliveries."""

    def __init__(self, work_queue: registry.WorkQueue, concurrency: int) -> None:
        self.queue = work_queue
        self.pool = ThreadPoolExecutor(concurrency, thread_name_prefix=f"mercato-{work_queue.name}")
        # Claim ahead of the threads (``prefetch``) so that claims come in batches.
        self.capacity = concurrency * getattr(work_queue, "prefetch", 1)
        self.inflight: dict[Future, Any] = {}
        self.more = False  # the last claim was full: there may be more
        self.next_ask = 0.0  # monotonic time to ask an idle queue again


class Worker:
    def __init__(
        self,
        engine: Engine,
        *,
        concurrency: int = 8,
        lease: timedelta = DEFAULT_LEASE,
        clock: Callable[[], datetime] = utcnow,
        poll: float = 1.0,
        worker_id: str | None = None,
    ) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.engine = engine
        self.concurrency, self.lease, self.clock, self.poll = concurrency, lease, clock, poll
        self.id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.sessions = make_sessionmaker(engine)
        registry.load_all()
        info = registry.WorkerInfo(
            self.id, concurrency, self.sessions, make_sessionmaker(engine, read_only=True), clock
        )
        queues = [JobQueue(info)] + [factory(info) for factory in registry.WORK_QUEUES.values()]
        self.slots = [_QueueSlot(work_queue, concurrency) for work_queue in queues]
        self.steps = dict(registry.STEPS)
        self._done: queue.SimpleQueue[tuple[_QueueSlot, Future, Any]] = queue.SimpleQueue()
        self._stopping = threading.Event()
        self._wake = threading.Event()
        # Commits anywhere (this process, or others on PostgreSQL) wake the worker up.
        self._wakeup_counter = itertools.count(1)
        self._wakeups = self._wakeups_seen = 0
        self._unsubscribe = wakeups.LOCAL.subscribe(self._wake_up)
        self._due: dict[str, float] = {"renewal": time.monotonic() + lease.total_seconds() / 3}
        # The latest failures of the loop's own steps (not of jobs: those are recorded on
        # the job and retried), for whoever drives the loop to see.
        self.failed_steps: collections.deque[Exception] = collections.deque(maxlen=20)

    @property
    def busy(self) -> bool:
        return any(slot.inflight for slot in self.slots)

    # ------------------------------------------------------------ running

    def run(self) -> None:
        """Work until ``stop()``; then finish what is running (graceful) and return."""
        release = wakeups.listen(self.engine)
        logger.info("worker %s started (concurrency %d)", self.id, self.concurrency)
        try:
            while not self._stopping.is_set():
                if self.step() == 0:
                    self._wake.wait(self.poll)
                    self._wake.clear()
        finally:
            self.close()
            release()
            logger.info("worker %s stopped", self.id)

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def close(self) -> None:
        """Wait for running work, record its results, release the threads."""
        for slot in self.slots:
            slot.pool.shutdown(wait=True)
        for slot, done in self._collect().items():
            self._turn(slot, done, self.clock(), ask=False)
        for slot in self.slots:
            slot.queue.close()
        self._unsubscribe()

    def drain(self, max_turns: int = 10_000) -> None:
        """Run until nothing is due at ``clock()`` and nothing is running (tests, CLI)."""
        for _ in range(max_turns):
            work = self.step(force=True)
            if self.busy:
                self._wake.wait(1.0)
                self._wake.clear()
            elif work == 0:
                return
        raise RuntimeError(f"work still coming after {max_turns} turns")

    def step(self, force: bool = False) -> int:
        """One turn of the loop; how much was done (0: idle).

        Sources that had nothing are asked again after ``poll`` seconds, or at once when a
        commit wakes the worker (``force`` asks every source now).
        """
        woken = self._woken_since_last_turn() or force
        now, clock = self.clock(), time.monotonic()
        work = 0
        for name, step in self.steps.items():
            if woken or clock >= self._due.get(name, 0):
                did = self._safely(name, lambda s, step=step: step(s, now))
                self._due[name] = 0 if did else clock + self.poll
                work += did
        if force or clock >= self._due.get("schedules", 0):
            self._due["schedules"] = clock + SCHEDULE_CHECK_EVERY
            work += self._safely("schedules", lambda s: service.enqueue_due_schedules(s, now))
        finished = self._collect()
        for slot in self.slots:
            work += self._turn(
                slot,
                finished.get(slot, []),
                now,
                ask=woken or work > 0 or slot.more or clock >= slot.next_ask,
            )
        if clock >= self._due.get("renewal", clock + 1):
            self._renew()
        return work

    def _woken_since_last_turn(self) -> bool:
        seen, self._wakeups_seen = self._wakeups_seen, self._wakeups
        return seen != self._wakeups_seen

    def _wake_up(self) -> None:
        self._wakeups = next(self._wakeup_counter)  # atomic in CPython
        self._wake.set()

    # ------------------------------------------------------------ internals

    def _safely(self, what: str, fn: Callable[[Session], int]) -> int:
        """One transaction; a failure is logged and the loop goes on (it retries next turn)."""
        try:
            with transaction(self.sessions) as session:
                return fn(session) or 0
        except Exception as failed:
            logger.exception("worker step %s failed", what)
            self.failed_steps.append(failed)
            time.sleep(0.1)  # don't spin on a persistent failure
            return 0

    def _turn(self, slot: _QueueSlot, done: list[tuple[Any, Any]], now: datetime, ask: bool) -> int:
        """Record finished work and claim more, in one transaction."""
        free = slot.capacity - len(slot.inflight)
        # Claim at half capacity or below: claims then come in batches, not one by one.
        ask = (
            (ask or bool(done))
            and not self._stopping.is_set()
            and free >= max(1, slot.capacity // 2)
        )
        if not done and not ask:
            return 0
        items: list[Any] = []

        def work(session) -> int:
            if done:
                slot.queue.finish(session, self.clock(), done, self.id)
            if ask:
                items.extend(slot.queue.claim(session, now, free, self.id, self.lease))
            return 1

        self._safely(slot.queue.name, work)
        if ask:
            slot.more = len(items) == free
            slot.next_ask = 0 if items else time.monotonic() + self.poll
        for item in items:
            future = slot.pool.submit(slot.queue.perform, item)
            slot.inflight[future] = item
            future.add_done_callback(lambda f, slot=slot: self._on_done(slot, f))
        return len(done) + len(items)

    def _on_done(self, slot: _QueueSlot, future: Future) -> None:
        try:
            result = future.result()
        except Exception as exc:  # perform() should not raise; its queue still settles it
            logger.exception("%s work failed unexpectedly", slot.queue.name)
            result = exc
        self._done.put((slot, future, result))
        self._wake.set()

    def _collect(self) -> dict[_QueueSlot, list[tuple[Any, Any]]]:
        finished: dict[_QueueSlot, list[tuple[Any, Any]]] = {}
        while True:
            try:
                slot, future, result = self._done.get_nowait()
            except queue.Empty:
                return finished
            finished.setdefault(slot, []).append((slot.inflight.pop(future), result))

    def _renew(self) -> None:
        self._due["renewal"] = time.monotonic() + self.lease.total_seconds() / 3
        until = self.clock() + self.lease
        for slot in self.slots:
            items = list(slot.inflight.values())
            if items:
                self._safely(
                    f"renew {slot.queue.name}",
                    lambda s, slot=slot, items=items: (
                        slot.queue.renew(s, items, until, self.id) or 0
                    ),
                )


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
