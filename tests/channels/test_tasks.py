from datetime import UTC, datetime

from mercato.channels import tasks  # noqa: F401  (registers the jobs)
from mercato.db import make_sessionmaker
from mercato.jobs import registry

from .conftest import tee


def test_sync_and_reconcile_jobs_are_registered_and_publish(
    engine, sessions, sandbox, make_products, make_channel
):
    assert "channels.sync" in registry.SCHEDULES and "channels.reconcile" in registry.SCHEDULES
    make_products(tee())
    make_channel("meta")
    ctx = registry.JobContext(
        job_id="job_test",
        attempt=1,
        now=datetime.now(UTC),
        sessions=sessions,
        read_sessions=make_sessionmaker(engine, read_only=True),
    )
    registry.TASKS["channels.sync"].fn(ctx)
    assert len(sandbox.get("/meta/_sandbox/items").json()["items"]) == 2
    sandbox.delete(
        "/meta/_sandbox/items/" + next(iter(sandbox.get("/meta/_sandbox/items").json()["items"]))
    )
    registry.TASKS["channels.reconcile"].fn(ctx)
    assert len(sandbox.get("/meta/_sandbox/items").json()["items"]) == 2
