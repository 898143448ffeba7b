"""`mercato worker` and `mercato jobs ...`."""

from __future__ import annotations

import logging
import signal
from datetime import timedelta
from typing import Annotated

import typer

from mercato import cli_support, collector
from mercato.db import create_db_engine
from mercato.jobs import service
from mercato.jobs.worker import Worker

app = typer.Typer(help="The job queue: look at jobs, retry dead ones.", no_args_is_help=True)


def worker(
    concurrency: Annotated[
        int, typer.Option(min=1, max=256, help="Jobs and deliveries run at once")
    ] = 8,
    lease: Annotated[
        float,
        typer.Option(min=1, help="Seconds a claim holds; a dead worker's work is retried after it"),
    ] = 60,
    poll: Annotated[float, typer.Option(min=0.05, help="Idle poll interval, seconds")] = 1.0,
):
    """Run jobs and deliver webhooks until SIGTERM or Ctrl-C (then finish running work)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per request is noise
    engine = create_db_engine()
    runner = Worker(engine, concurrency=concurrency, lease=timedelta(seconds=lease), poll=poll)
    collector.settle()

    def on_signal(signum, _frame):
        if runner.stopping:
            raise SystemExit(128 + signum)  # a second signal: stop now
        logging.getLogger("mercato.worker").info("stopping: finishing running work")
        runner.stop()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        runner.run()
    finally:
        engine.dispose()


@app.command("list")
def jobs_list(
    state: Annotated[str | None, typer.Option(help="queued, running, succeeded or dead")] = None,
    name: Annotated[str | None, typer.Option(help="Only jobs of this name")] = None,
    limit: int = 50,
):
    """Jobs, newest first (`--state dead`: the dead-letter list)."""

    with cli_support.unit_of_work() as session:
        page = service.list_jobs(session, state, name, limit=limit)
    table = cli_support.table("id", "name", "state", "attempts", "run at", "last error")
    for job in page.items:
        error = (job.last_error or "").strip().splitlines()
        table.add_row(
            job.id,
            job.name,
            job.state,
            f"{job.attempts}/{job.max_attempts}",
            f"{job.run_at:%Y-%m-%d %H:%M:%S}",
            error[-1] if error else "",
        )
    cli_support.console.print(table)


@app.command("show")
def jobs_show(job_id: str):
    """One job with its arguments and last error."""

    with cli_support.unit_of_work() as session:
        job = service.get_job(session, job_id)
    cli_support.console.print(
        f"[bold]{job.name}[/] {job.id}: {job.state}, attempt {job.attempts} of "
        f"{job.max_attempts}, args {job.args}, key {job.key or '-'}"
    )
    if job.last_error:
        cli_support.console.print(job.last_error)


@app.command("retry")
def jobs_retry(job_id: str):
    """Queue a dead job again with a fresh set of attempts."""

    with cli_support.unit_of_work() as session:
        job = service.retry_job(session, job_id)
    cli_support.console.print(f"Queued {job.id} ({job.name}) again.")
