"""Jobs: background work queued in the caller's transaction and run by `mercato worker`.

    from mercato import jobs

    @jobs.task("channels.sync_product")            # in <domain>/tasks.py
    def sync_product(ctx: jobs.JobContext, product_id: str) -> None: ...

    jobs.enqueue(session, "channels.sync_product", {"product_id": p.id}, key=p.id)

    @jobs.task("inventory.sweep_expired", every="1 minute")   # periodic
    def sweep_expired(ctx: jobs.JobContext) -> None: ...

Failures retry with exponential backoff and jitter; after the last attempt a job is
dead (``mercato jobs list --state dead``, ``GET /api/v1/jobs?state=dead``).
"""

from mercato.jobs.registry import BatchContext, Batched, JobContext, batch_task, periodic, task
from mercato.jobs.service import enqueue, enqueue_new

__all__ = [
    "BatchContext",
    "Batched",
    "JobContext",
    "batch_task",
    "enqueue",
    "enqueue_new",
    "periodic",
    "task",
]
