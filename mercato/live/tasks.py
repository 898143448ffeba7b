"""Live events' background work: each new order that sold an event's product is
recorded as a sale of the event; pools of events that asked for it are rebalanced by
sales on a schedule."""

from mercato.config import get_settings
from mercato.events import service as events_service
from mercato.jobs import registry
from mercato.live import gate, service


@events_service.consumer("live")
def on_orders(session, events, now) -> None:
    order_ids = [e.key for e in events if e.type == "order.created"]
    if order_ids:
        service.record_sales(session, order_ids, now)


@registry.task("live.rebalance", every="5 minutes")
def rebalance(ctx: registry.JobContext) -> None:
    with ctx.transaction() as session:
        service.rebalance_live(session, ctx.now)


@registry.task("live.drain_gates", every="1 minute")
def drain_gates(ctx: registry.JobContext) -> None:
    """With the Redis gate: copy each live or just-ended event's admissions (and those
    a dead drainer claimed) into the database."""
    url = get_settings().redis_url
    if not url:
        return
    import redis

    the_gate = gate.RedisGate(redis.Redis.from_url(url))
    with ctx.read_sessions() as session:
        event_ids = [
            e.id for e in service.list_events(session, limit=1000) if e.state != "scheduled"
        ]
    for event_id in event_ids:
        the_gate.recover(ctx.sessions, event_id)
        the_gate.drain_all(ctx.sessions, event_id)
