"""Analytics work for the worker: touches from every domain's events, and retention."""

from datetime import timedelta

from mercato.analytics import ledger, server_touches
from mercato.config import get_settings
from mercato.events import service as events_service
from mercato.jobs import registry


@events_service.consumer("analytics")
def record_touches(session, batch, now) -> None:
    server_touches.record_from_events(session, batch)


@registry.task("analytics.forget_old_touches", every="1 day")
def forget_old_touches(ctx: registry.JobContext) -> None:
    days = get_settings().analytics_retention_days
    if days > 0:
        with ctx.transaction() as session:
            ledger.forget_before(session, ctx.now - timedelta(days=days))
