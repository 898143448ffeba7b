"""The order side of the simulators: signed webhooks with injected faults, listing for
polling, and what they receive recorded once per idempotency key."""

import orjson

from mercato.channels.meta import orders as meta
from mercato.channels.pinterest import orders as pinterest
from mercato.channels.tiktok import orders as tiktok


def test_webhooks_are_signed_and_faults_are_injected(sandbox):
    sent = []
    books = sandbox.app.state.order_books
    for kind, book in books.items():
        book.transport = lambda url, content, headers, kind=kind: (
            sent.append((kind, content, headers)) or 200
        )
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
    bodies = [orjson.loads(raw) for _, raw, _ in sent]
    assert [b["data"]["order_status"] for b in bodies] == [
        "AWAITING_SHIPMENT",
        "AWAITING_SHIPMENT",
        "CANCELLED",
        "CANCELLED",
    ]
    creds = {"app_key": "29a39d", "app_secret": "e59af819cc"}
    assert all(
        tiktok.verify(creds, raw, {k.lower(): v for k, v in headers.items()})
        for _, raw, headers in sent
    )

    sent.clear()
    sandbox.put("/meta/_sandbox/webhook", json={"url": "u", "secret": "s3"})
    sandbox.put(
        "/pinterest/_sandbox/webhook",
        json={"url": "u", "secret": "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"},
    )
    sandbox.post("/meta/_sandbox/orders", json={"lines": [{"sku": "A"}]})
    sandbox.post("/pinterest/_sandbox/orders", json={"lines": [{"sku": "A"}]})
    sandbox.post("/meta/_sandbox/webhooks/deliver", json={})
    sandbox.post("/pinterest/_sandbox/webhooks/deliver", json={})
    (_, meta_raw, meta_headers), (_, pin_raw, pin_headers) = sent
    lower = lambda h: {k.lower(): v for k, v in h.items()}  # noqa: E731
    assert meta.verify({"app_secret": "s3"}, meta_raw, lower(meta_headers))
    assert not meta.verify({"app_secret": "s3"}, meta_raw + b" ", lower(meta_headers))
    assert pinterest.verify(
        {"webhook_secret": books["pinterest"].secret}, pin_raw, lower(pin_headers)
    )


def test_orders_are_listed_and_pushes_recorded_once_per_key(sandbox):
    placed = sandbox.post("/meta/_sandbox/orders", json={"lines": [{"sku": "A"}]}).json()
    listed = sandbox.get("/meta/cms1/commerce_orders").json()["data"]
    assert [o["id"] for o in listed] == [placed["id"]]
    body = {"items": [], "tracking_info": {"tracking_number": "T1"}, "idempotency_key": "k1"}
    for _ in range(2):
        assert sandbox.post(f"/meta/{placed['id']}/shipments", json=body).status_code == 200
    assert (
        sandbox.post(f"/meta/{placed['id']}/shipments", json={"items": []}).status_code == 400
    )  # the key is required
    received = sandbox.get(f"/meta/_sandbox/orders/{placed['id']}").json()["received"]
    assert [r["key"] for r in received] == ["k1"]
