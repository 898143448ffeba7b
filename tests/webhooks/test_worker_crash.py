"""A worker killed with SIGKILL mid-delivery loses nothing (the issue's first "done when")."""

import signal

import pytest
from sqlalchemy import func, select

from mercato.webhooks.models import WebhookDelivery
from tests.webhooks.helpers import (
    check_deliveries,
    make_endpoint,
    record_events,
    start_worker,
    stop,
)

EVENTS = 1000


@pytest.mark.slow
def test_sigkill_mid_delivery_loses_no_event(engine, sessions, receiver, tmp_path):
    endpoint = make_endpoint(sessions, receiver.url)
    event_ids = record_events(sessions, EVENTS, keys=25)

    log = tmp_path / "worker.log"
    first = start_worker("--concurrency", "8", "--lease", "2", "--poll", "0.2", log=log)
    try:
        receiver.wait_for(EVENTS // 4, timeout=60)
        assert first.poll() is None, log.read_text()
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    finally:
        stop(first, signal.SIGKILL)
    received_at_kill = len(receiver.requests)
    assert received_at_kill < EVENTS, "the worker finished before it could be killed"

    second = start_worker("--concurrency", "8", "--lease", "2", "--poll", "0.2", log=log)
    try:
        deadline_ok = _wait_all(receiver, event_ids, timeout=90)
        assert deadline_ok, log.read_text()[-3000:]
    finally:
        assert stop(second) == 0

    check_deliveries(receiver.requests, endpoint.secret, event_ids)
    with sessions() as session:
        states = dict(
            session.execute(
                select(WebhookDelivery.state, func.count()).group_by(WebhookDelivery.state)
            ).all()
        )
    assert states == {"succeeded": EVENTS}


def _wait_all(receiver, event_ids, timeout):
    wanted = set(event_ids)
    with receiver.arrived:
        return receiver.arrived.wait_for(
            lambda: wanted <= {r.headers["webhook-id"] for r in receiver.requests}, timeout
        )
