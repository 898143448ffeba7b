"""The inventory API: problems, idempotency and scopes."""

from datetime import timedelta

import pytest

from mercato.db import transaction, utcnow
from mercato.inventory import reservations
from mercato.inventory.schemas import ReservationLineInput
from mercato.jobs import registry
from tests.inventory.conftest import assert_ledger_balances, make_variants

PROBLEM = "application/problem+json"


@pytest.fixture
def stocked(client, admin, sessions):
    """MUG with 10 units and BOWL with 1, both at the default location."""
    ids = make_variants(sessions, "MUG", "BOWL", handle="tableware")
    for sku, units in (("MUG", 10), ("BOWL", 1)):
        response = client.post(
            "/api/v1/inventory/adjustments",
            headers=admin,
            json={"sku": sku, "on_hand": units, "reason": "count"},
        )
        assert response.status_code == 201, response.text
    return ids


def reserve(client, headers, *lines, **body):
    return client.post(
        "/api/v1/inventory/reservations",
        headers=headers,
        json={"lines": [{"sku": s, "quantity": q} for s, q in lines], **body},
    )


def test_stock_per_location_and_channel(client, admin, stocked):
    client.put(
        "/api/v1/inventory/locations/shop",
        headers=admin,
        json={"name": "Shop", "kind": "store", "priority": 3},
    )
    client.post(
        "/api/v1/inventory/adjustments",
        headers=admin,
        json={"sku": "MUG", "location": "shop", "quantity": 4, "kind": "receipt"},
    )
    client.put("/api/v1/inventory/channels/tiktok", headers=admin, json={"buffer": 5, "cap": 6})
    reserve(client, admin, ("MUG", 2))

    body = client.get("/api/v1/inventory", params={"sku": "MUG"}, headers=admin).json()
    assert (body["on_hand"], body["reserved"], body["available"]) == (14, 2, 12)
    assert body["variant_id"] == stocked["MUG"] and body["published"] == 12
    assert [
        (lv["location"], lv["on_hand"], lv["reserved"], lv["available"]) for lv in body["locations"]
    ] == [("default", 10, 2, 8), ("shop", 4, 0, 4)]
    assert body["channels"] == [{"channel": "tiktok", "buffer": 5, "cap": 6, "available": 6}]
    locations = client.get("/api/v1/inventory/locations", headers=admin).json()
    assert [(lc["code"], lc["priority"]) for lc in locations] == [("default", 0), ("shop", 3)]
    assert client.get("/api/v1/inventory/channels", headers=admin).json()[0]["buffer"] == 5


def test_adjustment_returns_the_new_level_and_its_movement(client, admin, stocked):
    response = client.post(
        "/api/v1/inventory/adjustments",
        headers=admin,
        json={"sku": "MUG", "quantity": -3, "reason": "dropped"},
    )
    assert response.status_code == 201
    body = response.json()
    assert (body["on_hand"], body["reserved"], body["location"]) == (7, 0, "default")
    movement = body["movement"]
    assert (movement["kind"], movement["quantity"], movement["on_hand_delta"]) == (
        "adjustment",
        3,
        -3,
    )
    assert movement["reason"] == "dropped" and movement["actor"].startswith("token:tok_")


def test_reservation_is_201_with_id_and_expiry(client, admin, stocked):
    response = reserve(
        client,
        admin,
        ("MUG", 2),
        ("BOWL", 1),
        channel="tiktok",
        reference="order-1",
        ttl_seconds=120,
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["id"].startswith("res_") and body["status"] == "active"
    assert body["channel"] == "tiktok" and body["reference"] == "order-1"
    assert 115 <= (_at(body["expires_at"]) - utcnow()).total_seconds() <= 120
    assert sorted((ln["sku"], ln["quantity"], ln["location"]) for ln in body["lines"]) == [
        ("BOWL", 1, "default"),
        ("MUG", 2, "default"),
    ]
    fetched = client.get(f"/api/v1/inventory/reservations/{body['id']}", headers=admin)
    assert fetched.json() == body


def test_a_paid_order_sells_at_once(client, admin, stocked):
    response = reserve(client, admin, ("MUG", 3), channel="tiktok", reference="tt-1", commit=True)
    assert response.status_code == 201
    assert response.json()["status"] == "committed"
    assert response.json()["settled_at"] is not None
    mug = client.get("/api/v1/inventory", params={"sku": "MUG"}, headers=admin).json()
    assert (mug["on_hand"], mug["reserved"]) == (7, 0)


def test_insufficient_stock_is_a_409_problem_naming_each_short_line(client, admin, stocked):
    response = reserve(client, admin, ("MUG", 2), ("BOWL", 3))
    assert response.status_code == 409
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["type"] == "/problems/insufficient-stock"
    assert body["lines"] == [
        {"sku": "BOWL", "variant_id": stocked["BOWL"], "requested": 3, "available": 1}
    ]
    assert body["errors"] == [
        {
            "loc": ["lines", 1, "quantity"],
            "field": "lines[1].quantity",
            "message": "3 requested, 1 available",
            "code": "insufficient_stock",
        }
    ]
    mug = client.get("/api/v1/inventory", params={"sku": "MUG"}, headers=admin).json()
    assert mug["reserved"] == 0


def test_commit_release_and_extend(client, admin, stocked):
    sold = reserve(client, admin, ("MUG", 3)).json()
    freed = reserve(client, admin, ("MUG", 2)).json()
    kept = reserve(client, admin, ("MUG", 1), ttl_seconds=60).json()
    base = "/api/v1/inventory/reservations"
    committed = client.post(f"{base}/{sold['id']}/commit", headers=admin)
    assert committed.status_code == 200 and committed.json()["status"] == "committed"
    assert [ln["state"] for ln in committed.json()["lines"]] == ["sold"]
    assert (
        client.post(f"{base}/{freed['id']}/release", headers=admin).json()["status"] == "released"
    )
    extended = client.post(
        f"{base}/{kept['id']}/extend", headers=admin, json={"ttl_seconds": 3600}
    ).json()
    assert _at(extended["expires_at"]) - utcnow() > timedelta(minutes=59)
    again = client.post(f"{base}/{sold['id']}/release", headers=admin)
    assert again.status_code == 409 and again.json()["reservation_status"] == "committed"
    assert client.post(f"{base}/res_nope/commit", headers=admin).status_code == 404
    mug = client.get("/api/v1/inventory", params={"sku": "MUG"}, headers=admin).json()
    assert (mug["on_hand"], mug["reserved"]) == (7, 1)
    assert_ledger_balances(client.app.state.sessions.write)


def test_committing_an_expired_reservation_is_a_409(client, admin, stocked, sessions):
    with transaction(sessions) as session:
        lapsed = reservations.reserve(
            session,
            [ReservationLineInput(sku="MUG", quantity=4)],
            ttl_seconds=60,
            now=utcnow() - timedelta(hours=1),
        )
    response = client.post(f"/api/v1/inventory/reservations/{lapsed.id}/commit", headers=admin)
    assert response.status_code == 409
    assert response.json()["type"] == "/problems/reservation-expired"
    mug = client.get("/api/v1/inventory", params={"sku": "MUG"}, headers=admin).json()
    assert (mug["on_hand"], mug["reserved"], mug["available"]) == (10, 0, 10)


def test_the_same_reference_replays_with_200(client, admin, stocked):
    first = reserve(client, admin, ("BOWL", 1), reference="cart-7")
    again = reserve(client, admin, ("BOWL", 1), reference="cart-7")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    other = reserve(client, admin, ("MUG", 1), reference="cart-7")
    assert other.status_code == 409 and other.json()["reservation_id"] == first.json()["id"]


def test_idempotency_key_is_the_reference_when_none_is_given(client, admin, stocked):
    headers = {**admin, "Idempotency-Key": "checkout-42"}
    first = reserve(client, headers, ("BOWL", 1))
    assert first.status_code == 201 and first.json()["reference"] == "checkout-42"
    retried = reserve(client, headers, ("BOWL", 1))
    assert retried.status_code == 201 and retried.json()["id"] == first.json()["id"]
    # Even without the stored response (another token), the reference finds it.
    other_token = reserve(client, {**_token(client), "Idempotency-Key": "checkout-42"}, ("BOWL", 1))
    assert other_token.status_code == 200 and other_token.json()["id"] == first.json()["id"]
    bowl = client.get("/api/v1/inventory", params={"sku": "BOWL"}, headers=admin).json()
    assert bowl["reserved"] == 1


def _token(client) -> dict[str, str]:
    from mercato.auth import service as auth_service

    with transaction(client.app.state.sessions.write) as session:
        secret = auth_service.create_token(session, "shop", ["inventory:write"]).secret
    return {"Authorization": f"Bearer {secret}"}


@pytest.mark.parametrize(
    "body, loc",
    [
        ({"lines": [{"sku": "MUG", "quantity": 0}]}, ["body", "lines", 0, "quantity"]),
        ({"lines": []}, ["body", "lines"]),
        ({"lines": [{"sku": "MUG", "quantity": 1}], "ttl_seconds": 0}, ["body", "ttl_seconds"]),
        (
            {"lines": [{"sku": "MUG", "quantity": 1}], "allocation": "random"},
            ["body", "allocation"],
        ),
        ({"lines": [{"quantity": 1}]}, ["body", "lines", 0]),
        ({"lines": [{"sku": "MUG", "quantity": 1}], "channel": "no spaces"}, ["body", "channel"]),
    ],
)
def test_bad_reservations_are_422_with_field_errors(client, admin, stocked, body, loc):
    response = client.post("/api/v1/inventory/reservations", headers=admin, json=body)
    assert response.status_code == 422
    assert response.json()["type"] == "/problems/validation-error"
    assert [e["loc"] for e in response.json()["errors"]] == [loc]


def test_unknown_skus_are_422_naming_the_line(client, admin, stocked):
    response = reserve(client, admin, ("MUG", 1), ("NOPE", 1))
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["lines", 1, "sku"]


@pytest.mark.parametrize(
    "body",
    [
        {"sku": "MUG", "quantity": 1, "on_hand": 3},
        {"sku": "MUG"},
        {"sku": "MUG", "quantity": 0},
        {"sku": "MUG", "quantity": -1, "kind": "receipt"},
        {"sku": "MUG", "on_hand": -1},
        {"variant_id": "var_x", "sku": "MUG", "quantity": 1},
    ],
)
def test_bad_adjustments_are_422(client, admin, stocked, body):
    response = client.post("/api/v1/inventory/adjustments", headers=admin, json=body)
    assert response.status_code == 422, response.text
    assert response.json()["errors"]


def test_adjusting_below_held_units_is_a_409(client, admin, stocked):
    reserve(client, admin, ("MUG", 8))
    response = client.post(
        "/api/v1/inventory/adjustments", headers=admin, json={"sku": "MUG", "on_hand": 5}
    )
    assert response.status_code == 409
    assert response.json()["type"] == "/problems/insufficient-stock"


def test_unknown_sku_is_404(client, admin, stocked):
    response = client.get("/api/v1/inventory", params={"sku": "NOPE"}, headers=admin)
    assert response.status_code == 404 and response.headers["content-type"] == PROBLEM
    assert client.get("/api/v1/inventory", headers=admin).status_code == 422


def test_scopes(client, make_token, stocked):
    read, write, catalog = (
        make_token("inventory:read"),
        make_token("inventory:write"),
        make_token("catalog:write"),
    )
    assert client.get("/api/v1/inventory", params={"sku": "MUG"}).status_code == 401
    assert (
        client.get("/api/v1/inventory", params={"sku": "MUG"}, headers=catalog).status_code == 403
    )
    assert client.get("/api/v1/inventory", params={"sku": "MUG"}, headers=read).status_code == 200
    denied = reserve(client, read, ("MUG", 1))
    assert denied.status_code == 403
    assert denied.json()["required_scope"] == "inventory:write"
    assert reserve(client, write, ("MUG", 1)).status_code == 201
    for path in ("/api/v1/inventory/adjustments", "/api/v1/inventory/reservations/x/commit"):
        assert client.post(path, json={}).status_code == 401
        assert client.post(path, json={}, headers=read).status_code == 403
    assert (
        client.put(
            "/api/v1/inventory/channels/tiktok", json={"buffer": 1}, headers=read
        ).status_code
        == 403
    )


def _at(value: str):
    from datetime import datetime

    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def test_the_scheduled_sweeper_marks_lapsed_reservations_expired(client, admin, stocked, sessions):
    registry.load_all()
    assert registry.SCHEDULES["inventory.sweep_expired"].interval == timedelta(minutes=1)
    held = reserve(client, admin, ("MUG", 2), ttl_seconds=60).json()
    url = f"/api/v1/inventory/reservations/{held['id']}"
    sweep = registry.TASKS["inventory.sweep_expired"].fn

    sweep(registry.JobContext("job", 1, utcnow(), sessions, sessions))
    assert client.get(url, headers=admin).json()["status"] == "active"  # not lapsed yet
    later = utcnow() + timedelta(seconds=61)
    sweep(registry.JobContext("job", 1, later, sessions, sessions))
    assert client.get(url, headers=admin).json()["status"] == "expired"
    assert_ledger_balances(sessions)
