"""Delivery rules: signatures, retry schedule (fake clock), 410, sustained failure,
timeouts, secret rotation, per-key order across workers, subscriptions."""

import socket
import threading
import time
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select
from standardwebhooks import Webhook, WebhookVerificationError

from mercato import events
from mercato.db import create_db_engine, transaction
from mercato.events.models import Event
from mercato.jobs.worker import Worker
from mercato.webhooks import sender, service
from mercato.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from mercato.webhooks.schemas import SecretRotate
from tests.conftest import Clock
from tests.webhooks.helpers import check_deliveries, make_endpoint, payload, record_events


@pytest.fixture
def clock() -> Clock:
    """Frozen: delivery times are checked to the second."""
    return Clock(frozen=True)


def deliveries(sessions):
    with sessions() as session:
        return list(session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.event_seq)))


def attempts(sessions):
    with sessions() as session:
        return list(session.scalars(select(WebhookAttempt).order_by(WebhookAttempt.attempted_at)))


def test_a_delivery_is_signed_per_standard_webhooks(drain, engine, sessions, receiver):
    endpoint = make_endpoint(sessions, receiver.url)
    with transaction(sessions) as session:
        event = events.record(session, "product.updated", {"title": "Mug"}, key="prod_1")
    drain()
    [request] = receiver.requests
    body = Webhook(endpoint.secret).verify(request.body, request.headers)
    assert request.headers["webhook-id"] == event.id == body["id"]
    assert body["type"] == "product.updated" and body["key"] == "prod_1"
    assert body["data"] == {"title": "Mug"} and body["version"] == 1
    assert abs(int(request.headers["webhook-timestamp"]) - time.time()) < 60
    assert request.headers["webhook-signature"].startswith("v1,")
    with pytest.raises(WebhookVerificationError):  # a wrong secret does not verify
        Webhook(service.signing.new_secret()).verify(request.body, request.headers)
    [delivery] = deliveries(sessions)
    assert delivery.state == "succeeded" and delivery.attempts == 1
    [attempt] = attempts(sessions)
    assert attempt.status_code == 200 and attempt.succeeded and attempt.duration_ms >= 0
    assert attempt.response_body == "ok"


def test_a_failing_receiver_sees_the_retry_schedule(drain, engine, sessions, receiver, clock):
    receiver.respond = lambda _request: (500, b"x" * 10_000)
    make_endpoint(sessions, receiver.url)
    with transaction(sessions) as session:
        events.record(session, "order.created", {"n": 1}, key="ord_1")
    drain()
    assert len(receiver.requests) == 1  # immediately
    for n, delay in enumerate(service.RETRY_DELAYS, start=2):
        clock.advance(delay - timedelta(seconds=1))
        drain()
        assert len(receiver.requests) == n - 1, f"attempt {n} came early"
        clock.advance(timedelta(seconds=1))
        drain()
        assert len(receiver.requests) == n, f"attempt {n} did not come after {delay}"
    clock.advance(timedelta(days=7))
    drain()
    assert len(receiver.requests) == service.MAX_ATTEMPTS == 10

    log = attempts(sessions)
    gaps = [b.attempted_at - a.attempted_at for a, b in zip(log, log[1:], strict=False)]
    assert gaps == service.RETRY_DELAYS
    assert sum(gaps, timedelta()) > timedelta(hours=75)
    assert all(a.status_code == 500 and not a.succeeded for a in log)
    assert all(len(a.response_body) == sender.MAX_RESPONSE_CHARS for a in log)  # truncated
    [delivery] = deliveries(sessions)
    assert (delivery.state, delivery.attempts, delivery.last_status) == ("failed", 10, 500)
    # The same event's webhook-id on every attempt.
    assert len({r.headers["webhook-id"] for r in receiver.requests}) == 1


def test_410_disables_the_endpoint_and_raises_an_event(drain, engine, sessions, receiver, clock):
    receiver.respond = lambda request: 410 if request.path == "/gone" else 200
    gone = make_endpoint(sessions, receiver.url.replace("/hooks", "/gone"))
    watcher = make_endpoint(sessions, receiver.url, event_types=["webhook_endpoint.*"])
    with transaction(sessions) as session:
        events.record(session, "product.updated", {}, key="prod_1")
    drain()

    with sessions() as session:
        endpoint = session.get(WebhookEndpoint, gone.endpoint.id)
        disabled = session.scalars(
            select(Event).where(Event.type == "webhook_endpoint.disabled")
        ).one()
    assert not endpoint.enabled and "410" in endpoint.disabled_reason
    assert disabled.key == endpoint.id and disabled.payload["url"].endswith("/gone")
    assert [d.state for d in deliveries(sessions)] == ["failed", "succeeded"]
    # The watcher heard of it; the gone endpoint is not tried again, nor sent new events.
    to_watcher = [r for r in receiver.requests if r.path == "/hooks"]
    assert [payload(r)["type"] for r in to_watcher] == ["webhook_endpoint.disabled"]
    Webhook(watcher.secret).verify(to_watcher[0].body, to_watcher[0].headers)
    with transaction(sessions) as session:
        events.record(session, "product.updated", {}, key="prod_1")
    clock.advance(timedelta(days=1))
    drain()
    assert len([r for r in receiver.requests if r.path == "/gone"]) == 1


def test_an_endpoint_failing_for_days_is_disabled(drain, engine, sessions, receiver, clock):
    receiver.respond = lambda _request: 503
    started = clock.now
    endpoint = make_endpoint(sessions, receiver.url)
    with transaction(sessions) as session:
        events.record(session, "order.created", {}, key="ord_1")
    drain()
    for delay in service.RETRY_DELAYS:  # the first delivery runs out of tries (~3 days)
        clock.advance(delay)
        drain()
    with sessions() as session:
        assert session.get(WebhookEndpoint, endpoint.endpoint.id).enabled
    clock.now = started + service.DISABLE_AFTER
    with transaction(sessions) as session:
        events.record(session, "order.created", {}, key="ord_2")
    drain()
    with sessions() as session:
        state = session.get(WebhookEndpoint, endpoint.endpoint.id)
        raised = session.scalars(
            select(Event).where(Event.type == "webhook_endpoint.disabled")
        ).all()
    assert not state.enabled and "every attempt failed since" in state.disabled_reason
    assert [e.key for e in raised] == [endpoint.endpoint.id]


def test_a_success_ends_a_run_of_failures(drain, engine, sessions, receiver, clock):
    answers = iter([500, 200])
    receiver.respond = lambda _request: next(answers)
    endpoint = make_endpoint(sessions, receiver.url)
    with transaction(sessions) as session:
        events.record(session, "order.created", {}, key="ord_1")
    drain()
    with sessions() as session:
        assert session.get(WebhookEndpoint, endpoint.endpoint.id).failing_since is not None
    clock.advance(service.RETRY_DELAYS[0])
    drain()
    with sessions() as session:
        assert session.get(WebhookEndpoint, endpoint.endpoint.id).failing_since is None
    assert [d.state for d in deliveries(sessions)] == ["succeeded"]


def test_timeouts_and_refused_connections_are_failed_attempts(
    drain, engine, sessions, receiver, clock, monkeypatch
):
    monkeypatch.setattr(sender, "TIMEOUT", httpx.Timeout(0.3))
    slow = threading.Event()
    receiver.respond = lambda _request: (slow.wait(2) and 200) or 200
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    make_endpoint(sessions, receiver.url)
    make_endpoint(sessions, f"http://127.0.0.1:{closed_port}/hooks")
    with transaction(sessions) as session:
        events.record(session, "order.created", {}, key="ord_1")
    drain()
    slow.set()
    errors = sorted(a.error.split(":")[0] for a in attempts(sessions))
    assert errors == ["ConnectError", "timeout"]
    assert all(a.status_code is None and not a.succeeded for a in attempts(sessions))
    assert all(
        d.state == "pending" and d.next_attempt_at == clock.now + timedelta(seconds=5)
        for d in deliveries(sessions)
    )


def test_secret_rotation_signs_with_both_secrets_during_the_overlap(
    drain, engine, sessions, receiver, clock
):
    endpoint = make_endpoint(sessions, receiver.url)
    with transaction(sessions) as session:
        new = service.rotate_secret(
            session, endpoint.endpoint.id, SecretRotate(overlap_seconds=60), now=clock.now
        )
        events.record(session, "order.created", {}, key="ord_1")
    drain()
    clock.advance(timedelta(seconds=61))
    with transaction(sessions) as session:
        events.record(session, "order.created", {}, key="ord_2")
    drain()
    during, after = receiver.requests
    assert len(during.headers["webhook-signature"].split(" ")) == 2
    Webhook(endpoint.secret).verify(during.body, during.headers)
    Webhook(new.secret).verify(during.body, during.headers)
    assert len(after.headers["webhook-signature"].split(" ")) == 1
    Webhook(new.secret).verify(after.body, after.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(endpoint.secret).verify(after.body, after.headers)


def test_endpoints_get_the_types_they_subscribe_to_from_their_creation_on(
    drain, engine, sessions, receiver
):
    with transaction(sessions) as session:
        events.record(session, "product.created", {}, key="before")
    products = make_endpoint(
        sessions, receiver.url.replace("/hooks", "/products"), event_types=["product.*"]
    )
    orders = make_endpoint(
        sessions, receiver.url.replace("/hooks", "/orders"), event_types=["order.created"]
    )
    with transaction(sessions) as session:
        for type in ("product.updated", "order.created", "order.cancelled", "inventory.changed"):
            events.record(session, type, {}, key="k")
    drain()
    seen = sorted((r.path, payload(r)["type"]) for r in receiver.requests)
    assert seen == [("/orders", "order.created"), ("/products", "product.updated")]
    assert products.endpoint.id != orders.endpoint.id


def test_a_later_event_for_a_key_waits_for_the_earlier_one(drain, sessions, receiver, clock):
    answers = {"first": iter([500, 200])}
    receiver.respond = lambda r: next(answers["first"]) if payload(r)["data"]["n"] == 0 else 200
    make_endpoint(sessions, receiver.url)
    with transaction(sessions) as session:
        for n in range(3):
            events.record(session, "order.updated", {"n": n}, key="ord_1")
        events.record(session, "order.updated", {"n": 9}, key="ord_2")
    drain()
    # ord_1's first event failed: its next two wait; ord_2 is not held up.
    assert sorted(payload(r)["data"]["n"] for r in receiver.requests) == [0, 9]
    clock.advance(service.RETRY_DELAYS[0])
    drain()
    assert [payload(r)["data"]["n"] for r in receiver.requests][2:] == [0, 1, 2]


@pytest.mark.slow
def test_two_workers_keep_per_key_order_and_deliver_once(engine, sessions, receiver, settings):
    endpoint = make_endpoint(sessions, receiver.url)
    event_ids = record_events(sessions, 400, keys=10, per_transaction=50)
    engines = [create_db_engine(settings) for _ in range(2)]
    workers = [Worker(e, concurrency=4, poll=0.05) for e in engines]
    threads = [threading.Thread(target=w.run) for w in workers]
    for thread in threads:
        thread.start()
    try:
        receiver.wait_for(len(event_ids), timeout=60)
    finally:
        for worker in workers:
            worker.stop()
        for thread in threads:
            thread.join(30)
        for e in engines:
            e.dispose()
    check_deliveries(receiver.requests, endpoint.secret, event_ids)
    assert len(receiver.requests) == len(event_ids)  # nobody crashed: exactly once
