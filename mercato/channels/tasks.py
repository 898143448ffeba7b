"""Channel jobs: publish + read back every few minutes, reconcile every hour. Each channel
runs on its own, so one platform's trouble never holds another back; sync opens only
short transactions, none while a platform answers."""

from __future__ import annotations

from collections.abc import Callable

from mercato.channels import sync
from mercato.jobs import registry


def _sessions(ctx: registry.JobContext) -> sync.Sessions:
    return sync.Sessions(ctx.sessions, ctx.read_sessions)


def _each_active_channel(ctx: registry.JobContext, work: Callable) -> None:
    sessions = _sessions(ctx)
    for channel_id in sync.active_channel_ids(sessions):
        work(sessions, channel_id)


@registry.task("channels.sync", every="5 minutes")
def sync_channels(ctx: registry.JobContext) -> None:
    """Push what changed, then store the verdicts of what is still pending."""
    def work(sessions, channel_id):
        sync.publish(sessions, channel_id)
        sync.read_back(sessions, channel_id)
    _each_active_channel(ctx, work)


@registry.task("channels.reconcile", every="1 hour")
def reconcile_channels(ctx: registry.JobContext) -> None:
    """Repair drift: items missing, stale or extra on the platforms."""
    _each_active_channel(ctx, sync.reconcile)
