"""Text no database can store (NUL, lone surrogates) is a 422 on every route, never a 500."""

from __future__ import annotations

import pytest

from mercato.money import MAX_AMOUNT
from tests.catalog.test_products_api import tee
from tests.checkout.helpers import make_shop

PROBLEM = "application/problem+json"


def _fields(response) -> list[str]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM
    return [error["field"] for error in response.json()["errors"]]


def test_nul_in_a_json_body_is_refused_with_its_field(client, admin):
    response = client.post("/api/v1/products", json=tee(title="Tee\x00"), headers=admin)
    assert _fields(response) == ["body.title"]
    assert client.get("/api/v1/products", headers=admin).json()["items"] == []


def test_lone_surrogate_in_json_is_refused(client, admin):
    body = b'{"handle": "tee", "title": "\\ud800", "variants": []}'
    response = client.post(
        "/api/v1/products",
        content=body,
        headers={**admin, "content-type": "application/json"},
    )
    assert _fields(response) == ["body.title"]


def test_an_escaped_backslash_before_u0000_is_ordinary_text(client, admin):
    response = client.post("/api/v1/products", json=tee(title="C:\\u0000 path"), headers=admin)
    assert response.status_code == 201, response.text
    assert response.json()["title"] == "C:\\u0000 path"


def test_nul_in_query_and_path_on_unauthenticated_routes(client):
    assert _fields(client.get("/api/v1/checkouts/abc%00def")) == ["path"]
    assert _fields(client.get("/shop", params={"q": "a\x00"})) == ["query.q"]


def test_nul_in_a_form_post_is_refused(client):
    response = client.post("/admin/login", data={"token": "mct_\x00"})
    assert _fields(response) == ["body.token"]


def test_nul_with_an_idempotency_key_claims_no_key(client, admin):
    headers = {**admin, "Idempotency-Key": "k1"}
    refused = client.post("/api/v1/products", json=tee(title="T\x00"), headers=headers)
    assert refused.status_code == 422
    accepted = client.post("/api/v1/products", json=tee(), headers=headers)
    assert accepted.status_code == 201, accepted.text


@pytest.mark.parametrize("price", [2_147_483_648, 10**15, MAX_AMOUNT])
def test_prices_beyond_32_bits_are_stored(client, admin, price):
    product = tee(skus=("BIG-1",))
    product["variants"][0].update(price=price, compare_at_price=None)
    response = client.post("/api/v1/products", json=product, headers=admin)
    assert response.status_code == 201, response.text
    stored = client.get(f"/api/v1/products/{response.json()['id']}", headers=admin).json()
    assert stored["variants"][0]["price"] == price


def test_a_price_beyond_the_column_is_refused(client, admin):
    product = tee(skus=("BIG-1",))
    product["variants"][0]["price"] = MAX_AMOUNT + 1
    assert _fields(client.post("/api/v1/products", json=product, headers=admin)) == [
        "body.variants[0].price"
    ]


def test_an_order_total_beyond_the_column_is_refused(client, admin):
    line = {"title": "Gold bar", "quantity": 2, "unit_price": MAX_AMOUNT // 2 + 1}
    response = client.post("/api/v1/orders", json={"lines": [line]}, headers=admin)
    assert _fields(response) == ["lines"]
    assert client.get("/api/v1/orders", headers=admin).json()["items"] == []


def test_a_big_order_total_is_stored(client, admin):
    line = {"title": "Gold bar", "quantity": 3, "unit_price": 10**12}
    response = client.post("/api/v1/orders", json={"lines": [line]}, headers=admin)
    assert response.status_code == 201, response.text
    assert response.json()["total"] == 3 * 10**12


def test_a_checkout_total_beyond_the_column_is_refused(client, sessions):
    make_shop(sessions, price=MAX_AMOUNT // 2 + 1)
    response = client.post(
        "/api/v1/checkouts", json={"lines": [{"sku": "HOODIE-M", "quantity": 2}]}
    )
    assert _fields(response) == ["lines"]
