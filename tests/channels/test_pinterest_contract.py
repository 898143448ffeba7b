"""Pinterest against its own OpenAPI description: every request the adapter sends and
every response the simulator gives follow it; the old bodies are refused; FAILED batches
are settled; a channel is pushed to by API or fed by a feed, never both."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from mercato.catalog import service as catalog
from mercato.catalog.schemas import ProductUpdate
from mercato.channels import http as channel_http
from mercato.channels import service, sync
from mercato.channels.http import SetupError
from mercato.channels.pinterest import client as pinterest
from mercato.channels.pinterest.mapping import read_summary
from mercato.channels.pinterest.spec import LOCALES, locale
from mercato.channels.schemas import ChannelCreate
from mercato.channels.target import Target
from mercato.db import transaction
from mercato.errors import Conflict
from mercato.sandbox.contracts import pinterest as contract
from tests.helpers import SANDBOX, tee

from .test_sync_contract import fault, listings, remote

AUTH = {"Authorization": "Bearer pina_test"}
ATTRIBUTES = {
    "title": "Tee",
    "description": "Cotton tee",
    "link": "https://shop.example.com/p/sku-1",
    "image_link": "https://shop.example.com/i/sku-1.jpg",
    "price": "24.99 USD",
    "availability": "in stock",
}
FEED = {
    "name": "Main feed",
    "format": "TSV",
    "location": "https://shop.example.com/feeds/pinterest.tsv",
    "default_country": "US",
    "default_locale": "en-US",
    "default_currency": "USD",
}


@pytest.fixture
def calls(monkeypatch):
    """Every request the Pinterest adapter makes, with the simulator's answer."""
    seen = []
    real = pinterest.send

    def spy(http, method, url, **kwargs):
        response = real(http, method, url, **kwargs)
        seen.append((method, url, kwargs, response.status_code, response.json()))
        return response

    monkeypatch.setattr(pinterest, "send", spy)
    return seen


def pinterest_channel(sessions, name="pin", **settings) -> str:
    with transaction(sessions) as session:
        return service.create_channel(
            session,
            ChannelCreate(
                kind="pinterest",
                name=name,
                base_url=f"{SANDBOX}/pinterest",
                credentials={"access_token": "pina_test"},
                settings=settings,
            ),
        ).id


def test_every_request_and_response_follows_the_openapi_description(
    sessions, sandbox, make_products, make_channel, calls
):
    kept, gone = make_products(tee(), tee(handle="cap", skus=("CAP-1",)))
    channel_id = make_channel("pinterest")
    sync.publish(sessions, channel_id)
    sync.read_back(sessions, channel_id)
    with transaction(sessions) as session:
        catalog.update_product(session, gone.id, ProductUpdate(status="archived"))
    sync.publish(sessions, channel_id)
    sync.reconcile(sessions, channel_id)
    paths = {urlsplit(url).path for _, url, *_ in calls}
    assert paths >= {"/v5/catalogs/items/batch", "/v5/catalogs/items"}
    assert any(p.startswith("/v5/catalogs/items/batch/") for p in paths)
    operations = set()
    for method, url, kwargs, status, answer in calls:
        path = urlsplit(url).path
        body = kwargs.get("json")
        assert contract.request_errors(method, path, kwargs.get("params"), body) == []
        assert status == 200
        assert contract.response_errors(method, path, status, answer, None, body) == []
        if path == "/v5/catalogs/items/batch":
            assert body["catalog_type"] == "RETAIL" and "operation" not in body
            operations |= {item["operation"] for item in body["items"]}
    assert operations == {"UPSERT", "DELETE"}


@pytest.mark.parametrize(
    "body",
    [
        # The old adapter's upsert: the per-vertical shape with one top-level operation.
        {
            "catalog_type": "RETAIL",
            "country": "US",
            "language": "EN",
            "operation": "UPSERT",
            "items": [{"item_id": "SKU-1", "attributes": ATTRIBUTES}],
        },
        # The old adapter's delete: matches neither shape.
        {
            "catalog_type": "RETAIL",
            "country": "US",
            "language": "EN",
            "operation": "DELETE",
            "items": [{"item_id": "SKU-1"}],
        },
        # Per-vertical, but an item without its operation.
        {
            "catalog_type": "RETAIL",
            "country": "US",
            "language": "en-US",
            "items": [{"item_id": "SKU-1", "attributes": ATTRIBUTES}],
        },
        # 1,001 items.
        {
            "catalog_type": "RETAIL",
            "country": "US",
            "language": "en-US",
            "items": [{"operation": "DELETE", "item_id": f"S{i}"} for i in range(1001)],
        },
    ],
    ids=["hybrid-upsert", "old-delete", "item-without-operation", "too-many"],
)
def test_the_old_bodies_are_refused(sandbox, body):
    assert contract.request_errors("POST", "/v5/catalogs/items/batch", None, body)
    response = sandbox.post("/pinterest/v5/catalogs/items/batch", headers=AUTH, json=body)
    assert response.status_code == 400
    assert response.json()["code"] == 1 and "Invalid request" in response.json()["message"]
    assert remote(sandbox, "pinterest") == {"items": {}, "items_received": 0}


def test_the_documented_example_is_accepted(sandbox):
    body = {
        "catalog_type": "RETAIL",
        "country": "US",
        "language": "en-US",
        "items": [
            {"operation": "UPSERT", "item_id": "SKU-1", "attributes": ATTRIBUTES},
            {"operation": "DELETE", "item_id": "SKU-OLD"},
        ],
    }
    response = sandbox.post("/pinterest/v5/catalogs/items/batch", headers=AUTH, json=body)
    assert response.status_code == 200 and response.json()["status"] == "PROCESSING"
    assert list(remote(sandbox, "pinterest")["items"]) == ["SKU-1"]


def test_the_drift_lookup_is_checked_too(sandbox):
    bad = {"country": "US", "language": "en-US", "filters": {"item_ids": ["SKU-1"]}}
    assert sandbox.post("/pinterest/v5/catalogs/items", headers=AUTH, json=bad).status_code == 400
    too_many = {
        "country": "US",
        "language": "en-US",
        "filters": {"catalog_type": "RETAIL", "item_ids": [str(i) for i in range(1001)]},
    }
    response = sandbox.post("/pinterest/v5/catalogs/items", headers=AUTH, json=too_many)
    assert response.status_code == 400


def test_a_failed_batch_is_settled_and_items_without_a_record_are_sent_again(
    sessions, sandbox, make_products, make_channel
):
    make_products(tee(skus=("TEE-S", "TEE-M", "TEE-L", "TEE-XL")))
    channel_id = make_channel("pinterest")
    fault(sandbox, "pinterest", "batch_failed")
    sync.publish(sessions, channel_id)
    result = sync.read_back(sessions, channel_id)
    assert (result.confirmed, result.resent, result.still_pending) == (2, 2, 0)
    verdicts = sorted(x.verdict for x in listings(sessions, channel_id).values())
    assert verdicts == ["approved", "approved", "pending", "pending"]
    assert sync.publish(sessions, channel_id).sent == 2
    sync.read_back(sessions, channel_id)
    assert {x.verdict for x in listings(sessions, channel_id).values()} == {"approved"}
    assert len(remote(sandbox, "pinterest")["items"]) == 4


def test_a_feed_mode_channel_is_never_pushed_to(sessions, sandbox, make_products):
    make_products(tee())
    channel_id = pinterest_channel(sessions, catalog_mode="feed")
    with pytest.raises(Conflict, match="feed"):
        sync.publish(sessions, channel_id)
    assert channel_id not in sync.active_channel_ids(sessions)
    assert remote(sandbox, "pinterest")["items_received"] == 0


def test_a_channel_must_choose_api_or_feed(sessions, sandbox, make_products):
    make_products(tee())
    channel_id = pinterest_channel(sessions)
    with pytest.raises(Conflict, match="catalog_mode setting: api .* or feed"):
        sync.publish(sessions, channel_id)
    assert remote(sandbox, "pinterest")["items_received"] == 0


def test_upsert_is_refused_once_the_catalog_has_a_feed_data_source(
    sessions, sandbox, make_products, make_channel
):
    make_products(tee())
    channel_id = make_channel("pinterest")
    created = sandbox.post("/pinterest/v5/catalogs/feeds", headers=AUTH, json=FEED)
    assert created.status_code == 201, created.text
    result = sync.publish(sessions, channel_id)
    assert any("feed data source" in m for m in result.messages)
    assert remote(sandbox, "pinterest")["items"] == {}
    with sessions() as session:
        channel = service.get_channel(session, channel_id)
    with channel_http.open_client(channel.base_url) as http:
        adapter = pinterest.Client(Target.of(channel), {"access_token": "pina_test"}, http)
        with pytest.raises(SetupError, match="catalog_mode to feed"):
            adapter.verify()


def test_the_lookup_asks_for_at_most_its_limit_a_call(
    sessions, sandbox, make_products, make_channel, calls, monkeypatch
):
    make_products(tee(skus=("TEE-S", "TEE-M", "TEE-L")))
    channel_id = make_channel("pinterest")
    sync.publish(sessions, channel_id)
    monkeypatch.setattr(pinterest, "LOOKUP_LIMIT", 2)
    calls.clear()
    result = sync.reconcile(sessions, channel_id)
    assert (result.missing, result.stale) == (0, 0)
    lookups = [kw["json"] for _, url, kw, *_ in calls if urlsplit(url).path == "/v5/catalogs/items"]
    assert [len(b["filters"]["item_ids"]) for b in lookups] == [2, 1]


def test_locales_are_pinterests_and_prices_read_back_in_one_form():
    assert set(contract.enum("CatalogsLocale")) == LOCALES
    assert locale(Target("pinterest", country="US", language="en")) == "en-US"
    assert locale(Target("pinterest", country="CH", language="de")) == "de"
    assert locale(Target("pinterest", country="BE", language="nl")) == "nl"
    assert locale(Target("pinterest", country="IS", language="is")) == "IS"
    for price in ("24.99 USD", "24.99USD", "24.99"):
        assert read_summary({"price": price, "availability": "IN STOCK"}) == {
            "title": None,
            "price": "24.99 USD",
            "sale_price": None,
            "availability": "in stock",
        }
