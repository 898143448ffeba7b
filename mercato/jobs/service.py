"""Jobs: enqueue in the caller's transaction; claim under a lease; retry; dead-letter.

Claiming is safe with any number of workers. PostgreSQL: ``FOR UPDATE SKIP LOCKED``
picks rows no other claim holds, and the lease written in the same transaction keeps
them out of later claims. SQLite: every write transaction begins IMMEDIATE, so claims
are serialized by the database's single writer lock. A worker that dies leaves its jobs
``running`` with a lease that runs out; the next claim after that takes them again.
"""

from __future__ import annotations

import random
import traceback
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import and_, bindparam, case, delete, exists, func, or_, select, update
from sqlalchemy.orm import Session

from mercato import wakeups
from mercato.db import insert_rows, new_id, utcnow
from mercato.errors import Conflict, FieldError, NotFound, ValidationFailed
from mercato.inserts import insert_or_ignore
from mercato.jobs import registry
from mercato.jobs.models import JOB_STATES, Job, JobSchedule
from mercato.pagination import MAX_PAGE_SIZE as MAX_PAGE_SIZE
from mercato.pagination import Page, keyset_page

MAX_ERROR_CHARS = 4000
UNFINISHED = ("queued", "running")


def enqueue(
    session: Session,
    name: str,
    args: dict[str, Any] | None = None,
    run_at: datetime | None = None,
    key: str | None = None,
) -> Job:
    """Queue the job ``name`` in the current transaction: it exists iff the caller commits.

    Jobs sharing ``key`` run one at a time in enqueue order; enqueuing a job identical to
    one still waiting (same name, key and arguments) returns that one instead.
    """
    registry.load_all()
    task = registry.TASKS.get(name)
    if task is None:
        raise ValueError(f"no job named {name!r}; register it with @jobs.task")
    args = dict(args or {})
    orjson.dumps(args)  # fails now, not in the worker, if the arguments are not JSON
    if key is not None:
        waiting = session.scalars(
            select(Job).where(
                Job.name == name, Job.key == key, Job.state == "queued", Job.attempts == 0
            )
        )
        for job in waiting:
            if job.args == args:
                return job
    job = Job(
        id=new_id("job"),
        name=name,
        args=args,
        key=key,
        run_at=run_at or utcnow(),
        max_attempts=task.max_attempts,
    )
    session.add(job)
    wakeups.signal(session)
    return job


def enqueue_new(session: Session, name: str, jobs: list[tuple[dict[str, Any], str | None]]) -> None:
    """Queue many jobs ``name`` in one insert: (arguments, key) each. Only for jobs that
    cannot have a waiting twin (their arguments name rows made in this transaction), so
    the lookup ``enqueue`` does first is skipped."""
    if not jobs:
        return
    registry.load_all()
    task = registry.TASKS.get(name)
    if task is None:
        raise ValueError(f"no job named {name!r}; register it with @jobs.task")
    now = utcnow()
    # COPY on PostgreSQL: an executemany sent each job as its own INSERT and cost the
    # API a tenth of its CPU acknowledging webhooks.
    insert_rows(
        session,
        _jobs,
        (
            {
                "id": new_id("job"),
                "name": name,
                "args": args,
                "key": key,
                "run_at": now,
                "max_attempts": task.max_attempts,
                "state": "queued",
                "attempts": 0,
                "created_at": now,
            }
            for args, key in jobs
        ),
    )
    wakeups.signal(session)


def backoff(
    attempt: int, base: timedelta, cap: timedelta, rng: random.Random | None = None
) -> timedelta:
    """Delay before retry ``attempt`` (1-based): exponential, capped, half of it jittered."""
    full = min(cap, base * (2 ** (attempt - 1)))
    return full / 2 + full / 2 * (rng or random).random()


# ---------------------------------------------------------------- the worker's side


@dataclass(frozen=True)
class ClaimedJob:
    id: str
    name: str
    args: dict[str, Any]
    attempt: int


_jobs = Job.__table__
_earlier = _jobs.alias("earlier")
_LOST = "the worker running its last attempt was lost"


def _claim_statement(named: bool):
    """The claim as one UPDATE ... RETURNING of the due jobs a subquery picks (SKIP
    LOCKED on PostgreSQL), built once: a job whose lease ran out on its last attempt is
    buried by the same statement instead of run again."""
    due = (
        select(_jobs.c.id)
        .where(
            or_(
                and_(_jobs.c.state == "queued", _jobs.c.run_at <= bindparam("now")),
                and_(_jobs.c.state == "running", _jobs.c.locked_until < bindparam("now")),
            ),
            or_(  # jobs sharing a key run one at a time, in enqueue order
                _jobs.c.key.is_(None),
                ~exists().where(
                    _earlier.c.key == _jobs.c.key,
                    _earlier.c.state.in_(UNFINISHED),
                    _earlier.c.id < _jobs.c.id,
                ),
            ),
            *([_jobs.c.name == bindparam("job_name")] if named else []),
        )
        .order_by(_jobs.c.run_at)
        .limit(bindparam("limit"))
        .with_for_update(skip_locked=True)
    )
    lost = and_(_jobs.c.state == "running", _jobs.c.attempts >= _jobs.c.max_attempts)
    return (
        update(_jobs)
        .where(_jobs.c.id.in_(due.scalar_subquery()))
        .values(
            state=case((lost, "dead"), else_="running"),
            attempts=case((lost, _jobs.c.attempts), else_=_jobs.c.attempts + 1),
            locked_by=case((lost, None), else_=bindparam("worker_id")),
            locked_until=case((lost, None), else_=bindparam("until")),
            started_at=case((lost, _jobs.c.started_at), else_=bindparam("now")),
            finished_at=case((lost, bindparam("now")), else_=_jobs.c.finished_at),
            last_error=case(
                (lost, func.coalesce(func.nullif(_jobs.c.last_error, ""), _LOST)),
                else_=_jobs.c.last_error,
            ),
        )
        .returning(
            _jobs.c.id,
            _jobs.c.name,
            _jobs.c.args,
            _jobs.c.attempts,
            _jobs.c.state,
            _jobs.c.run_at,
        )
    )


_CLAIM, _CLAIM_NAMED = _claim_statement(False), _claim_statement(True)
_SUCCEEDED = (  # ``_settle`` of a success, for the jobs whose lease this worker still holds
    update(_jobs)
    .where(
        _jobs.c.id.in_(bindparam("ids", expanding=True)),
        _jobs.c.state == "running",
        _jobs.c.locked_by == bindparam("worker_id"),
        _jobs.c.attempts == bindparam("attempt"),
    )
    .values(
        state="succeeded",
        finished_at=bindparam("now"),
        last_error=None,
        locked_by=None,
        locked_until=None,
    )
)


def claim(
    session: Session,
    now: datetime,
    limit: int,
    worker_id: str,
    lease: timedelta,
    name: str | None = None,
) -> list[ClaimedJob]:
    """Take up to ``limit`` due jobs (only jobs ``name``, when given) for ``worker_id``
    until ``now + lease``, oldest first: one statement."""
    if limit <= 0:
        return []
    params = {"now": now, "limit": limit, "worker_id": worker_id, "until": now + lease}
    if name is not None:
        params["job_name"] = name
    rows = session.execute(_CLAIM_NAMED if name is not None else _CLAIM, params).all()
    return [
        ClaimedJob(row.id, row.name, dict(row.args), row.attempts)
        for row in sorted(rows, key=lambda row: (row.run_at, row.id))
        if row.state == "running"
    ]


def run(claimed: ClaimedJob, context: registry.JobContext) -> str | None:
    """Run the job function; its error (with traceback) or None. Never raises."""
    task = registry.TASKS.get(claimed.name)
    if task is None:
        return f"no job named {claimed.name!r} is registered in this worker"
    try:
        task.fn(context, **claimed.args)
    except Exception:  # noqa: BLE001 - any failure of a job is recorded and retried
        return traceback.format_exc()[-MAX_ERROR_CHARS:]
    return None


def run_many(claimed: list[ClaimedJob], context: registry.BatchContext) -> list[str | None]:
    """Run a batch function on jobs of one name: each job's error (with traceback) or
    None, in order. Never raises: a failure of the whole call is every job's error."""
    task = registry.TASKS.get(claimed[0].name)
    if task is None:
        return [f"no job named {claimed[0].name!r} is registered in this worker"] * len(claimed)
    batch = [registry.Batched(job.id, job.attempt, job.args) for job in claimed]
    try:
        outcomes = list(task.fn(context, batch))
    except Exception:  # noqa: BLE001 - recorded on every job of the batch and retried
        return [traceback.format_exc()[-MAX_ERROR_CHARS:]] * len(claimed)
    if len(outcomes) != len(claimed):
        wrong = f"{task.name} returned {len(outcomes)} outcomes for {len(claimed)} jobs"
        return [wrong] * len(claimed)
    return [_error_text(outcome) for outcome in outcomes]


def _error_text(outcome: BaseException | str | None) -> str | None:
    if outcome is None or isinstance(outcome, str):
        return outcome if outcome is None else outcome[-MAX_ERROR_CHARS:]
    return "".join(traceback.format_exception(outcome))[-MAX_ERROR_CHARS:]


def finish(
    session: Session, now: datetime, claimed: ClaimedJob, error: str | None, worker_id: str
) -> None:
    """Record the outcome, unless the lease was lost to another worker meanwhile."""
    finish_many(session, now, [(claimed, error)], worker_id)


def finish_many(
    session: Session,
    now: datetime,
    outcomes: list[tuple[ClaimedJob, str | None]],
    worker_id: str,
) -> None:
    """``finish`` for many jobs: the ones that succeeded in one UPDATE per attempt
    number (usually one), the failed ones from one read of those this worker still
    holds."""
    if not outcomes:
        return
    succeeded: dict[int, list[str]] = {}
    for claimed, error in outcomes:
        if error is None:
            succeeded.setdefault(claimed.attempt, []).append(claimed.id)
    for attempt, ids in succeeded.items():
        session.execute(
            _SUCCEEDED, {"ids": ids, "attempt": attempt, "worker_id": worker_id, "now": now}
        )
    outcomes = [(claimed, error) for claimed, error in outcomes if error is not None]
    if not outcomes:
        return
    held = {
        job.id: job
        for job in session.scalars(
            select(Job).where(
                Job.id.in_([claimed.id for claimed, _ in outcomes]),
                Job.state == "running",
                Job.locked_by == worker_id,
            )
        )
    }
    for claimed, error in outcomes:
        job = held.get(claimed.id)
        if job is not None and job.attempts == claimed.attempt:
            _settle(job, now, error)


def _settle(job: Job, now: datetime, error: str | None) -> None:
    job.locked_by = job.locked_until = None
    if error is None:
        job.state, job.finished_at, job.last_error = "succeeded", now, None
    elif job.attempts >= job.max_attempts:
        _bury(job, now, error)
    else:
        task = registry.TASKS.get(job.name)
        base, cap = (
            (task.backoff_base, task.backoff_cap)
            if task
            else (timedelta(seconds=5), timedelta(hours=1))
        )
        job.state, job.last_error = "queued", error
        job.run_at = now + backoff(job.attempts, base, cap)


def _bury(job: Job, now: datetime, error: str) -> None:
    job.state, job.finished_at, job.last_error = "dead", now, error
    job.locked_by = job.locked_until = None


def renew(session: Session, job_ids: list[str], until: datetime, worker_id: str) -> None:
    """Extend the lease of jobs this worker is still running."""
    if job_ids:
        session.execute(
            update(Job)
            .where(Job.id.in_(job_ids), Job.state == "running", Job.locked_by == worker_id)
            .values(locked_until=until)
        )


def enqueue_due_schedules(session: Session, now: datetime) -> int:
    """Enqueue every periodic job that is due; each schedule advances by compare-and-set,
    so concurrent workers enqueue it once."""
    registry.load_all()
    known = {s.name: s.next_run_at for s in session.scalars(select(JobSchedule))}
    missing = [name for name in registry.SCHEDULES if name not in known]
    if missing:
        # A new schedule first runs one interval from now, like a timer: starting a fresh
        # server must not set every sync and sweeper off at once beside its first requests.
        session.execute(
            insert_or_ignore(session, JobSchedule).values(
                [
                    {"name": name, "next_run_at": now + registry.SCHEDULES[name].interval}
                    for name in missing
                ]
            )
        )
        known = {s.name: s.next_run_at for s in session.scalars(select(JobSchedule))}
    enqueued = 0
    for name, schedule in registry.SCHEDULES.items():
        if known[name] > now:
            continue
        advanced = session.execute(
            update(JobSchedule)
            .where(JobSchedule.name == name, JobSchedule.next_run_at == known[name])
            .values(next_run_at=now + schedule.interval)
        ).rowcount
        if advanced:
            enqueue(session, schedule.task, schedule.args, run_at=now, key=f"schedule:{name}")
            enqueued += 1
    return enqueued


def prune(session: Session, older_than: datetime) -> int:
    """Forget succeeded jobs finished before ``older_than`` (dead ones stay until retried)."""
    return session.execute(
        delete(Job).where(Job.state == "succeeded", Job.finished_at < older_than)
    ).rowcount


# ---------------------------------------------------------------- looking and retrying


def list_jobs(
    session: Session,
    state: str | None = None,
    name: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> Page[Job]:
    """Jobs newest first; ``state="dead"`` is the dead-letter list."""
    if state is not None and state not in JOB_STATES:
        raise ValidationFailed(
            "Unknown job state.",
            [FieldError(("query", "state"), f"expected one of {', '.join(JOB_STATES)}")],
        )
    query = select(Job)
    if state:
        query = query.where(Job.state == state)
    if name:
        query = query.where(Job.name == name)
    return keyset_page(session, query, Job.id, cursor, limit, newest_first=True)


def get_job(session: Session, job_id: str) -> Job:
    job = session.get(Job, job_id)
    if job is None:
        raise NotFound(f"No job with id {job_id!r}.")
    return job


def retry_job(session: Session, job_id: str, now: datetime | None = None) -> Job:
    """Send a dead job back to the queue with a fresh set of attempts."""
    job = get_job(session, job_id)
    if job.state != "dead":
        raise Conflict(f"Job {job_id} is {job.state}; only dead jobs can be retried.")
    job.state, job.attempts, job.run_at = "queued", 0, now or utcnow()
    job.finished_at = None
    wakeups.signal(session)
    return job
