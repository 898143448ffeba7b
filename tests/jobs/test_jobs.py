"""Jobs: enqueue in the caller's transaction, leases, retries with backoff, dead letters,
keys, periodic schedules."""

import random
from datetime import timedelta

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from mercato import jobs
from mercato.cli import app as cli_app
from mercato.db import transaction
from mercato.events.models import Event
from mercato.jobs import registry, service
from mercato.jobs.durations import parse_duration
from mercato.jobs.models import Job
from tests.jobs import sample_tasks  # registers the test jobs

LEASE = timedelta(seconds=60)


def our_jobs(sessions):
    """The tests' jobs (workers also queue the periodic housekeeping of every domain)."""
    with sessions() as session:
        return list(
            session.scalars(select(Job).where(Job.name.startswith("tests.")).order_by(Job.id))
        )


def ran(sessions):
    with sessions() as session:
        return [
            e.payload
            for e in session.scalars(
                select(Event).where(Event.type == "test_job.ran").order_by(Event.seq)
            )
        ]


def test_a_job_exists_only_if_the_caller_commits(sessions, drain):
    with pytest.raises(RuntimeError), transaction(sessions) as session:
        service.enqueue(session, "tests.record", {"label": "lost"})
        raise RuntimeError("the caller failed")
    with transaction(sessions) as session:
        service.enqueue(session, "tests.record", {"label": "kept"})
    drain()
    assert ran(sessions) == [{"label": "kept", "attempt": 1}]
    [job] = our_jobs(sessions)
    assert (job.state, job.attempts, job.locked_by) == ("succeeded", 1, None)


def test_unknown_jobs_and_arguments_that_are_not_json_are_refused(sessions):
    with transaction(sessions) as session:
        with pytest.raises(ValueError, match="no job named"):
            service.enqueue(session, "tests.nope")
        with pytest.raises(TypeError):
            service.enqueue(session, "tests.record", {"label": object()})


def test_run_at_delays_a_job(sessions, drain, clock):
    with transaction(sessions) as session:
        service.enqueue(
            session, "tests.record", {"label": "later"}, run_at=clock.now + timedelta(minutes=5)
        )
    drain()
    assert ran(sessions) == []
    clock.now += timedelta(minutes=5)
    drain()
    assert ran(sessions) == [{"label": "later", "attempt": 1}]


def test_failures_retry_with_backoff_then_dead_letter_then_manual_retry(
    sessions, drain, clock, client, admin, monkeypatch
):
    monkeypatch.setitem(sample_tasks.FAILURES, "dl", 3)
    with transaction(sessions) as session:
        job_id = service.enqueue(session, "tests.flaky", {"name": "dl"}).id
    drain()
    [job] = our_jobs(sessions)
    assert job.state == "queued" and job.attempts == 1 and "attempt 1 failed" in job.last_error
    delay = job.run_at - job.started_at  # started_at: the claim, on the same clock
    attempt_took_at_most = clock.now - job.started_at  # a loaded machine runs it slowly
    # base 10 s, jittered, counted from the failure
    assert timedelta(seconds=5) <= delay <= timedelta(seconds=10) + attempt_took_at_most
    clock.now = job.run_at - timedelta(seconds=1)
    drain()
    assert our_jobs(sessions)[0].attempts == 1  # not yet due
    for _ in range(2):
        clock.now = our_jobs(sessions)[0].run_at
        drain()
    [job] = our_jobs(sessions)
    assert (job.state, job.attempts) == ("dead", 3)
    assert "attempt 3 failed on purpose" in job.last_error

    dead = client.get("/api/v1/jobs", params={"state": "dead"}, headers=admin).json()["items"]
    assert [j["id"] for j in dead] == [job_id]
    listing = CliRunner().invoke(cli_app, ["jobs", "list", "--state", "dead"])
    assert job_id in listing.output and "failed on purpose" in listing.output

    retried = client.post(f"/api/v1/jobs/{job_id}/retry", headers=admin)
    assert retried.status_code == 200 and retried.json()["state"] == "queued"
    assert client.post(f"/api/v1/jobs/{job_id}/retry", headers=admin).status_code == 409
    drain()
    [job] = our_jobs(sessions)
    assert (job.state, job.attempts) == ("succeeded", 1)
    assert client.get("/api/v1/jobs", headers={"Authorization": "Bearer nope"}).status_code == 401


def test_backoff_is_exponential_capped_and_jittered():
    rng = random.Random(4)
    base, cap = timedelta(seconds=5), timedelta(hours=1)
    for attempt in range(1, 15):
        full = min(cap, base * 2 ** (attempt - 1))
        delay = service.backoff(attempt, base, cap, rng)
        assert full / 2 <= delay <= full
    samples = {service.backoff(3, base, cap, rng) for _ in range(20)}
    assert len(samples) > 10


def test_a_lost_worker_s_job_is_claimed_again_after_its_lease(sessions, clock):
    with transaction(sessions) as session:
        job_id = service.enqueue(session, "tests.record", {"label": "x"}).id
    with transaction(sessions) as session:
        [first] = service.claim(session, clock.now, 10, "worker-a", LEASE)
    with transaction(sessions) as session:
        assert service.claim(session, clock.now + LEASE / 2, 10, "worker-b", LEASE) == []
    later = clock.now + LEASE + timedelta(seconds=1)
    with transaction(sessions) as session:
        [second] = service.claim(session, later, 10, "worker-b", LEASE)
    assert (first.id, first.attempt, second.id, second.attempt) == (job_id, 1, job_id, 2)
    with transaction(sessions) as session:  # worker A comes back late: ignored
        service.finish(session, later, first, "late", "worker-a")
    assert our_jobs(sessions)[0].state == "running"
    with transaction(sessions) as session:
        service.finish(session, later, second, None, "worker-b")
    assert our_jobs(sessions)[0].state == "succeeded"


def test_a_job_lost_on_its_last_attempt_is_dead(sessions, clock):
    with transaction(sessions) as session:
        service.enqueue(session, "tests.flaky", {"name": "never fails"})
    now = clock.now
    for attempt in range(1, 4):
        with transaction(sessions) as session:
            assert [c.attempt for c in service.claim(session, now, 1, "w", LEASE)] == [attempt]
        now += LEASE * 2  # each worker dies: the lease runs out
    with transaction(sessions) as session:
        assert service.claim(session, now, 1, "w", LEASE) == []
    [job] = our_jobs(sessions)
    assert job.state == "dead" and "lost" in job.last_error


def test_renewing_keeps_a_long_job_s_lease(sessions, clock):
    with transaction(sessions) as session:
        service.enqueue(session, "tests.record", {"label": "x"})
    with transaction(sessions) as session:
        [claimed] = service.claim(session, clock.now, 1, "a", LEASE)
    with transaction(sessions) as session:
        service.renew(session, [claimed.id], clock.now + LEASE * 2, "a")
    with transaction(sessions) as session:
        assert service.claim(session, clock.now + LEASE * 1.5, 1, "b", LEASE) == []


def test_jobs_sharing_a_key_run_one_at_a_time_in_order(sessions, clock):
    with transaction(sessions) as session:
        ids = [
            service.enqueue(session, "tests.record", {"label": str(n)}, key="sku-1").id
            for n in range(3)
        ]
        other = service.enqueue(session, "tests.record", {"label": "o"}, key="sku-2").id
        again = service.enqueue(session, "tests.record", {"label": "2"}, key="sku-1")
    assert again.id == ids[2]  # identical and still waiting: not queued twice
    order = []
    for _ in range(3):
        with transaction(sessions) as session:
            claimed = service.claim(session, clock.now, 10, "w", LEASE)
        assert len([c for c in claimed if c.id in ids]) == 1
        order += [c.id for c in claimed]
        with transaction(sessions) as session:
            for c in claimed:
                service.finish(session, clock.now, c, None, "w")
    assert order == [ids[0], other, ids[1], ids[2]]


def test_periodic_jobs_are_enqueued_once_per_interval(sessions, drain, clock, monkeypatch):
    monkeypatch.setattr(registry, "SCHEDULES", dict(registry.SCHEDULES))  # undone after
    jobs.periodic("tests.record", "10 minutes", {"label": "tick"})
    drain()  # a new schedule waits one interval before its first run
    assert ran(sessions) == []
    clock.now += timedelta(minutes=10)
    for _ in range(2):  # two workers checking at the same moment
        with transaction(sessions) as session:
            service.enqueue_due_schedules(session, clock.now)
    drain()
    clock.now += timedelta(minutes=9)
    drain()
    clock.now += timedelta(minutes=1)
    drain()
    assert [p["label"] for p in ran(sessions)] == ["tick", "tick"]


def test_durations_are_words():
    assert parse_duration("5 minutes") == timedelta(minutes=5)
    assert parse_duration("1 hour 30 min") == timedelta(hours=1, minutes=30)
    assert parse_duration("90s") == timedelta(seconds=90)
    assert parse_duration("2 days") == timedelta(days=2)
    for bad in ("soon", "5 fortnights", "0 s", ""):
        with pytest.raises(ValueError):
            parse_duration(bad)


def test_a_batch_task_gets_its_jobs_together_and_each_is_settled_on_its_own(
    sessions, drain, clock, monkeypatch
):
    monkeypatch.setattr(sample_tasks, "BATCHES", [])
    labels = ["a", "b", "fail-c", "d", "e", "f", "g"]
    with transaction(sessions) as session:
        for label in labels:
            service.enqueue(session, "tests.batch", {"label": label})
    drain()
    # Seven due jobs, batches of at most three, none twice.
    assert [len(b) for b in sample_tasks.BATCHES] == [3, 3, 1]
    assert sorted(sum(sample_tasks.BATCHES, [])) == sorted(labels)
    assert sorted(p["label"] for p in ran(sessions)) == sorted(set(labels) - {"fail-c"})
    by_label = {job.args["label"]: job for job in our_jobs(sessions)}
    failed = by_label.pop("fail-c")
    assert (failed.state, failed.attempts) == ("queued", 1)
    assert "ValueError: fail-c failed on purpose" in failed.last_error
    assert {(j.state, j.attempts) for j in by_label.values()} == {("succeeded", 1)}
    clock.now = failed.run_at
    drain()  # the last attempt fails too: dead, with its error
    failed = next(j for j in our_jobs(sessions) if j.args["label"] == "fail-c")
    assert (failed.state, failed.attempts) == ("dead", 2)


def test_a_batch_that_fails_as_a_whole_fails_each_of_its_jobs(sessions, drain, monkeypatch):
    monkeypatch.setattr(sample_tasks, "BATCHES", [])
    with transaction(sessions) as session:
        for label in ("crash", "x"):
            service.enqueue(session, "tests.batch", {"label": label})
    drain()
    assert sample_tasks.BATCHES == [["crash", "x"]]
    assert ran(sessions) == []
    for job in our_jobs(sessions):
        assert (job.state, job.attempts) == ("queued", 1)
        assert "RuntimeError: the whole batch failed" in job.last_error


def test_a_batch_task_needs_a_size_of_at_least_one():
    with pytest.raises(ValueError, match="at least one job"):
        jobs.batch_task("tests.empty", size=0)
