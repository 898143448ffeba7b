"""Channel jobs: publish + read back every few minutes, reconcile every hour. Each
channel runs in its own transaction, so one platform's trouble never holds another back."""

from __future__ import annotations

from collections.abc import Callable

from mercato.channels import service, sync
from mercato.channels.capabilities import capabilities
from mercato.jobs import registry


def _each_active_channel(ctx: registry.JobContext, work: Callable) -> None:
    with ctx.read_sessions() as session:
        ids = [c.id for c in service.list_channels(session)
               if c.status == "active" and capabilities(c.kind, c.country).catalog_api]
    for channel_id in ids:
        with ctx.transaction() as session:
            work(session, channel_id)


@registry.task("channels.sync", every="5 minutes")
def sync_channels(ctx: registry.JobContext) -> None:
    """Push what changed, then store the verdicts of what is still pending."""
    def work(session, channel_id):
        sync.publish(session, channel_id)
        sync.read_back(session, channel_id)
    _each_active_channel(ctx, work)


@registry.task("channels.reconcile", every="1 hour")
def reconcile_channels(ctx: registry.JobContext) -> None:
    """Repair drift: items missing, stale or extra on the platforms."""
    _each_active_channel(ctx, sync.reconcile)
