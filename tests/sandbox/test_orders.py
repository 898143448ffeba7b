"""The order side of the TikTok Shop simulator: buyers buy only the stock Mercato pushed;
every order route checks the request; ship, cancel and returns take only what TikTok
takes; signed webhooks with injected faults. Meta and Pinterest have no order API, so
their simulators serve none."""

import orjson
import pytest

from mercato.channels.tiktok import orders as tiktok
from mercato.sandbox import cdn, orders
from mercato.sandbox.tiktok import create_app

from .test_tiktok import Shop

UPS = orders.PROVIDERS[0]["id"]


@pytest.fixture
def shop():
    """The shop with one live product (TEE-S and TEE-M, 2 units each) and its orders."""
    app = create_app()
    book = orders.install("tiktok", app)
    shop = Shop(app)
    uri = shop.upload(cdn.png("tee")).json()["data"]["uri"]
    assert shop.call("POST", "/product/202309/products", shop.product(uri)).json()["code"] == 0
    shop.book = book
    return shop


def place(shop, **order):
    return shop.client.post("/_sandbox/orders", json={"lines": [{"sku": "TEE-S"}], **order})


def test_only_tiktok_has_an_order_book(sandbox):
    assert set(sandbox.app.state.order_books) == {"tiktok"}
    for kind in ("meta", "pinterest"):
        placed = sandbox.post(f"/{kind}/_sandbox/orders", json={"lines": [{"sku": "A"}]})
        assert placed.status_code in (404, 405)
    assert sandbox.get("/meta/cms1/commerce_orders").status_code in (400, 404)
    assert sandbox.get("/pinterest/v5/commerce/orders").status_code == 404


def test_buyers_buy_only_the_stock_the_shop_was_given(shop):
    assert place(shop, lines=[{"sku": "TEE-S", "quantity": 3}]).status_code == 409
    assert place(shop, lines=[{"sku": "NEVER-PUSHED"}]).status_code == 409
    placed = place(shop, lines=[{"sku": "TEE-S", "quantity": 2}]).json()
    assert len(placed["line_items"]) == 2  # one line item a unit
    assert place(shop).json() == {"error": "SKU TEE-S: 1 wanted, 0 in stock"}
    # A cancelled order gives its units back.
    shop.client.post(f"/_sandbox/orders/{placed['id']}/status", json={"status": "CANCELLED"})
    assert place(shop).status_code == 200


def test_every_order_route_checks_the_request(shop):
    order_id = place(shop).json()["id"]
    for method, path, params in (
        ("GET", "/order/202309/orders", {"ids": order_id}),
        ("POST", "/order/202309/orders/search", {"page_size": "10"}),
        ("POST", f"/fulfillment/202309/orders/{order_id}/packages", {}),
        ("POST", "/return_refund/202309/cancellations", {}),
        ("POST", "/return_refund/202309/returns", {}),
        (
            "GET",
            f"/logistics/202309/delivery_options/{orders.DELIVERY_OPTION}/shipping_providers",
            {},
        ),
    ):
        assert (
            shop.call(method, path, {}, timestamp="1623812664", **params).json()["code"] == 106002
        )
        assert shop.call(method, path, {}, headers={}, **params).json()["code"] == 105001
        assert shop.call(method, path, {}, secret="nope", **params).json()["code"] == 106001
        assert shop.call(method, path, {}, shop_cipher=None, **params).json()["code"] == 106012
    assert shop.call("POST", "/order/202309/orders/search", {}).status_code == 400  # page_size


def test_orders_read_in_tiktok_shape(shop):
    unpaid = place(shop, status="UNPAID").json()["id"]
    paid = place(shop).json()["id"]
    found = shop.call("GET", "/order/202309/orders", ids=f"{unpaid},{paid}").json()["data"]
    by_id = {o["id"]: o for o in found["orders"]}
    assert "recipient_address" not in by_id[unpaid]  # not given while unpaid
    address = by_id[paid]["recipient_address"]
    assert "city" not in address and "state" not in address
    assert {d["address_level_name"]: d["address_name"] for d in address["district_info"]} == {
        "Country": "United States",
        "State": "Texas",
        "County": "Travis",
        "City": "Austin",
    }
    assert all("quantity" not in item for item in by_id[paid]["line_items"])


def test_ship_needs_line_items_a_provider_id_and_a_tracking_number(shop):
    order = place(shop, lines=[{"sku": "TEE-S", "quantity": 2}]).json()
    path = f"/fulfillment/202309/orders/{order['id']}/packages"
    first = order["line_items"][0]["id"]
    by_name = {"order_line_item_ids": [first], "tracking_number": "1Z", "shipping_provider": "UPS"}
    assert "shipping_provider_id" in shop.call("POST", path, by_name).json()["message"]
    untracked = {"order_line_item_ids": [first], "shipping_provider_id": UPS}
    assert shop.call("POST", path, untracked).json()["code"] != 0
    body = {"order_line_item_ids": [first], "tracking_number": "1Z", "shipping_provider_id": UPS}
    shipped = shop.call("POST", path, body).json()
    assert shipped["code"] == 0 and shipped["data"]["order_line_item_ids"] == [first]
    assert shop.call("POST", path, body).json()["code"] != 0  # shipped already
    held = shop.client.get(f"/_sandbox/orders/{order['id']}").json()["order"]
    assert held["status"] == "PARTIALLY_SHIPPING"


def test_cancel_takes_a_reason_code_valid_for_the_status(shop):
    order_id = place(shop).json()["id"]
    path = "/return_refund/202309/cancellations"
    for reason in ("out of stock", "seller_cancel_unpaid_reason_out_of_stock"):
        refused = shop.call("POST", path, {"order_id": order_id, "cancel_reason": reason}).json()
        assert refused["message"] == "Reason not match order status"
    body = {"order_id": order_id, "cancel_reason": "seller_cancel_reason_out_of_stock"}
    done = shop.call("POST", path, body).json()["data"]
    assert done["cancel_status"] == "CANCELLATION_REQUEST_COMPLETE"
    assert tiktok.cancel_reason("out of stock", "AWAITING_SHIPMENT") == body["cancel_reason"]
    assert tiktok.cancel_reason("sold out", "UNPAID") == "seller_cancel_unpaid_reason_out_of_stock"


def test_refunds_are_create_return_and_no_more_than_refundable(shop):
    order = place(shop, lines=[{"sku": "TEE-S", "quantity": 2}]).json()
    ship = {"tracking_number": "1Z", "shipping_provider_id": UPS}
    shop.call("POST", f"/fulfillment/202309/orders/{order['id']}/packages", ship)
    assert shop.call("POST", "/return_refund/202309/refunds", {}).status_code == 404
    body = {
        "order_id": order["id"],
        "order_line_item_ids": [order["line_items"][0]["id"]],
        "return_type": "REFUND",
        "return_reason": orders.RETURN_REASONS[0],
        "refund_total": "25.01",
        "currency": "USD",
    }
    path = "/return_refund/202309/returns"
    assert "exceeds the refundable" in shop.call("POST", path, body).json()["message"]
    free_text = {**body, "refund_total": "25.00", "return_reason": "too small"}
    assert shop.call("POST", path, free_text).json()["code"] != 0
    made = shop.call("POST", path, {**body, "refund_total": "25.00"}, idempotency_key="k1")
    again = shop.call("POST", path, {**body, "refund_total": "25.00"}, idempotency_key="k1")
    assert made.json()["data"] == again.json()["data"]
    received = shop.client.get(f"/_sandbox/orders/{order['id']}").json()["received"]
    assert [r["type"] for r in received] == ["fulfillment", "return"]


def test_webhooks_are_signed_and_faults_are_injected(shop):
    sent = []
    shop.book.transport = lambda url, content, headers: sent.append((content, headers)) or 200
    shop.client.put("/_sandbox/webhook", json={"url": "http://mercato.test/webhooks/x"})
    placed = place(shop, lines=[{"sku": "TEE-S", "quantity": 2}]).json()
    shop.client.post(f"/_sandbox/orders/{placed['id']}/status", json={"status": "CANCELLED"})
    place(shop, lines=[{"sku": "TEE-M"}])
    statuses = shop.client.post(
        "/_sandbox/webhooks/deliver", json={"drop": 1, "duplicates": 1, "reverse": True}
    ).json()
    assert statuses == {"statuses": [200] * 4}
    bodies = [orjson.loads(raw) for raw, _ in sent]
    assert [b["data"]["order_status"] for b in bodies] == [
        "AWAITING_SHIPMENT",
        "AWAITING_SHIPMENT",
        "CANCELLED",
        "CANCELLED",
    ]
    creds = {"app_key": "29a39d", "app_secret": "e59af819cc"}
    assert all(
        tiktok.verify(creds, raw, {k.lower(): v for k, v in headers.items()})
        for raw, headers in sent
    )


def test_get_order_detail_takes_1_to_50_ids(shop):
    order_id = place(shop).json()["id"]
    for ids in ("", ",".join([order_id] + [str(n) for n in range(50)])):
        refused = shop.call("GET", "/order/202309/orders", ids=ids)
        assert refused.status_code == 400 and refused.json()["code"] == 36009003
    fifty = shop.call("GET", "/order/202309/orders", ids=",".join([order_id] * 50)).json()
    assert fifty["code"] == 0 and fifty["data"]["orders"][0]["id"] == order_id


def test_the_order_client_asks_for_50_orders_a_request(shop):
    placed = [place(shop, lines=[{"sku": sku}]).json()["id"] for sku in ("TEE-S", "TEE-M")]
    asked: list[int] = []
    shop.client.event_hooks["request"] = [
        lambda request: (
            request.url.path == tiktok.ORDERS
            and asked.append(len(request.url.params["ids"].split(",")))
        )
    ]
    client = tiktok.OrderClient(
        {"category_id": "601226"},
        {"app_key": "29a39d", "app_secret": "e59af819cc", "access_token": "tt"},
        shop.client,
    )
    wanted = [str(n) for n in range(60)] + placed + [str(n) for n in range(60, 118)]
    found = client.get_orders(wanted + placed)  # repeated ids are asked for once
    assert sorted(doc["id"] for doc in found) == sorted(placed)
    assert asked == [50, 50, 20]
