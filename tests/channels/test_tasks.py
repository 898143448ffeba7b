from mercato.channels import tasks  # noqa: F401  (registers the jobs)
from mercato.jobs import registry
from tests.helpers import tee


def test_sync_and_reconcile_jobs_are_registered_and_publish(
    job_context, sessions, sandbox, make_products, make_channel
):
    assert "channels.sync" in registry.SCHEDULES and "channels.reconcile" in registry.SCHEDULES
    make_products(tee())
    make_channel("meta")
    ctx = job_context
    registry.TASKS["channels.sync"].fn(ctx)
    assert len(sandbox.get("/meta/_sandbox/items").json()["items"]) == 2
    sandbox.delete(
        "/meta/_sandbox/items/" + next(iter(sandbox.get("/meta/_sandbox/items").json()["items"]))
    )
    registry.TASKS["channels.reconcile"].fn(ctx)
    assert len(sandbox.get("/meta/_sandbox/items").json()["items"]) == 2
