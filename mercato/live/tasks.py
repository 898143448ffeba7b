"""Live events' background work: each new order that sold an event's product is
recorded as a sale of the event; pools of events that asked for it are rebalanced by
sales on a schedule; the Redis gate's admissions are copied to the database; admissions
whose pass lapsed unused, or whose checkout expired unpaid, give their units back to the
gate."""

from datetime import timedelta

from mercato.config import get_settings
from mercato.events import service as events_service
from mercato.jobs import registry
from mercato.live import gate, passes, service

# After a pass lapses, how long before its admission does (clocks of API processes and
# workers differ a little; a Redis gate's admission reaches the database within a drain).
LAPSE_GRACE = timedelta(minutes=1)


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


@registry.task("live.lapse_admissions", every="1 minute")
def lapse_admissions(ctx: registry.JobContext) -> None:
    """Buyers let in who never started their checkout (the pass lapsed), or left it
    unpaid until it expired: their units go back to the gate, for the next buyers in the
    queue, while the event is live."""
    url = get_settings().redis_url
    if url:
        import redis

        the_gate = gate.RedisGate(redis.Redis.from_url(url))
    else:
        the_gate = gate.DatabaseGate(ctx.sessions)
    before = ctx.now - timedelta(seconds=passes.SECONDS) - LAPSE_GRACE
    with ctx.read_sessions() as session:
        event_ids = [e.id for e in service.list_events(session, state="live", limit=1000)]
    for event_id in event_ids:
        the_gate.lapse(ctx.sessions, event_id, before)
