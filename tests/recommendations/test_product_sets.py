"""A segment's product set on a Meta catalog: the products its members are most likely
to buy (personal lists only for those who agreed), kept up to date on Meta's side."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from mercato.catalog.models import Product
from mercato.channels.models import Listing
from mercato.config import get_settings
from mercato.customers import consent
from mercato.db import transaction
from mercato.jobs import registry
from mercato.jobs.models import Job
from mercato.recommendations import product_sets, training
from tests.recommendations.conftest import NOW

TOKEN = {"Authorization": "Bearer meta-token"}


@pytest.fixture
def shop(sandbox, make_channel, sessions, history):
    """History: Ann (who agreed to personalisation) buys tea and a kettle, Bob (who did
    not) a grinder, guests espresso most of all. Everything active is listed on Meta but
    the filters, which Meta refused."""
    history.customer("ann", personalisation=True)
    history.customer("bob")
    for days in (30, 20, 10):
        history.order("tea", "kettle", customer="ann", days_ago=days)
        history.order("grinder", customer="bob", days_ago=days)
    for _ in range(4):
        history.order("espresso")
    training.train(sessions, NOW)
    channel_id = make_channel("meta")
    with transaction(sessions) as session:
        for handle, product_id in history.products.items():
            if session.get(Product, product_id).status != "active":
                continue
            sku = handle.upper()
            verdict = "rejected" if handle == "filters" else "approved"
            session.add(
                Listing(
                    channel_id=channel_id,
                    variant_id=history.variants[handle],
                    product_id=product_id,
                    item_id=sku,
                    verdict=verdict,
                )
            )
            sandbox.put(f"/meta/_sandbox/items/{sku}", json={"title": handle})
    return channel_id


def _segment(client, admin) -> str:
    body = {"name": "Buyers", "filters": {"min_orders": 1}}
    response = client.post("/api/v1/segments", json=body, headers=admin)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def _on_meta(sandbox, set_id: str) -> set[str]:
    version = get_settings().meta_graph_version
    answer = sandbox.get(
        f"/meta/{version}/{set_id}/products", params={"fields": "retailer_id"}, headers=TOKEN
    ).json()
    if "error" in answer:
        return {answer["error"]["message"]}
    return {item["retailer_id"] for item in answer["data"]}


def _run(job_context, name: str, **args) -> None:
    registry.TASKS[name].fn(job_context, **args)


def test_a_segments_set_holds_what_its_members_would_buy_and_follows_consent(
    client, admin, sessions, sandbox, shop, history, job_context
):
    segment_id = _segment(client, admin)
    body = {"channel_id": shop, "segment_id": segment_id, "size": 3}
    created = client.post("/api/v1/recommendations/product-sets", json=body, headers=admin)
    assert created.status_code == 201, created.text
    assert created.json()["status"] == "pending" and created.json()["name"] == (
        "Buyers: picked for them"
    )
    again = client.post("/api/v1/recommendations/product-sets", json=body, headers=admin)
    assert again.status_code == 409

    _run(job_context, product_sets.PUSH_JOB)
    [pushed] = client.get("/api/v1/recommendations/product-sets", headers=admin).json()
    assert pushed["status"] == "synced" and pushed["external_id"]
    # Ann's own products first, then what sells; never Bob's grinder from his history
    # (he did not agree), never an item Meta refused.
    assert _on_meta(sandbox, pushed["external_id"]) == {"TEA", "KETTLE", "ESPRESSO"}
    assert set(pushed["item_ids"]) == {"TEA", "KETTLE", "ESPRESSO"}

    # Nothing changed: nothing is sent again.
    _run(job_context, product_sets.PUSH_JOB)
    [same] = client.get("/api/v1/recommendations/product-sets", headers=admin).json()
    assert same["pushed_at"] == pushed["pushed_at"]

    # Ann withdraws: her history no longer picks the set; what sells fills it.
    with transaction(sessions) as session:
        consent.record(
            session,
            history.customers["ann"],
            consent.Need("personalisation"),
            False,
            source="api",
            wording="No more picks for me",
        )
    _run(job_context, product_sets.PUSH_JOB)
    [after] = client.get("/api/v1/recommendations/product-sets", headers=admin).json()
    assert after["external_id"] == pushed["external_id"]  # the same set, its filter replaced
    assert _on_meta(sandbox, after["external_id"]) == set(after["item_ids"])
    assert "ESPRESSO" in after["item_ids"] and after["item_ids"] != pushed["item_ids"]

    # Removed: gone here at once, from Meta by the worker.
    gone = client.delete(f"/api/v1/recommendations/product-sets/{after['id']}", headers=admin)
    assert gone.status_code == 204
    with sessions() as session:
        job = session.scalars(select(Job).where(Job.name == product_sets.DELETE_JOB)).one()
    _run(job_context, product_sets.DELETE_JOB, **job.args)
    version = get_settings().meta_graph_version
    twice = sandbox.delete(f"/meta/{version}/{after['external_id']}", headers=TOKEN)
    assert "does not exist" in twice.json()["error"]["message"]


def test_only_a_meta_channel_takes_a_product_set_and_a_refusal_is_shown(
    client, admin, sandbox, shop, make_channel, job_context
):
    segment_id = _segment(client, admin)
    google = make_channel("google")
    refused = client.post(
        "/api/v1/recommendations/product-sets",
        json={"channel_id": google, "segment_id": segment_id},
        headers=admin,
    )
    assert refused.status_code == 422 and "channel_id" in refused.text
    unknown = client.post(
        "/api/v1/recommendations/product-sets",
        json={"channel_id": shop, "segment_id": "seg_nope"},
        headers=admin,
    )
    assert unknown.status_code == 404

    body = {"channel_id": shop, "segment_id": segment_id}
    assert client.post("/api/v1/recommendations/product-sets", json=body, headers=admin).is_success
    sandbox.post("/meta/_sandbox/faults", json={"kind": "expired_token", "count": 5})
    _run(job_context, product_sets.PUSH_JOB)
    [failed] = client.get("/api/v1/recommendations/product-sets", headers=admin).json()
    assert failed["status"] == "failed" and failed["external_id"] is None
    assert "expired" in failed["last_error"].lower()


def test_the_simulator_refuses_what_meta_refuses(sandbox):
    version = get_settings().meta_graph_version
    path = f"/meta/{version}/cat1/product_sets"
    no_name = sandbox.post(path, json={"filter": '{"retailer_id":{"is_any":["A"]}}'}, headers=TOKEN)
    assert no_name.status_code == 400 and "name is required" in no_name.text
    bad_field = sandbox.post(
        path, json={"name": "x", "filter": '{"colour":{"is_any":["A"]}}'}, headers=TOKEN
    )
    assert "colour is not a field" in bad_field.text
    unknown_param = sandbox.post(path, json={"name": "x", "items": ["A"]}, headers=TOKEN)
    assert "items is not a valid parameter" in unknown_param.text
    missing = sandbox.post(f"/meta/{version}/123", json={"name": "y"}, headers=TOKEN)
    assert missing.json()["error"]["code"] == 100


def test_the_dashboard_adds_shows_and_removes_a_product_set(
    client, admin, sessions, sandbox, shop, job_context
):
    from tests.helpers import csrf_of, signed_in

    segment_id = _segment(client, admin)
    editor = signed_in(client, sessions, "recommendations:write", name="mia")
    page = editor.get("/admin/recommendations").text
    assert "No product sets" in page and 'value="meta"' not in page  # names, not ids
    csrf = csrf_of(page)
    added = editor.post(
        "/admin/recommendations/product-sets",
        data={"csrf": csrf, "segment_id": segment_id, "channel_id": shop, "size": "2"},
        follow_redirects=True,
    ).text
    assert "Product set Buyers: picked for them added" in added
    _run(job_context, product_sets.PUSH_JOB)
    page = editor.get("/admin/recommendations").text
    assert "2 of 2 (2 items)" in page and "status-synced" in page
    refused = editor.post(
        "/admin/recommendations/product-sets",
        data={"csrf": csrf, "segment_id": segment_id, "channel_id": shop},
        follow_redirects=True,
    ).text
    assert "has a product set for Buyers already" in refused
