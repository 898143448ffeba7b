from mercato import events
from mercato.db import transaction
from mercato.jobs.worker import Worker
from mercato.webhooks import service
from mercato.webhooks.schemas import EndpointCreate
from standardwebhooks import Webhook


def test_smoke(engine, sessions, receiver):
    with transaction(sessions) as s:
        new = service.create_endpoint(s, EndpointCreate(url=receiver.url))
    with transaction(sessions) as s:
        for i in range(5):
            events.record(s, "product.updated", {"i": i}, key="p1")
    w = Worker(engine, concurrency=4)
    w.drain()
    w.close()
    got = receiver.wait_for(5, timeout=5)
    assert len(got) == 5
    for r in got:
        Webhook(new.secret).verify(r.body, r.headers)
