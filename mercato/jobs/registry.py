"""Named job functions, periodic schedules, and the work queues a worker drains.

A domain declares its jobs in its ``tasks.py``; the worker imports every
``mercato.<domain>.tasks`` module (``load_all``), so nothing central lists them::

    @jobs.task("inventory.sweep_expired", every="1 minute")
    def sweep_expired(ctx: JobContext) -> None: ...
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy.orm import Session, sessionmaker

import mercato
from mercato.db import transaction
from mercato.jobs.durations import parse_duration

DEFAULT_MAX_ATTEMPTS = 10


class _Transactions:
    sessions: sessionmaker[Session]

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        with transaction(self.sessions) as session:
            yield session


@dataclass(frozen=True)
class JobContext(_Transactions):
    """What a job function gets besides its arguments."""

    job_id: str
    attempt: int
    now: datetime
    sessions: sessionmaker[Session]
    read_sessions: sessionmaker[Session]


@dataclass(frozen=True)
class BatchContext(_Transactions):
    """What a batch function gets besides its jobs."""

    now: datetime
    sessions: sessionmaker[Session]
    read_sessions: sessionmaker[Session]


@dataclass(frozen=True)
class Batched:
    """One job of a batch: its id, which attempt this is, and its arguments."""

    job_id: str
    attempt: int
    args: dict[str, Any]


@dataclass(frozen=True)
class Task:
    name: str
    fn: Callable[..., Any]
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    # Retry n waits about base * 2**(n-1), at most cap, with jitter (service.backoff).
    backoff_base: timedelta = timedelta(seconds=5)
    backoff_cap: timedelta = timedelta(hours=1)
    # Above 1: ``fn(ctx: BatchContext, batch: list[Batched])`` takes up to this many jobs.
    batch_size: int = 1


@dataclass(frozen=True)
class Schedule:
    task: str
    interval: timedelta
    args: dict[str, Any] = field(default_factory=dict)


TASKS: dict[str, Task] = {}
SCHEDULES: dict[str, Schedule] = {}


def task(
    name: str,
    *,
    every: str | timedelta | None = None,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    backoff_base: str | timedelta = "5 seconds",
    backoff_cap: str | timedelta = "1 hour",
):
    """Register ``fn(ctx, **args)`` as the job ``name``; ``every`` also runs it periodically."""

    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        TASKS[name] = Task(
            name, fn, max_attempts, parse_duration(backoff_base), parse_duration(backoff_cap)
        )
        if every is not None:
            periodic(name, every)
        return fn

    return register


def batch_task(
    name: str,
    *,
    size: int,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    backoff_base: str | timedelta = "5 seconds",
    backoff_cap: str | timedelta = "1 hour",
):
    """Register ``fn(ctx, batch) -> outcomes`` as the job ``name``, run ``size`` at a time.

    ``batch`` holds up to ``size`` claimed jobs (never two sharing a key); ``fn`` returns
    one outcome per job, in the same order: None when it succeeded, else its exception
    (or error text), with which that job alone is retried or buried. An exception raised
    by ``fn`` itself fails every job of the batch.
    """
    if size < 1:
        raise ValueError("a batch holds at least one job")

    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        TASKS[name] = Task(
            name,
            fn,
            max_attempts,
            parse_duration(backoff_base),
            parse_duration(backoff_cap),
            batch_size=size,
        )
        return fn

    return register


def periodic(name: str, every: str | timedelta, args: dict[str, Any] | None = None) -> None:
    """Run the registered job ``name`` every ``every`` (one run at a time, across workers)."""
    SCHEDULES[name] = Schedule(name, parse_duration(every), dict(args or {}))


class WorkQueue(Protocol):
    """A queue of work a worker claims in batches, performs on its threads, and settles.

    ``claim`` and ``finish`` run in the worker's loop thread, each in one write
    transaction; ``perform`` runs on a pool thread and must not need the caller's session.
    """

    name: str

    def claim(
        self, session: Session, now: datetime, limit: int, worker_id: str, lease: timedelta
    ) -> list[Any]: ...

    def perform(self, item: Any) -> Any: ...

    def finish(
        self, session: Session, now: datetime, done: list[tuple[Any, Any]], worker_id: str
    ) -> None: ...

    def renew(
        self, session: Session, items: list[Any], until: datetime, worker_id: str
    ) -> None: ...

    def close(self) -> None: ...


# A step is quick database work the loop runs every turn: fn(session, now) -> work done.
Step = Callable[[Session, datetime], int]
WorkQueueFactory = Callable[["WorkerInfo"], WorkQueue]
STEPS: dict[str, Step] = {}
WORK_QUEUES: dict[str, WorkQueueFactory] = {}


@dataclass(frozen=True)
class WorkerInfo:
    """What a work queue factory may need from the worker that builds it."""

    worker_id: str
    concurrency: int
    sessions: sessionmaker[Session]
    read_sessions: sessionmaker[Session]
    clock: Callable[[], datetime]


def step(name: str):
    def register(fn: Step) -> Step:
        STEPS[name] = fn
        return fn

    return register


def work_queue(name: str):
    """Register ``factory(info) -> WorkQueue``: every worker drains the queue it builds."""

    def register(factory: WorkQueueFactory) -> WorkQueueFactory:
        WORK_QUEUES[name] = factory
        return factory

    return register


@functools.cache
def load_all() -> None:
    """Import every ``mercato.<domain>.tasks`` so that their registrations run; once a
    process (each enqueue asks, and listing the packages costs more than the insert)."""
    for module in pkgutil.iter_modules(mercato.__path__):
        if module.ispkg:
            try:
                importlib.import_module(f"mercato.{module.name}.tasks")
            except ModuleNotFoundError as exc:
                if exc.name != f"mercato.{module.name}.tasks":
                    raise
