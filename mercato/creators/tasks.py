"""Creators' work for the worker: commissions from the orders' events."""

from mercato.creators import commissions
from mercato.events import service as events_service


@events_service.consumer("creators")
def credit_creators(session, batch, now) -> None:
    commissions.from_events(session, batch, now)
