"""The outbox dispatcher runs on every turn of every worker (one at a time; see
``service.dispatch_pending``)."""

from mercato.events import service
from mercato.jobs import registry

registry.step("events.dispatch")(service.dispatch_pending)
