"""The event log: recorded in the caller's transaction, listed with filters and cursors."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from mercato import events
from mercato.cli import app as cli_app
from mercato.db import transaction, utcnow
from mercato.events.models import Event, OutboxEntry
from mercato.jobs.worker import Worker
from mercato.webhooks.models import WebhookDelivery
from tests.webhooks.helpers import make_endpoint

API = "/api/v1/events"


@pytest.fixture
def recorded(sessions):
    with transaction(sessions) as session:
        made = [
            events.record(session, type, {"n": n}, key=key)
            for n, (type, key) in enumerate(
                [
                    ("product.created", "prod_1"),
                    ("product.updated", "prod_1"),
                    ("order.created", "ord_1"),
                    ("product.updated", "prod_2"),
                    ("order.paid", "ord_1"),
                ]
            )
        ]
    return [e.id for e in made]


def ids(response):
    assert response.status_code == 200, response.text
    return [e["id"] for e in response.json()["items"]]


def test_a_rolled_back_transaction_records_no_event(engine, sessions):
    make_endpoint(sessions, "http://127.0.0.1:9/never")
    with pytest.raises(RuntimeError), transaction(sessions) as session:
        events.record(session, "order.created", {"total": 100}, key="ord_1")
        session.flush()  # written, then undone
        raise RuntimeError("payment declined")
    worker = Worker(engine, concurrency=1)
    worker.drain()
    worker.close()
    with sessions() as session:
        for table in (Event, OutboxEntry, WebhookDelivery):
            assert session.scalar(select(func.count()).select_from(table)) == 0


def test_recorded_events_are_handed_over_once(engine, sessions, recorded):
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(OutboxEntry)) == 5
    worker = Worker(engine, concurrency=1)
    worker.drain()
    worker.close()
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(OutboxEntry)) == 0
        assert session.scalar(select(func.count()).select_from(Event)) == 5  # the log stays


def test_event_types_must_be_resource_dot_past_tense(sessions):
    with transaction(sessions) as session:
        for bad in ("OrderCreated", "order", "order.created.now", "Order.created"):
            with pytest.raises(ValueError):
                events.record(session, bad, {}, key="k")


def test_list_filters_and_pages(client, admin, recorded):
    assert ids(client.get(API, headers=admin)) == recorded[::-1]  # newest first
    assert ids(client.get(API, params={"order": "oldest"}, headers=admin)) == recorded
    assert ids(client.get(API, params={"type": "product.updated"}, headers=admin)) == [
        recorded[3],
        recorded[1],
    ]
    assert ids(client.get(API, params={"type": ["order.*", "product.created"]}, headers=admin)) == [
        recorded[4],
        recorded[2],
        recorded[0],
    ]
    assert ids(client.get(API, params={"key": "ord_1"}, headers=admin)) == [
        recorded[4],
        recorded[2],
    ]
    now = utcnow()
    assert (
        ids(
            client.get(
                API, params={"since": (now + timedelta(minutes=1)).isoformat()}, headers=admin
            )
        )
        == []
    )
    assert (
        ids(
            client.get(
                API,
                params={
                    "until": (now + timedelta(minutes=1)).isoformat(),
                    "since": (now - timedelta(minutes=1)).isoformat(),
                },
                headers=admin,
            )
        )
        == recorded[::-1]
    )

    seen, cursor = [], None
    for _ in range(5):
        params = {"limit": 2, "order": "oldest", **({"cursor": cursor} if cursor else {})}
        page = client.get(API, params=params, headers=admin).json()
        seen += [e["id"] for e in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == recorded

    one = client.get(f"{API}/{recorded[2]}", headers=admin).json()
    assert (one["type"], one["key"], one["payload"], one["version"]) == (
        "order.created",
        "ord_1",
        {"n": 2},
        1,
    )
    assert one["seq"] > 0 and one["created_at"]


def test_bad_queries_and_scopes(client, admin, make_token, recorded):
    for params in ({"cursor": "nope"}, {"type": "Order Created"}, {"limit": 0}):
        response = client.get(API, params=params, headers=admin)
        assert response.status_code == 422, params
        assert response.headers["content-type"] == "application/problem+json"
    assert client.get(f"{API}/evt_nope", headers=admin).status_code == 404
    assert client.get(API, headers=make_token("catalog:read")).status_code == 403
    assert client.get(API, headers=make_token("events:read")).status_code == 200


def test_cli_lists_events(recorded):
    result = CliRunner().invoke(cli_app, ["events", "list", "--type", "order.*"])
    assert result.exit_code == 0, result.output
    assert recorded[2] in result.output and recorded[4] in result.output
    assert recorded[0] not in result.output


def test_a_resume_point_beyond_any_seq_is_refused_not_a_server_error(client, admin):
    too_big = str(2**63)
    refused = client.get(f"{API}/stream", params={"after": too_big}, headers=admin)
    assert refused.status_code == 422
    refused = client.get(f"{API}/stream", headers={**admin, "Last-Event-ID": too_big})
    assert refused.status_code == 422
