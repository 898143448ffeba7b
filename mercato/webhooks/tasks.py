"""Webhook work for the worker: the event fan-out consumer and the delivery queue."""

from __future__ import annotations

from mercato.events import service as events_service
from mercato.jobs import registry
from mercato.webhooks import sender, service


@events_service.consumer("webhooks")
def fan_out(session, batch, now) -> None:
    service.fan_out(session, batch, now)


@registry.work_queue("webhooks")
class DeliveryQueue:
    """Claims due deliveries, POSTs them on the worker's threads, records the outcomes."""

    name = "webhooks"
    prefetch = 4  # requests are short: keep the threads fed between claims

    def __init__(self, info: registry.WorkerInfo) -> None:
        self.clock = info.clock
        self.client = sender.new_client(info.concurrency)

    def claim(self, session, now, limit, worker_id, lease):
        # A request slower than the lease keeps its delivery: the worker renews leases of
        # work in flight every lease/3.
        return service.claim(session, now, limit, worker_id, lease)

    def perform(self, item: sender.Outgoing) -> sender.Outcome:
        return sender.send(self.client, item, self.clock())

    def finish(self, session, now, done, worker_id):
        service.record_outcomes(session, done, worker_id)

    def renew(self, session, items, until, worker_id):
        service.renew(session, [item.delivery_id for item in items], until, worker_id)

    def close(self) -> None:
        self.client.close()
