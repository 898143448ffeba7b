"""The webhooks API and CLI: endpoints, secrets at rest, deliveries, redelivery."""

import re
from datetime import timedelta

from sqlalchemy import select
from standardwebhooks import Webhook
from typer.testing import CliRunner

from mercato import events
from mercato.cli import app as cli_app
from mercato.db import transaction, utcnow
from mercato.webhooks.models import WebhookEndpoint
from tests.webhooks.helpers import payload

API = "/api/v1/webhooks"


def create(client, headers, url, **fields):
    response = client.post(f"{API}/endpoints", json={"url": url, **fields}, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def test_endpoint_lifecycle_and_secret_kept_encrypted(client, admin, sessions):
    created = create(
        client,
        admin,
        "https://shop.example/hooks",
        event_types=["order.*", "product.updated"],
        description="ERP",
    )
    assert re.fullmatch(r"whsec_[A-Za-z0-9+/]{32}", created["secret"])
    assert created["enabled"] and created["event_types"] == ["order.*", "product.updated"]
    with sessions() as session:
        stored = session.get(WebhookEndpoint, created["id"])
    assert created["secret"] not in stored.secret_encrypted
    assert created["secret"][6:] not in stored.secret_encrypted

    endpoint_url = f"{API}/endpoints/{created['id']}"
    assert "secret" not in client.get(endpoint_url, headers=admin).json()
    assert client.get(f"{endpoint_url}/secret", headers=admin).json()["secret"] == created["secret"]
    assert [e["id"] for e in client.get(f"{API}/endpoints", headers=admin).json()["items"]] == [
        created["id"]
    ]

    patched = client.patch(
        endpoint_url, json={"enabled": False, "event_types": ["*"]}, headers=admin
    ).json()
    assert not patched["enabled"] and patched["event_types"] == ["*"]
    rotated = client.post(
        f"{endpoint_url}/secret/rotate", json={"overlap_seconds": 3600}, headers=admin
    ).json()
    assert rotated["secret"] != created["secret"] and rotated["previous_secret_expires_at"]

    assert client.delete(endpoint_url, headers=admin).status_code == 204
    missing = client.get(endpoint_url, headers=admin)
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"


def test_bad_input_is_a_problem_with_fields(client, admin):
    response = client.post(
        f"{API}/endpoints",
        json={
            "url": "https://x.example/",
            "event_types": ["Order Created", "order.*"],
            "secret": "whsec_short",
        },
        headers=admin,
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    fields = {e["field"] for e in response.json()["errors"]}
    assert "event_types[0]" in fields
    response = client.post(f"{API}/endpoints", json={"url": "ftp://x"}, headers=admin)
    assert response.status_code == 422


def test_scopes(client, make_token):
    reader, writer = make_token("webhooks:read"), make_token("webhooks:write")
    assert (
        client.post(
            f"{API}/endpoints", json={"url": "https://x.example/"}, headers=reader
        ).status_code
        == 403
    )
    endpoint = create(client, writer, "https://x.example/")
    assert client.get(f"{API}/endpoints", headers=reader).status_code == 200
    # The secret lets one forge deliveries: reading it needs the write scope.
    assert client.get(f"{API}/endpoints/{endpoint['id']}/secret", headers=reader).status_code == 403
    assert client.get(f"{API}/endpoints", headers=make_token("events:read")).status_code == 403


def test_deliveries_show_every_attempt(client, admin, sessions, receiver, drain):
    endpoint = create(client, admin, receiver.url)
    with transaction(sessions) as session:
        event = events.record(session, "order.created", {"total": 1200}, key="ord_1")
    drain()
    page = client.get(
        f"{API}/deliveries", params={"endpoint_id": endpoint["id"]}, headers=admin
    ).json()
    [delivery] = page["items"]
    assert (delivery["event_id"], delivery["state"], delivery["attempts"]) == (
        event.id,
        "succeeded",
        1,
    )
    detail = client.get(f"{API}/deliveries/{delivery['id']}", headers=admin).json()
    [attempt] = detail["attempt_log"]
    assert attempt["status_code"] == 200 and attempt["succeeded"]
    assert attempt["response_body"] == "ok" and attempt["duration_ms"] >= 0


def test_redeliver_one_event_or_a_time_range(client, admin, sessions, receiver, drain):
    endpoint = create(client, admin, receiver.url, event_types=["order.*"])
    with transaction(sessions) as session:
        first = events.record(session, "order.created", {}, key="ord_1")
        events.record(session, "product.created", {}, key="prod_1")  # not subscribed
        events.record(session, "order.paid", {}, key="ord_1")
    drain()
    assert len(receiver.requests) == 2

    url = f"{API}/endpoints/{endpoint['id']}/redeliver"
    one = client.post(url, json={"event_id": first.id}, headers=admin)
    assert one.status_code == 202 and one.json() == {"deliveries": 1, "endpoint_enabled": True}
    drain()
    assert receiver.requests[2].headers["webhook-id"] == first.id  # the original id

    since = (utcnow() - timedelta(minutes=5)).isoformat()
    assert client.post(url, json={"since": since}, headers=admin).json()["deliveries"] == 2
    drain()
    assert [payload(r)["type"] for r in receiver.requests[3:]] == ["order.created", "order.paid"]
    for request in receiver.requests:
        Webhook(endpoint["secret"]).verify(request.body, request.headers)
    later = (utcnow() + timedelta(minutes=5)).isoformat()
    assert client.post(url, json={"since": later}, headers=admin).json()["deliveries"] == 0
    both = client.post(url, json={"event_id": first.id, "since": since}, headers=admin)
    assert both.status_code == 422


def test_a_disabled_endpoint_keeps_redeliveries_until_enabled(
    client, admin, sessions, receiver, drain
):
    endpoint = create(client, admin, receiver.url)
    with transaction(sessions) as session:
        event = events.record(session, "order.created", {}, key="ord_1")
    drain()
    client.patch(f"{API}/endpoints/{endpoint['id']}", json={"enabled": False}, headers=admin)
    queued = client.post(
        f"{API}/endpoints/{endpoint['id']}/redeliver", json={"event_id": event.id}, headers=admin
    ).json()
    assert queued == {"deliveries": 1, "endpoint_enabled": False}
    drain()
    assert len(receiver.requests) == 1
    client.patch(f"{API}/endpoints/{endpoint['id']}", json={"enabled": True}, headers=admin)
    drain()
    assert len(receiver.requests) == 2


def test_cli_create_list_redeliver_and_attempts(engine, sessions, receiver, drain):
    runner = CliRunner()

    def mercato(*args):
        result = runner.invoke(cli_app, list(args), catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.output

    created = mercato("webhooks", "create", receiver.url, "--event", "order.*")
    endpoint_id = re.search(r"whep_\w+", created).group(0)
    secret = re.search(r"whsec_\S+", created).group(0)
    assert endpoint_id in mercato("webhooks", "list")
    with transaction(sessions) as session:
        event = events.record(session, "order.created", {}, key="ord_1")
    drain()
    assert "Queued 1 deliveries" in mercato(
        "webhooks", "redeliver", endpoint_id, "--event", event.id
    )
    drain()
    assert [r.headers["webhook-id"] for r in receiver.requests] == [event.id, event.id]
    Webhook(secret).verify(receiver.requests[1].body, receiver.requests[1].headers)
    listing = mercato("webhooks", "deliveries", "--endpoint", endpoint_id)
    delivery_id = re.search(r"dlv_\w+", listing).group(0)
    assert "200" in mercato("webhooks", "attempts", delivery_id)
    assert secret == mercato("webhooks", "secret", endpoint_id).strip()
    assert "disabled" in mercato("webhooks", "disable", endpoint_id)
    with sessions() as session:
        assert not session.scalar(select(WebhookEndpoint.enabled))
    bad = runner.invoke(cli_app, ["webhooks", "create", "https://x.example", "--event", "Bad"])
    assert bad.exit_code == 1 and "event_types" in bad.output
    bad_url = runner.invoke(cli_app, ["webhooks", "create", "ftp://x.example/"])
    assert bad_url.exit_code == 1 and "url" in bad_url.output
