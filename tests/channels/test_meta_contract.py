"""Meta against the official SDK's contract: the adapter's bodies pass it, bodies that
break it are refused, and verdicts come from the complete list of invalid ids, never
from the sample of errors (PLATFORMS.md §1.3)."""

from __future__ import annotations

import pytest

from mercato.catalog import service as catalog
from mercato.catalog.schemas import ProductUpdate
from mercato.channels import sync
from mercato.channels.meta import client as meta_client
from mercato.db import transaction
from mercato.sandbox import meta as simulator
from mercato.sandbox.contracts import meta as contract
from tests.helpers import tee

from .test_sync_contract import fault, listings, platform_refuses_gtins, remote

SKUS = ("TEE-S", "TEE-M", "TEE-L", "TEE-XL")
ITEM = {
    "id": "SKU-1",
    "title": "Tee",
    "description": "Cotton tee",
    "availability": "in stock",
    "condition": "new",
    "price": "19.99 USD",
    "link": "https://shop.example.com/p/sku-1",
    "image_link": "https://shop.example.com/i/sku-1.jpg",
    "gtin": "4006381333931",
    "inventory": 7,
}


@pytest.fixture
def calls(monkeypatch):
    """Every request the Meta adapter makes, with the simulator's answer."""
    seen = []
    real = meta_client.send

    def spy(http, method, url, **kwargs):
        response = real(http, method, url, **kwargs)
        seen.append((method, url, kwargs, response.json()))
        return response

    monkeypatch.setattr(meta_client, "send", spy)
    return seen


def test_the_adapters_bodies_pass_the_sdk_contract(
    sessions, sandbox, make_products, make_channel, calls
):
    kept, gone = make_products(tee(), tee(handle="cap", skus=("CAP-1",)))
    channel_id = make_channel("meta")
    sync.publish(sessions, channel_id)
    sync.read_back(sessions, channel_id)
    with transaction(sessions) as session:
        catalog.update_product(session, gone.id, ProductUpdate(status="archived"))
    sync.publish(sessions, channel_id)
    sync.reconcile(sessions, channel_id)
    batches = [kw["json"] for method, url, kw, _ in calls if url.endswith("/items_batch")]
    assert len(batches) == 2
    for body in batches:
        assert contract.batch_errors(body) == []
        assert all(contract.request_errors(r) == [] for r in body["requests"])
    assert {r["method"] for b in batches for r in b["requests"]} == {"UPDATE", "DELETE"}
    statuses = [
        (kw["params"], answer)
        for _, url, kw, answer in calls
        if url.endswith("/check_batch_request_status")
    ]
    assert statuses
    for params, answer in statuses:
        assert contract.status_query_errors(params) == []
        assert params["load_ids_of_invalid_requests"] == "true"
        assert contract.status_response_errors(answer["data"][0]) == []
    reads = [kw["params"]["fields"] for _, url, kw, _ in calls if url.endswith("/products")]
    assert reads and all(set(f.split(",")) <= contract.READ_FIELDS for f in reads)


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"requests": [{"method": "UPDATE", "data": {**ITEM, "colour": "Blue"}}]}, "colour"),
        (
            {"requests": [{"method": "UPDATE", "data": {**ITEM, "availability": "instock"}}]},
            "availability",
        ),
        ({"requests": [{"method": "UPDATE", "data": {**ITEM, "inventory": "seven"}}]}, "inventory"),
        ({"requests": [{"method": "UPSERT", "data": ITEM}]}, "method"),
        ({"requests": [{"method": "DELETE", "data": {}}]}, "data.id"),
        ({"item_sub_type": "T_SHIRTS"}, "item_sub_type"),
        ({"operation": "UPDATE"}, "operation"),
        ({"item_type": "PRODUCT"}, "item_type"),
    ],
)
def test_a_body_that_breaks_the_contract_is_refused_whole(sandbox, change, why):
    body = {
        "item_type": "PRODUCT_ITEM",
        "allow_upsert": True,
        "requests": [{"method": "UPDATE", "data": ITEM}],
        **change,
    }
    response = sandbox.post(
        "/meta/v26.0/cat1/items_batch", headers={"Authorization": "Bearer t"}, json=body
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == 100 and why in error["message"]
    assert remote(sandbox, "meta") == {"items": {}, "items_received": 0}


def test_the_sdk_contract_accepts_the_documented_example():
    example = {
        "item_type": "PRODUCT_ITEM",
        "allow_upsert": True,
        "requests": [
            {"method": "UPDATE", "data": ITEM},
            {"method": "DELETE", "data": {"id": "SKU-OLD"}},
        ],
    }
    assert contract.batch_errors(example) == []
    assert [contract.request_errors(r) for r in example["requests"]] == [[], []]
    assert contract.status_query_errors({"handle": "h", "error_priority": "HIGH"}) == []
    assert contract.status_query_errors({"handle": "h", "error_priority": "URGENT"})


def test_verdicts_come_from_the_invalid_ids_not_the_sampled_errors(
    sessions, sandbox, make_products, make_channel, monkeypatch, calls
):
    [product] = make_products(tee(skus=SKUS))
    platform_refuses_gtins(sessions, product, "meta", monkeypatch)
    channel_id = make_channel("meta")
    sync.publish(sessions, channel_id)
    assert sync.read_back(sessions, channel_id).confirmed == 4
    [status] = [
        a["data"][0] for _, url, _, a in calls if url.endswith("check_batch_request_status")
    ]
    # Meta shows a sample: fewer errors than items refused; the id list is complete.
    assert len(status["errors"]) == simulator.ERRORS_SAMPLE < status["errors_total_count"] == 4
    assert len(status["ids_of_invalid_requests"]) == 4
    held = listings(sessions, channel_id).values()
    assert {x.verdict for x in held} == {"rejected"}
    sampled = [x for x in held if any("GTIN" in i["message"] for i in x.issues)]
    assert len(sampled) == simulator.ERRORS_SAMPLE
    assert all(x.issues for x in held)


def test_errors_counted_before_their_ids_are_loaded_are_polled_again(
    sessions, sandbox, make_products, make_channel, monkeypatch
):
    [product] = make_products(tee())
    platform_refuses_gtins(sessions, product, "meta", monkeypatch)
    channel_id = make_channel("meta")
    fault(sandbox, "meta", "ids_late")
    sync.publish(sessions, channel_id)
    first = sync.read_back(sessions, channel_id)
    assert (first.confirmed, first.still_pending) == (0, 2)
    assert {x.verdict for x in listings(sessions, channel_id).values()} == {"pending"}
    assert sync.read_back(sessions, channel_id).confirmed == 2
    assert {x.verdict for x in listings(sessions, channel_id).values()} == {"rejected"}


def test_a_batch_that_ends_in_error_approves_nothing_and_is_sent_again(
    sessions, sandbox, make_products, make_channel
):
    make_products(tee(skus=SKUS))
    channel_id = make_channel("meta")
    fault(sandbox, "meta", "batch_error")
    sync.publish(sessions, channel_id)
    assert len(remote(sandbox, "meta")["items"]) == 2  # it stopped half way
    result = sync.read_back(sessions, channel_id)
    assert (result.confirmed, result.resent) == (0, 4)
    held = listings(sessions, channel_id).values()
    assert {x.verdict for x in held} == {"pending"}
    assert all("status error" in x.issues[-1]["message"] for x in held)
    # The next publish sends all four again; then they are approved.
    assert sync.publish(sessions, channel_id).sent == 4
    sync.read_back(sessions, channel_id)
    assert {x.verdict for x in listings(sessions, channel_id).values()} == {"approved"}
    assert len(remote(sandbox, "meta")["items"]) == 4


def test_drift_compares_the_graph_read_schema_with_what_was_pushed(
    sessions, sandbox, make_products, make_channel
):
    make_products(tee())
    channel_id = make_channel("meta")
    sync.publish(sessions, channel_id)
    read = sandbox.get(
        "/meta/v26.0/cat1/products",
        params={"fields": meta_client.READ_FIELDS},
        headers={"Authorization": "Bearer t"},
    ).json()["data"][0]
    assert read["price"] == "$25.00" and read["currency"] == "USD" and "title" not in read
    result = sync.reconcile(sessions, channel_id)
    assert (result.missing, result.stale, result.extra) == (0, 0, 0)
    asked_title = sandbox.get(
        "/meta/v26.0/cat1/products",
        params={"fields": "retailer_id,title"},
        headers={"Authorization": "Bearer t"},
    )
    assert sandbox.get("/meta/v26.0/cat1/products").status_code == 400  # no token
    assert asked_title.status_code == 400 and "title" in asked_title.json()["error"]["message"]
