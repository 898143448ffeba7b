"""No URL reaches inside: webhook endpoints, channel base URLs and provider API bases must
be https and public, at registration and again when connecting."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import func, select

from mercato import outbound
from mercato.config import get_settings
from mercato.db import transaction, utcnow
from mercato.errors import ValidationFailed
from mercato.payments import service as payments
from mercato.webhooks.models import WebhookEndpoint
from mercato.webhooks.sender import Outgoing, new_client, send

API = "/api/v1/webhooks/endpoints"

INSIDE = [
    "https://169.254.169.254/latest/meta-data/",
    "http://169.254.169.254/latest/meta-data/",
    "https://10.0.0.1/hook",
    "https://127.0.0.1/hook",
    "https://localhost:8443/hook",
    "https://192.168.1.20/hook",
    "https://100.64.0.1/hook",
    "https://[::1]/hook",
    "https://[::ffff:127.0.0.1]/hook",
    "https://[fd00:ec2::254]/hook",
    "https://0.0.0.0/hook",
]


@pytest.fixture
def production(settings, monkeypatch):
    """As deployed: local URLs not allowed."""
    monkeypatch.setenv("MERCATO_ALLOW_LOCAL_URLS", "0")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def endpoint_count(sessions) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(WebhookEndpoint))


@pytest.mark.parametrize("url", INSIDE)
def test_inside_addresses_are_refused_for_webhooks(client, admin, sessions, production, url):
    response = client.post(API, json={"url": url}, headers=admin)
    assert response.status_code == 422, response.text
    [error] = response.json()["errors"]
    assert error["field"] == "url" and "not a public address" in error["message"]
    assert endpoint_count(sessions) == 0


def test_plain_http_is_refused_and_a_public_https_address_accepted(client, admin, production):
    refused = client.post(API, json={"url": "http://93.184.215.14/hook"}, headers=admin)
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["message"].startswith("must use https")
    accepted = client.post(API, json={"url": "https://93.184.215.14/hook"}, headers=admin)
    assert accepted.status_code == 201, accepted.text


def test_changing_an_endpoint_to_an_inside_address_is_refused(client, admin, production):
    created = client.post(API, json={"url": "https://93.184.215.14/hook"}, headers=admin).json()
    response = client.patch(
        f"{API}/{created['id']}", json={"url": "https://10.0.0.1/"}, headers=admin
    )
    assert response.status_code == 422
    assert client.get(f"{API}/{created['id']}", headers=admin).json()["url"].endswith("/hook")


@pytest.mark.parametrize("url", ["https://[oops/hook", "https://[::1/hook", "http://[zz]:80/"])
def test_a_malformed_address_is_a_field_error_not_a_server_error(client, admin, sessions, url):
    response = client.post(API, json={"url": url}, headers=admin)
    assert response.status_code == 422, response.text
    [error] = response.json()["errors"]
    assert error["field"] == "url" and "not a valid URL" in error["message"]
    assert endpoint_count(sessions) == 0


def test_the_development_setting_allows_local_urls(client, admin):
    for url in ("http://127.0.0.1:9/hook", "http://10.0.0.1/hook", "http://169.254.169.254/"):
        assert client.post(API, json={"url": url}, headers=admin).status_code == 201


def test_connect_time_check_refuses_a_local_receiver(receiver, production):
    """An address registered earlier (or a name that now resolves inside) is refused
    when connecting: nothing reaches the receiver."""
    outgoing = Outgoing("d1", "e1", "evt_1", receiver.url, b"{}", ["whsec_" + "A" * 32])
    with new_client(1) as client:
        outcome = send(client, outgoing, utcnow())
    assert outcome.status_code is None and "not a public address" in outcome.error
    assert receiver.requests == []


def test_connect_time_check_lets_local_through_in_development(receiver, settings):
    outgoing = Outgoing("d1", "e1", "evt_1", receiver.url, b"{}", ["whsec_" + "A" * 32])
    with new_client(1) as client:
        assert send(client, outgoing, utcnow()).status_code == 200
    assert len(receiver.requests) == 1


def test_redirects_are_not_followed(receiver, settings):
    receiver.respond = lambda _request: 302
    outgoing = Outgoing("d1", "e1", "evt_1", receiver.url, b"{}", ["whsec_" + "A" * 32])
    with new_client(1) as client:
        outcome = send(client, outgoing, utcnow())
    assert outcome.status_code == 302 and not outcome.succeeded
    assert len(receiver.requests) == 1


def test_a_receivers_answer_is_kept_short_and_without_control_characters(receiver, settings):
    receiver.respond = lambda _request: (500, b"\x1b[31mboom\x00" + b"x" * 5000)
    outgoing = Outgoing("d1", "e1", "evt_1", receiver.url, b"{}", ["whsec_" + "A" * 32])
    with new_client(1) as client:
        outcome = send(client, outgoing, utcnow())
    assert len(outcome.response_body) == 512
    assert outcome.response_body.startswith("\ufffd[31mboom\ufffdxxx")


def test_checked_transport_refuses_loopback(production):
    client = httpx.Client(transport=outbound.checked_transport())
    with client, pytest.raises(httpx.ConnectError, match="not a public address"):
        client.get("http://127.0.0.1:9/")


@pytest.mark.parametrize("url", ["http://10.0.0.1", "https://169.254.169.254", "https://127.0.0.1"])
def test_channel_base_url_inside_is_refused(client, admin, production, url):
    response = client.post(
        "/api/v1/channels",
        json={"kind": "tiktok", "name": "tt", "base_url": url},
        headers=admin,
    )
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == "base_url"
    assert client.get("/api/v1/channels", headers=admin).json()["items"] == []


def test_payment_provider_api_base_inside_is_refused(sessions, production):
    with pytest.raises(ValidationFailed) as refused, transaction(sessions) as session:
        payments.configure(
            session, "stripe", secret_key="sk_test_x", api_base="https://169.254.169.254/"
        )
    assert refused.value.errors[0].loc == ("api_base",)
