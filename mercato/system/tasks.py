"""Housekeeping of the system tables."""

from mercato.jobs import registry
from mercato.system import idempotency


@registry.task("system.prune_idempotency_keys", every="1 hour")
def prune_idempotency_keys(ctx: registry.JobContext) -> None:
    while True:
        with ctx.transaction() as session:
            if idempotency.prune(session, ctx.now) < idempotency.PRUNE_BATCH:
                return
