"""Channel jobs: a product edit published as soon as it is handed over (one waiting job per
channel), publish + read back every few minutes, reconcile every hour, and availability
changes pushed as soon as stock moves. Each channel runs on its own, so one
platform's trouble never holds another back; sync opens only short transactions, none
while a platform answers."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress

from mercato.channels import changes, health, inclusion, service, sync
from mercato.channels import markets as channel_markets
from mercato.errors import MercatoError
from mercato.events import service as events_service
from mercato.jobs import registry
from mercato.jobs import service as jobs

AVAILABILITY_JOB = "channels.push_availability"
PUBLISH_JOB = "channels.publish_changes"


def _sessions(ctx: registry.JobContext) -> sync.Sessions:
    return sync.Sessions(ctx.sessions, ctx.read_sessions)


def _each_active_channel(ctx: registry.JobContext, work: Callable) -> None:
    sessions = _sessions(ctx)
    for channel_id in sync.active_channel_ids(sessions):
        with _set_up_problems_recorded():
            work(sessions, channel_id)


def _set_up_problems_recorded():
    """Sync records a channel's set-up problem on it (its pages show it) and raises it: the
    job goes on with the other channels, as retrying would not fix it."""
    return suppress(MercatoError)


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


@registry.task("channels.count_health", every="1 hour")
def count_health(ctx: registry.JobContext) -> None:
    """Today's verdict counts of every channel (its health over time)."""
    with ctx.transaction() as session:
        for channel in service.list_channels(session):
            health.record(session, channel.id, ctx.now)


@registry.task(PUBLISH_JOB, backoff_base="5 seconds", backoff_cap="5 minutes")
def publish_changes(ctx: registry.JobContext, channel_id: str) -> None:
    """What the change log holds for the channel, and the platform's verdicts on it."""
    sessions = _sessions(ctx)
    with _set_up_problems_recorded():
        if sync.publish(sessions, channel_id).sent:
            sync.read_back(sessions, channel_id)


@registry.task(AVAILABILITY_JOB, backoff_base="2 seconds", backoff_cap="5 minutes")
def push_availability(
    ctx: registry.JobContext, channel_id: str, variant_ids: list[str], resend: bool = False
) -> None:
    """Sold out first: the variants' new availability, ahead of the next full sync, and the
    platform's verdicts on it (``resend``: even if unchanged, see sync.push_availability)."""
    sessions = _sessions(ctx)
    with _set_up_problems_recorded():
        if sync.push_availability(sessions, channel_id, variant_ids, resend=resend).sent:
            sync.read_back(sessions, channel_id)


@events_service.consumer("channels")
def on_catalog_changed(session, events, now) -> None:
    """Catalog and stock changes go into every channel's change log (in the hand-over's
    transaction: none is lost); a product change queues a publish per active channel (one
    waiting job per channel, however many edits), inventory.changed one availability push
    per active channel (jobs of a channel run one at a time, in order, so a later change is
    never overtaken by an earlier one)."""
    _on_inclusion_changed(session, [e for e in events if e.type == inclusion.EVENT])
    _on_prices_changed(session, events)
    changed = changes.of_events(events)
    if not changed:
        return
    changes.record(session, sync.followed_channel_ids_in(session), changed)
    active = sync.active_channel_ids_in(session)
    if any(e.type in changes.PRODUCT_EVENTS for e in events):
        for channel_id in active:
            _queue_publish(session, channel_id)
    variant_ids = sync.variants_of_events(
        e.payload for e in events if e.type == "inventory.changed"
    )
    if not variant_ids:
        return
    for channel_id in active:
        jobs.enqueue(
            session,
            AVAILABILITY_JOB,
            {"channel_id": channel_id, "variant_ids": variant_ids},
            key=f"channels.availability:{channel_id}",
        )


def _on_inclusion_changed(session, events) -> None:
    """Variants taken onto or kept off one channel: into that channel's change log, and
    one publish of it queued (the next publish sends or deletes them)."""
    if not events:
        return
    active = set(sync.active_channel_ids_in(session))
    followed = set(sync.followed_channel_ids_in(session))
    for event in events:
        channel_id = event.payload["channel_id"]
        if channel_id not in followed:
            continue
        changes.record(session, [channel_id], event.payload["variants"])
        if channel_id in active:
            _queue_publish(session, channel_id)


def _on_prices_changed(session, events) -> None:
    """A market's price list or ending, or exchange rates, changed: the variants whose price
    changed go into the change log of that market's channels, and one publish of each
    active one is queued."""
    if not any(e.type in channel_markets.PRICE_EVENTS for e in events):
        return
    found = channel_markets.price_changes(session, events, sync.followed_channel_ids_in(session))
    if not found:
        return
    active = set(sync.active_channel_ids_in(session))
    for channel_ids, variants in found:
        changes.record(session, channel_ids, variants)
        for channel_id in channel_ids:
            if channel_id in active:
                _queue_publish(session, channel_id)


def _queue_publish(session, channel_id: str) -> None:
    """One publish of the channel queued (a waiting one is not queued twice)."""
    jobs.enqueue(
        session, PUBLISH_JOB, {"channel_id": channel_id}, key=f"channels.publish:{channel_id}"
    )
