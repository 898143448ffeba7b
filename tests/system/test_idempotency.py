"""Idempotency-Key on POST requests: a retried request never does its work twice."""

from sqlalchemy import func, select

from mercato.catalog.models import Product


def product(handle="mug", sku="MUG-1"):
    return {"handle": handle, "title": "Mug", "variants": [{"sku": sku, "price": 900}]}


def count_products(sessions):
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(Product))


def test_a_retry_with_the_same_key_replays_the_first_response(client, admin, sessions):
    headers = {**admin, "Idempotency-Key": "create-mug-1"}
    first = client.post("/api/v1/products", json=product(), headers=headers)
    again = client.post("/api/v1/products", json=product(), headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert count_products(sessions) == 1


def test_the_same_key_with_another_request_is_refused(client, admin, sessions):
    headers = {**admin, "Idempotency-Key": "k-2"}
    assert client.post("/api/v1/products", json=product(), headers=headers).status_code == 201
    other = client.post("/api/v1/products", json=product("cup", "CUP-1"), headers=headers)
    assert other.status_code == 422
    assert other.json()["type"] == "/problems/idempotency-key-reused"
    assert count_products(sessions) == 1


def test_keys_belong_to_one_token(client, make_token, sessions):
    one = {**make_token("catalog:write"), "Idempotency-Key": "shared"}
    two = {**make_token("catalog:write"), "Idempotency-Key": "shared"}
    assert client.post("/api/v1/products", json=product(), headers=one).status_code == 201
    # Another token's identical key does not replay the first token's response.
    assert client.post("/api/v1/products", json=product(), headers=two).status_code == 409


def test_client_errors_are_replayed_too_and_server_errors_are_not_kept(client, admin):
    headers = {**admin, "Idempotency-Key": "bad-1"}
    bad = {"title": "No variants", "variants": []}
    first = client.post("/api/v1/products", json=bad, headers=headers)
    assert first.status_code == 422
    again = client.post("/api/v1/products", json=bad, headers=headers)
    assert again.status_code == 422 and again.headers["idempotent-replayed"] == "true"


def test_requests_without_a_key_are_untouched(client, admin, sessions):
    assert client.post("/api/v1/products", json=product(), headers=admin).status_code == 201
    assert client.post("/api/v1/products", json=product(), headers=admin).status_code == 409
