"""Housekeeping of the job queue itself."""

from datetime import timedelta

from mercato.jobs import registry, service

KEEP_SUCCEEDED = timedelta(days=7)


@registry.task("jobs.prune", every="1 hour")
def prune(ctx: registry.JobContext) -> None:
    with ctx.transaction() as session:
        service.prune(session, ctx.now - KEEP_SUCCEEDED)
