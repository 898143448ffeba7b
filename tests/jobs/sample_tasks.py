"""Job functions for the tests; imported by the test process and by worker subprocesses."""

import os
import time

from mercato import events, jobs

FAILURES: dict[str, int] = {}


@jobs.task("tests.record")
def record(ctx: jobs.JobContext, label: str) -> None:
    """Leaves an event behind, written in the job's own transaction."""
    with ctx.transaction() as session:
        events.record(
            session, "test_job.ran", {"label": label, "attempt": ctx.attempt}, key=ctx.job_id
        )


@jobs.task("tests.timed")
def timed(ctx: jobs.JobContext, seconds: float = 0.02) -> None:
    """Records when it started and ended, to check that no job runs twice at once."""
    started = time.time()
    time.sleep(seconds)
    with ctx.transaction() as session:
        events.record(
            session,
            "test_job.ran",
            {"started": started, "ended": time.time(), "pid": os.getpid()},
            key=ctx.job_id,
        )


@jobs.task("tests.flaky", max_attempts=3, backoff_base="10 seconds", backoff_cap="1 minute")
def flaky(ctx: jobs.JobContext, name: str) -> None:
    """Fails as long as FAILURES[name] says (counting down)."""
    if FAILURES.get(name, 0) > 0:
        FAILURES[name] -= 1
        raise RuntimeError(f"attempt {ctx.attempt} failed on purpose")


BATCHES: list[list[str]] = []


@jobs.batch_task("tests.batch", size=3, max_attempts=2, backoff_base="10 seconds")
def batch(ctx: jobs.BatchContext, jobs_: list[jobs.Batched]) -> list[Exception | None]:
    """Records each job in one transaction; a job whose label starts "fail" fails alone,
    and a batch holding "crash" fails as a whole."""
    BATCHES.append([job.args["label"] for job in jobs_])
    if any(job.args["label"] == "crash" for job in jobs_):
        raise RuntimeError("the whole batch failed")
    outcomes: list[Exception | None] = []
    with ctx.transaction() as session:
        for job in jobs_:
            if job.args["label"].startswith("fail"):
                outcomes.append(ValueError(f"{job.args['label']} failed on purpose"))
                continue
            events.record(
                session,
                "test_job.ran",
                {"label": job.args["label"], "attempt": job.attempt},
                key=job.job_id,
            )
            outcomes.append(None)
    return outcomes
