"""What the merchant does reaches the platform (with an idempotency key), and stock comes
back on cancellation and returns."""

from __future__ import annotations

from mercato.sandbox import orders as sandbox_orders
from mercato.sandbox.orders import DeliverIn, OrderIn

from .conftest import on_hand

PROVIDERS = {p["name"]: p["id"] for p in sandbox_orders.PROVIDERS}


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
        json={"carrier": "usps", "tracking_number": "9400100000000000000000"},
    )
    drain()
    shipments = [r for r in received(shop, "tiktok", placed["id"]) if r["type"] == "fulfillment"]
    assert [s["body"]["tracking_number"] for s in shipments] == [
        "1Z999AA10123456784",
        "9400100000000000000000",
    ]
    # Each unit is a line item: one id per shipped unit, and the provider's id, not a name.
    line_ids = [s["body"]["order_line_item_ids"] for s in shipments]
    assert [len(ids) for ids in line_ids] == [1, 1] and line_ids[0] != line_ids[1]
    assert {i for ids in line_ids for i in ids} == {i["id"] for i in placed["line_items"]}
    assert [s["body"]["shipping_provider_id"] for s in shipments] == [
        PROVIDERS["UPS"],
        PROVIDERS["USPS"],
    ]
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
    [cancelled] = received(shop, "tiktok", placed["id"])
    # The merchant's words chose a reason code TikTok takes for an order awaiting shipment.
    assert cancelled["type"] == "cancellation"
    assert cancelled["body"]["cancel_reason"] == (
        "seller_cancel_paid_reason_buyer_requested_cancellation"
    )


def test_a_return_is_requested_received_restocked_and_refunded(
    shop, sessions, drain, client, admin
):
    placed, order = _import(shop, drain, "tiktok", client, admin)
    line = order["lines"][0]
    client.post(
        f"/api/v1/orders/{order['id']}/fulfillments",
        headers=admin,
        json={"carrier": "UPS", "tracking_number": "1Z999AA10123456784"},
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
    # A refund is a Create Return of type REFUND, for one shipped unit, with a reason code.
    [refund] = [r for r in received(shop, "tiktok", placed["id"]) if r["type"] == "return"]
    assert refund["body"]["refund_total"] == "25.00" and refund["body"]["return_type"] == "REFUND"
    assert len(refund["body"]["order_line_item_ids"]) == 1
    assert refund["body"]["return_reason"] in sandbox_orders.RETURN_REASONS
    assert refund["key"].startswith("mercato-refund-")


def test_a_push_retried_after_a_platform_outage_is_sent_once(shop, drain, client, admin, clock):
    from datetime import timedelta

    placed, order = _import(shop, drain, "tiktok", client, admin)
    from mercato.channels import http as channel_http
    from mercato.channels.tiktok import api as tiktok_api

    lost = []
    real = channel_http.send

    def flaky(http, method, url, **kwargs):
        response = real(http, method, url, **kwargs)
        if url.endswith("/packages") and not lost:
            lost.append(url)  # delivered, but the answer is lost
            raise channel_http.PlatformUnavailable("timeout")
        return response

    import pytest

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(tiktok_api, "send", flaky)
        client.post(
            f"/api/v1/orders/{order['id']}/fulfillments",
            headers=admin,
            json={"carrier": "UPS", "tracking_number": "1Z999AA10123456784"},
        )
        drain()
        clock.offset += timedelta(minutes=2)  # the retry comes due
        drain()
    shipments = [r for r in received(shop, "tiktok", placed["id"]) if r["type"] == "fulfillment"]
    assert len(shipments) == 1 and lost
    detail = client.get(f"/api/v1/orders/{order['id']}", headers=admin).json()
    assert [a["kind"] for a in detail["timeline"]].count("pushed") == 1


def test_a_carrier_tiktok_does_not_know_is_refused_with_the_ones_it_does(
    shop, drain, client, admin
):
    placed, order = _import(shop, drain, "tiktok", client, admin)
    client.post(
        f"/api/v1/orders/{order['id']}/fulfillments",
        headers=admin,
        json={"carrier": "Royal Mail", "tracking_number": "RM1"},
    )
    drain()
    assert received(shop, "tiktok", placed["id"]) == []
    detail = client.get(f"/api/v1/orders/{order['id']}", headers=admin).json()
    [refused] = [a for a in detail["timeline"] if a["kind"] == "push_refused"]
    assert "no shipping provider named 'Royal Mail'" in refused["message"]
    assert "UPS, USPS, FedEx" in refused["message"]
