"""The order side of the TikTok Shop simulator: signed webhooks with injected faults,
listing for polling, and what it receives recorded once per idempotency key. Meta and
Pinterest have no order API, so their simulators serve none."""

import orjson

from mercato.channels.tiktok import orders as tiktok


def test_only_tiktok_has_an_order_book(sandbox):
    assert set(sandbox.app.state.order_books) == {"tiktok"}
    for kind in ("meta", "pinterest"):
        placed = sandbox.post(f"/{kind}/_sandbox/orders", json={"lines": [{"sku": "A"}]})
        assert placed.status_code in (404, 405)
    assert sandbox.get("/meta/cms1/commerce_orders").status_code in (400, 404)
    assert sandbox.get("/pinterest/v5/commerce/orders").status_code == 404


def test_webhooks_are_signed_and_faults_are_injected(sandbox):
    sent = []
    book = sandbox.app.state.order_books["tiktok"]
    book.transport = lambda url, content, headers: sent.append((content, headers)) or 200
    sandbox.put("/tiktok/_sandbox/webhook", json={"url": "http://mercato.test/webhooks/x"})
    placed = sandbox.post(
        "/tiktok/_sandbox/orders", json={"lines": [{"sku": "A", "quantity": 2}]}
    ).json()
    sandbox.post(f"/tiktok/_sandbox/orders/{placed['id']}/status", json={"status": "CANCELLED"})
    sandbox.post("/tiktok/_sandbox/orders", json={"lines": [{"sku": "B"}]})
    statuses = sandbox.post(
        "/tiktok/_sandbox/webhooks/deliver", json={"drop": 1, "duplicates": 1, "reverse": True}
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
