"""What the merchant does reaches the platform (with an idempotency key), and stock comes
back on cancellation and returns."""

from __future__ import annotations

from mercato.sandbox.orders import DeliverIn, OrderIn

from .conftest import on_hand


def _import(shop, drain, kind, client, admin, **order):
    _, book = shop.connect(kind)
    placed = book.place(OrderIn(lines=[{"sku": "TEE-S", "quantity": 2}], **order))
    book.deliver(DeliverIn())
    drain()
    [found] = client.get("/api/v1/orders", headers=admin).json()["items"]
    return placed, found


def received(shop, kind, external_id):
    return shop.sim.get(f"/{kind}/_sandbox/orders/{external_id}").json()["received"]


def test_a_fulfilment_reaches_the_simulator_with_its_tracking_number(shop, drain, client, admin):
    placed, order = _import(shop, drain, "tiktok", client, admin)
    line = order["lines"][0]
    first = client.post(
        f"/api/v1/orders/{order['id']}/fulfillments",
        headers=admin,
        json={
            "lines": [{"line_id": line["id"], "quantity": 1}],
            "carrier": "UPS",
            "tracking_number": "1Z999AA10123456784",
        },
    )
    assert first.status_code == 201, first.text
    client.post(
        f"/api/v1/orders/{order['id']}/fulfillments",
        headers=admin,
        json={"carrier": "DHL", "tracking_number": "JD0002"},
    )
    drain()
    shipments = [r for r in received(shop, "tiktok", placed["id"]) if r["type"] == "fulfillment"]
    assert [s["body"]["tracking_number"] for s in shipments] == [
        "1Z999AA10123456784",
        "JD0002",
    ]
    assert [s["body"]["items"][0]["quantity"] for s in shipments] == [1, 1]
    assert all(s["key"].startswith("mercato-ship-") for s in shipments)
    detail = client.get(f"/api/v1/orders/{order['id']}", headers=admin).json()
    assert detail["status"] == "completed"
    assert sum(a["kind"] == "pushed" for a in detail["timeline"]) == 2


def test_cancelling_restocks_and_tells_the_platform(shop, sessions, drain, client, admin):
    placed, order = _import(shop, drain, "tiktok", client, admin)
    assert on_hand(sessions, "TEE-S") == (3, 0)
    response = client.post(
        f"/api/v1/orders/{order['id']}/cancel",
        headers=admin,
        json={"reason": "buyer asked", "restock": True},
    )
    assert response.json()["status"] == "cancelled"
    drain()
    assert on_hand(sessions, "TEE-S") == (5, 0)
    assert [r["type"] for r in received(shop, "tiktok", placed["id"])] == ["cancellation"]


def test_a_return_is_requested_received_restocked_and_refunded(
    shop, sessions, drain, client, admin
):
    placed, order = _import(shop, drain, "tiktok", client, admin)
    line = order["lines"][0]
    client.post(
        f"/api/v1/orders/{order['id']}/fulfillments", headers=admin, json={"carrier": "UPS"}
    )
    too_many = client.post(
        f"/api/v1/orders/{order['id']}/returns",
        headers=admin,
        json={"lines": [{"line_id": line["id"], "quantity": 3}]},
    )
    assert too_many.status_code == 422
    made = client.post(
        f"/api/v1/orders/{order['id']}/returns",
        headers=admin,
        json={"lines": [{"line_id": line["id"], "quantity": 1}], "reason": "too small"},
    ).json()
    assert made["status"] == "requested"
    early = client.post(f"/api/v1/orders/{order['id']}/returns/{made['id']}/refund", headers=admin)
    assert early.status_code == 409
    assert (
        client.post(
            f"/api/v1/orders/{order['id']}/returns/{made['id']}/receive", headers=admin
        ).json()["status"]
        == "received"
    )
    assert on_hand(sessions, "TEE-S") == (4, 0)
    refunded = client.post(
        f"/api/v1/orders/{order['id']}/returns/{made['id']}/refund", headers=admin
    ).json()
    assert refunded["status"] == "refunded" and refunded["refund_id"]
    drain()
    detail = client.get(f"/api/v1/orders/{order['id']}", headers=admin).json()
    assert detail["refunded_total"] == 2500 and detail["payment_status"] == "partially_refunded"
    refunds = [r for r in received(shop, "tiktok", placed["id"]) if r["type"] == "refund"]
    assert [r["body"]["amount"] for r in refunds] == [2500]


def test_a_push_retried_after_a_platform_outage_is_sent_once(shop, drain, client, admin, clock):
    from datetime import timedelta

    placed, order = _import(shop, drain, "tiktok", client, admin)
    from mercato.channels import http as channel_http
    from mercato.channels.tiktok import orders as tiktok_orders

    calls = {"n": 0}
    real = channel_http.send

    def flaky(http, method, url, **kwargs):
        calls["n"] += 1
        if calls["n"] == 1:
            real(http, method, url, **kwargs)  # delivered, but the answer is lost
            raise channel_http.PlatformUnavailable("timeout")
        return real(http, method, url, **kwargs)

    import pytest

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(tiktok_orders, "send", flaky)
        client.post(
            f"/api/v1/orders/{order['id']}/fulfillments",
            headers=admin,
            json={"carrier": "USPS", "tracking_number": "PIN-1"},
        )
        drain()
        clock.offset += timedelta(minutes=2)  # the retry comes due
        drain()
    shipments = [r for r in received(shop, "tiktok", placed["id"]) if r["type"] == "fulfillment"]
    assert len(shipments) == 1 and calls["n"] == 2
