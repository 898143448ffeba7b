"""Analytics work for the worker: touches from every domain's events, and retention;
purchases recorded for the ad platforms, and sent."""

from datetime import timedelta

from mercato.analytics import ad_reports, clv_runs, conversions, ledger, server_touches
from mercato.config import get_settings
from mercato.events import service as events_service
from mercato.jobs import registry

CONVERSION_ATTEMPTS = 8


@events_service.consumer("analytics")
def record_touches(session, batch, now) -> None:
    server_touches.record_from_events(session, batch)


@registry.task("analytics.forget_old_touches", every="1 day")
def forget_old_touches(ctx: registry.JobContext) -> None:
    days = get_settings().analytics_retention_days
    if days > 0:
        with ctx.transaction() as session:
            ledger.forget_before(session, ctx.now - timedelta(days=days))


@events_service.consumer("conversions")
def record_purchases(session, batch, now) -> None:
    conversions.queue_for(session, batch, now)


@registry.task(conversions.SEND_JOB, max_attempts=CONVERSION_ATTEMPTS, backoff_base="30 seconds")
def send_conversion(ctx: registry.JobContext, delivery_id: str) -> None:
    conversions.deliver(ctx.sessions, delivery_id, last_attempt=ctx.attempt >= CONVERSION_ATTEMPTS)


@registry.task("analytics.pull_ad_reports", every="1 day")
def pull_ad_reports(ctx: registry.JobContext) -> None:
    """Every connected ad account's last days of spend, impressions and clicks."""
    ad_reports.pull_recent(ctx.sessions, ctx.now)


@registry.task(clv_runs.FIT_JOB)
def fit_clv(ctx: registry.JobContext, **options) -> None:
    """Predicted lifetime value, fitted again over the ledger's purchases (on demand)."""
    clv_runs.fit(ctx.sessions, clv_runs.Options(**options), ctx.now)


@registry.task("analytics.fit_clv_daily", every="1 day")
def fit_clv_daily(ctx: registry.JobContext) -> None:
    """Every currency known customers bought in, fitted again once a day."""
    with ctx.transaction() as session:
        found = clv_runs.currencies(session)
    for currency in found:
        clv_runs.fit(ctx.sessions, clv_runs.Options(currency), ctx.now)
