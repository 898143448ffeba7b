"""`mercato worker` processes: several at once never run a job twice; SIGTERM is graceful."""

import signal
import time

import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from mercato import events
from mercato.app import create_app
from mercato.cli import app as cli_app
from mercato.db import transaction
from mercato.events.models import Event
from mercato.jobs import service
from mercato.jobs.models import Job
from tests.jobs import sample_tasks  # noqa: F401 - registers the test jobs here too
from tests.webhooks.conftest import serve
from tests.webhooks.helpers import make_endpoint, start_worker, stop

TEST_JOBS = "import tests.jobs.sample_tasks"


def wait_until(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def count(sessions, *where) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(Job).where(*where))


@pytest.mark.slow
def test_several_workers_never_run_the_same_job_twice(engine, sessions, tmp_path):
    log = tmp_path / "workers.log"
    workers = [
        start_worker("--concurrency", "4", "--poll", "0.1", log=log, python=TEST_JOBS)
        for _ in range(3)
    ]
    try:
        # All of them up (and handling SIGTERM) before there is work to share.
        wait_until(
            lambda: log.exists() and log.read_text().count(" started ") == 3,
            60,
            "the workers to start",
        )
        with transaction(sessions) as session:
            ids = {
                service.enqueue(session, "tests.timed", {"seconds": 0.02}).id for _ in range(150)
            }
        wait_until(
            lambda: count(sessions, Job.id.in_(ids), Job.state == "succeeded") == 150,
            60,
            "150 jobs",
        )
    finally:
        for worker in workers:  # all at once, then wait for each
            worker.send_signal(signal.SIGTERM)
            worker.signalled = True
        codes = [stop(worker) for worker in workers]
    assert codes == [0, 0, 0], log.read_text()[-2000:]

    with sessions() as session:
        runs = [
            (e.key, e.payload)
            for e in session.scalars(select(Event).where(Event.type == "test_job.ran"))
        ]
    assert sorted(key for key, _ in runs) == sorted(ids)  # each job ran exactly once
    assert len({p["pid"] for _, p in runs}) >= 2, "the workers did not share the work"


def test_sigterm_lets_running_work_finish(engine, sessions, tmp_path):
    with transaction(sessions) as session:
        job_id = service.enqueue(session, "tests.timed", {"seconds": 1.5}).id
    log = tmp_path / "worker.log"
    worker = start_worker("--poll", "0.1", log=log, python=TEST_JOBS)
    try:
        wait_until(
            lambda: count(sessions, Job.id == job_id, Job.state == "running") == 1,
            30,
            "the job to start",
        )
    finally:
        code = stop(worker, signal.SIGTERM)
    assert code == 0, log.read_text()
    with sessions() as session:
        job = session.get(Job, job_id)
        assert job.state == "succeeded" and job.locked_by is None
        assert session.scalar(select(Event.key).where(Event.type == "test_job.ran")) == job_id
    assert "finishing running work" in log.read_text()


def test_serve_runs_the_worker_in_process_on_sqlite_unless_told_not_to(
    engine, settings, monkeypatch
):
    calls = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: calls.append((app, options)))
    for args in ([], ["--no-worker"], ["--worker"]):
        assert CliRunner().invoke(cli_app, ["serve", *args]).exit_code == 0
    (default, _), (without, _), (forced, _) = calls
    embedded = engine.dialect.name == "sqlite"
    assert isinstance(default, FastAPI) if embedded else default == "mercato.app:serve_app"
    assert without == "mercato.app:serve_app"
    assert isinstance(forced, FastAPI)


def test_the_embedded_worker_delivers_while_the_api_runs(engine, settings, sessions):
    receiver, http = serve()
    try:
        make_endpoint(sessions, receiver.url)
        with TestClient(create_app(settings, engine, run_worker=True)):
            with transaction(sessions) as session:
                job_id = service.enqueue(session, "tests.record", {"label": "api"}).id
                event = events.record(session, "order.created", {}, key="ord_1")
            # The job's own event (test_job.ran) may be delivered first: wait for ours.
            wait_until(
                lambda: event.id in [r.headers["webhook-id"] for r in receiver.requests],
                10,
                "the delivery",
            )
            wait_until(
                lambda: count(sessions, Job.id == job_id, Job.state == "succeeded"), 10, "the job"
            )
    finally:
        http.shutdown()
