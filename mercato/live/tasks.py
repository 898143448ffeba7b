"""Live events' background work: each new order that sold an event's product is
recorded as a sale of the event; pools of events that asked for it are rebalanced by
sales on a schedule."""

from mercato.events import service as events_service
from mercato.jobs import registry
from mercato.live import service


@events_service.consumer("live")
def on_orders(session, events, now) -> None:
    order_ids = [e.key for e in events if e.type == "order.created"]
    if order_ids:
        service.record_sales(session, order_ids, now)


@registry.task("live.rebalance", every="5 minutes")
def rebalance(ctx: registry.JobContext) -> None:
    with ctx.transaction() as session:
        service.rebalance_live(session, ctx.now)
