"""Platform orders by signed webhook: verified on the raw bytes, stored once per event,
processed by the worker into exactly one order, never moved backwards, never oversold."""

from __future__ import annotations

import asyncio
import logging
import threading
from datetime import timedelta

import httpx
import orjson
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload
from typer.testing import CliRunner

from mercato.channels import service as channels
from mercato.channels.models import Channel
from mercato.channels.schemas import ChannelCreate
from mercato.channels.tiktok import orders as tiktok
from mercato.cli import app
from mercato.db import Sessions, transaction
from mercato.inventory import counts
from mercato.inventory.schemas import AdjustmentCreate
from mercato.jobs.models import Job
from mercato.orders import intake
from mercato.orders.models import InboundEvent, Order
from mercato.sandbox.orders import DeliverIn, OrderIn
from tests.helpers import SANDBOX

from .conftest import on_hand

ORDER = OrderIn(lines=[{"sku": "TEE-S", "quantity": 2, "price": "25.00"}])


def count(sessions, model, *where) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where))


def orders(sessions) -> list[Order]:
    with sessions() as session:
        return list(
            session.scalars(select(Order).options(selectinload(Order.lines)).order_by(Order.number))
        )


def test_the_same_webhook_twice_makes_one_order_and_takes_stock_once(shop, sessions, drain):
    channel_id, book = shop.connect("tiktok")
    placed = book.place(ORDER)
    assert book.deliver(DeliverIn(duplicates=1)) == [200, 200]
    drain()
    [order] = orders(sessions)
    assert (order.channel, order.external_id) == (channel_id, placed["id"])
    assert order.status == "open" and order.payment_status == "paid"
    assert order.stock_state == "committed" and order.lines[0].quantity == 2
    # Two one-unit line items of a SKU are one line; city and state from district_info.
    assert order.lines[0].external_id == placed["line_items"][0]["sku_id"]
    assert (order.shipping_address["city"], order.shipping_address["region"]) == (
        "Austin",
        "Texas",
    )
    assert count(sessions, InboundEvent) == 1
    assert on_hand(sessions, "TEE-S") == (3, 0)


def test_the_same_webhook_twice_in_parallel_is_stored_once_and_makes_one_order(
    shop, sessions, drain
):
    channel_id, book = shop.connect("tiktok")
    book.place(ORDER)
    raw, headers = book.outbox[0]
    barrier = threading.Barrier(2)
    receipts = []

    def receive():
        barrier.wait()
        with transaction(sessions) as session:
            receipts.append(intake.receive(session, channel_id, raw, headers))

    threads = [threading.Thread(target=receive) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(r.duplicate for r in receipts) == [False, True]
    assert count(sessions, Job, Job.name == intake.PROCESS_JOB) == 1

    # Two different events about the same order, settled at once, still make one order.
    with sessions() as session:
        pull = intake.read_event(session, session.scalar(select(InboundEvent.id)))
    intake.fetch_orders(Sessions.of(sessions), pull)
    barrier = threading.Barrier(2)

    def settle():
        barrier.wait()
        with transaction(sessions) as session:
            intake.apply_pulled(session, pull)

    threads = [threading.Thread(target=settle) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(orders(sessions)) == 1
    assert on_hand(sessions, "TEE-S") == (3, 0)


def test_status_events_out_of_order_end_in_the_latest_state(shop, sessions, drain):
    _, book = shop.connect("tiktok")
    placed = book.place(OrderIn(lines=ORDER.lines, status="UNPAID"))
    book.set_status(placed["id"], "AWAITING_SHIPMENT")
    book.set_status(placed["id"], "CANCELLED")
    assert book.deliver(DeliverIn(reverse=True)) == [200, 200, 200]
    drain()
    [order] = orders(sessions)
    assert order.status == "cancelled" and order.external_status == "CANCELLED"
    assert on_hand(sessions, "TEE-S") == (5, 0)  # taken on import, given back on cancel


def test_a_late_older_status_never_moves_an_order_back(shop, sessions):
    channel_id, book = shop.connect("tiktok")
    unpaid = dict(book.place(OrderIn(lines=ORDER.lines, status="UNPAID")))
    paid = book.set_status(unpaid["id"], "AWAITING_SHIPMENT")
    with transaction(sessions) as session:
        channel = session.get(Channel, channel_id)
        for doc in (paid, unpaid):  # the unpaid state arrives last
            intake.apply(session, channel, tiktok.to_order(doc, channel_id))
    [order] = orders(sessions)
    assert (order.payment_status, order.external_status) == ("paid", "AWAITING_SHIPMENT")


def test_a_tampered_body_is_refused_and_nothing_is_stored(shop, sessions, client):
    channel_id, book = shop.connect("tiktok")
    book.place(ORDER)
    raw, headers = book.outbox[0]
    tampered = raw.replace(b"TEE-S", b"TEE-M") if b"TEE-S" in raw else raw[:-2] + b" }"
    response = client.post(f"/webhooks/{channel_id}", content=tampered, headers=headers)
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == "/problems/bad-signature"
    unsigned = {k: v for k, v in headers.items() if k.lower() in ("content-type",)}
    assert client.post(f"/webhooks/{channel_id}", content=raw, headers=unsigned).status_code == 401
    assert count(sessions, InboundEvent) == 0
    assert count(sessions, Job, Job.name == intake.PROCESS_JOB) == 0


@pytest.mark.parametrize("group_commit", [True, False], ids=["batched", "one-by-one"])
def test_a_burst_of_deliveries_is_stored_each_answered_on_its_own(
    app, shop, sessions, drain, group_commit
):
    """Concurrent deliveries through the API (one event loop: the webhook batcher writes
    them together, or each in its own transaction): duplicates answered as such, a
    tampered one refused alone."""
    app.state.settings = app.state.settings.model_copy(
        update={"webhook_group_commit": group_commit}
    )
    channel_id, book = shop.connect("tiktok")
    for _ in range(5):  # the tee's whole stock
        book.place(OrderIn(lines=[{"sku": "TEE-S", "quantity": 1, "price": "25.00"}]))
    deliveries = book.outbox * 2
    raw, headers = deliveries[0]
    deliveries.append((raw[:-2] + b" }", headers))  # the body changed, not its signature

    async def burst():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://mercato") as http:
            return await asyncio.gather(
                *(
                    http.post(f"/webhooks/{channel_id}", content=body, headers=signed)
                    for body, signed in deliveries
                )
            )

    responses = asyncio.run(burst())
    assert [r.status_code for r in responses] == [200] * 10 + [401]
    assert sorted(r.json()["duplicate"] for r in responses[:10]) == [False] * 5 + [True] * 5
    assert count(sessions, InboundEvent) == 5
    assert count(sessions, Job, Job.name == intake.PROCESS_JOB) == 5
    drain()
    assert len(orders(sessions)) == 5
    assert on_hand(sessions, "TEE-S") == (0, 0)


def test_a_failed_batch_of_deliveries_is_logged_and_each_is_stored_alone(
    shop, sessions, monkeypatch, caplog
):
    """The batch's transaction fails (here: any insert of more than one delivery): the
    failure is logged with its cause, then each delivery is written alone and answered."""
    channel_id, book = shop.connect("tiktok")
    for _ in range(3):
        book.place(OrderIn(lines=[{"sku": "TEE-S", "quantity": 1, "price": "25.00"}]))
    deliveries = [intake.Delivery(channel_id, raw, dict(headers)) for raw, headers in book.outbox]
    deliveries.append(deliveries[0])  # a twin: a duplicate, whichever way it is written
    in_one_transaction = intake.receive_many

    def one_at_a_time(session, batch):
        if len(batch) > 1:
            raise RuntimeError("the batch insert broke")
        return in_one_transaction(session, batch)

    monkeypatch.setattr(intake, "receive_many", one_at_a_time)
    batcher = intake.WebhookBatcher(sessions)

    async def burst():
        return await asyncio.gather(*(batcher.submit(delivery) for delivery in deliveries))

    with caplog.at_level(logging.WARNING, logger="mercato.group_commit"):
        receipts = asyncio.run(burst())
    assert [receipt.duplicate for receipt in receipts] == [False, False, False, True]
    assert "WebhookBatcher: a batch of 4 failed; writing each alone" in caplog.text
    assert "the batch insert broke" in caplog.text
    assert count(sessions, InboundEvent) == 3
    assert count(sessions, Job, Job.name == intake.PROCESS_JOB) == 3


def test_malformed_and_oversize_bodies_are_refused(shop, sessions, client):
    from mercato.channels.tiktok.webhooks import signature

    channel_id, _ = shop.connect("tiktok")

    def signed(raw: bytes) -> dict:
        return {"Authorization": signature("29a39d", "e59af819cc", raw)}

    for raw in (b"{not json", orjson.dumps({"type": 1, "data": {}})):
        response = client.post(f"/webhooks/{channel_id}", content=raw, headers=signed(raw))
        assert response.status_code == 400, response.text
        assert response.json()["type"] == "/problems/malformed-payload"
    big = orjson.dumps(
        {"tts_notification_id": "n1", "type": 1, "data": {"pad": "x" * intake.MAX_BODY}}
    )
    response = client.post(f"/webhooks/{channel_id}", content=big, headers=signed(big))
    assert response.status_code == 413
    assert response.json()["type"] == "/problems/payload-too-large"
    assert client.post("/webhooks/chn_unknown", content=b"{}").status_code == 404
    assert count(sessions, InboundEvent) == 0


@pytest.mark.parametrize("kind", ["meta", "pinterest"])
def test_meta_and_pinterest_send_no_orders_and_say_so(kind, sandbox, sessions, client, admin):
    with transaction(sessions) as session:
        channel_id = channels.create_channel(
            session,
            ChannelCreate(kind=kind, name=f"{kind}-shop", base_url=f"{SANDBOX}/{kind}"),
        ).id
    # No order webhook, no order routes on the simulator, no order polling.
    assert client.post(f"/webhooks/{channel_id}", content=b"{}").status_code == 404
    assert sandbox.get(f"/{kind}/_sandbox/orders/1").status_code in (404, 405)
    with sessions() as session:
        assert intake.poll_targets(session) == []
    # Asking for its orders gets one line saying why there are none.
    cli = CliRunner().invoke(app, ["orders", "list", "--channel", f"{kind}-shop"])
    assert cli.exit_code == 0
    [line] = [text for text in cli.output.splitlines() if text.strip()]
    assert "sends no orders" in line and "storefront" in line
    token = admin["Authorization"].removeprefix("Bearer ")
    client.post("/admin/login", data={"token": token})
    page = client.get("/admin/orders", params={"channel": channel_id})
    assert page.status_code == 200 and "sends no orders" in page.text
    assert "sends no orders" not in client.get("/admin/orders").text


def _sold_elsewhere(sessions, sku: str, units: int) -> None:
    """Units sold on another channel before TikTok heard of it: TikTok still offers them."""
    with transaction(sessions) as session:
        counts.adjust(session, AdjustmentCreate(sku=sku, quantity=-units, kind="adjustment"))


def test_an_order_for_stock_sold_elsewhere_is_flagged_not_oversold(shop, sessions, drain):
    _, book = shop.connect("tiktok")
    _sold_elsewhere(sessions, "TEE-M", 4)
    book.place(OrderIn(lines=[{"sku": "TEE-M", "quantity": 3}]))
    book.deliver(DeliverIn())
    drain()
    [order] = orders(sessions)
    assert order.status == "on_hold" and order.stock_state == "short"
    assert "without the stock" in order.attention_reason
    assert on_hand(sessions, "TEE-M") == (1, 0)  # nothing taken, nothing negative


def test_oversold_with_the_cancel_policy_cancels_on_the_platform(shop, sessions, drain):
    channel_id, book = shop.connect("tiktok", oversold_policy="cancel")
    _sold_elsewhere(sessions, "TEE-M", 4)
    placed = book.place(OrderIn(lines=[{"sku": "TEE-M", "quantity": 3}]))
    book.deliver(DeliverIn())
    drain()
    [order] = orders(sessions)
    assert order.status == "cancelled" and order.attention_reason
    received = shop.sim.get(f"/tiktok/_sandbox/orders/{placed['id']}").json()
    [cancellation] = received["received"]
    # An out-of-stock reason code valid for an order awaiting shipment: TikTok took it.
    assert cancellation["body"]["cancel_reason"] == "seller_cancel_reason_out_of_stock"
    assert received["order"]["status"] == "CANCELLED"
    assert on_hand(sessions, "TEE-M") == (1, 0)
    # TikTok took the cancelled units back into its count; ours was sent to it again.
    [product] = shop.sim.get("/tiktok/_sandbox/items").json()["items"].values()
    stock = {s["seller_sku"]: s["inventory"][0]["quantity"] for s in product["skus"]}
    assert stock["TEE-M"] == 1


def test_the_shop_sells_only_the_stock_it_was_given(shop, sessions, drain):
    _, book = shop.connect("tiktok")
    # TikTok was given 5: a sixth unit is not sold, nor a SKU it never had.
    refused = shop.sim.post(
        "/tiktok/_sandbox/orders", json={"lines": [{"sku": "TEE-M", "quantity": 6}]}
    )
    assert refused.status_code == 409 and "5 in stock" in refused.json()["error"]
    unknown = shop.sim.post("/tiktok/_sandbox/orders", json={"lines": [{"sku": "NOPE"}]})
    assert unknown.status_code == 409
    book.place(OrderIn(lines=[{"sku": "TEE-M", "quantity": 5}]))
    again = shop.sim.post("/tiktok/_sandbox/orders", json={"lines": [{"sku": "TEE-M"}]})
    assert "0 in stock" in again.json()["error"]
    book.deliver(DeliverIn())
    drain()
    [order] = orders(sessions)
    assert order.status == "open" and order.lines[0].quantity == 5


def test_a_dropped_webhook_is_recovered_by_polling(shop, sessions, drain, clock):
    _, book = shop.connect("tiktok")
    placed = book.place(ORDER)
    book.place(OrderIn(lines=[{"sku": "TEE-M", "quantity": 1}]))
    book.deliver(DeliverIn(drop=1))  # the first order's webhook never arrives
    drain()
    assert {o.external_id for o in orders(sessions)} != {placed["id"]}
    assert placed["id"] not in {o.external_id for o in orders(sessions)}
    clock.offset += timedelta(minutes=6)  # the periodic poll comes round
    drain()
    found = {o.external_id for o in orders(sessions)}
    assert placed["id"] in found and len(found) == 2
    assert on_hand(sessions, "TEE-S") == (3, 0)


def test_an_expired_token_is_refreshed_when_the_order_is_fetched(shop, sessions, drain):
    channel_id, book = shop.connect("tiktok")
    with transaction(sessions) as session:
        channel = session.get(Channel, channel_id)
        channels.replace_credentials(
            session,
            channel_id,
            {**channels.credentials(channel), "refresh_token": "tt-refresh-token"},
        )
    placed = book.place(ORDER)
    shop.sim.post("/tiktok/_sandbox/faults", json={"kind": "expired_token"})
    assert book.deliver(DeliverIn()) == [200]
    drain()
    [order] = orders(sessions)
    assert order.external_id == placed["id"]
    with sessions() as session:
        stored = channels.credentials(session.get(Channel, channel_id))
    assert stored["access_token"].startswith("at-") and stored["refresh_token"].startswith("rt-")


def test_a_tiktok_seller_discount_is_the_lines_discount_and_tiktoks_own_is_not(shop, sessions):
    """TikTok lists one line item per unit, each with the seller's and the platform's
    share of its discount: the seller's add up on the Mercato line (what the merchant
    gave), the platform's does not lower the merchant's revenue."""
    channel_id, book = shop.connect("tiktok")
    doc = dict(book.place(ORDER))
    for item, (seller, platform) in zip(
        doc["line_items"], (("2.50", "1.00"), ("2.49", "0.50")), strict=True
    ):
        item["seller_discount"], item["platform_discount"] = seller, platform
    with transaction(sessions) as session:
        intake.apply(session, session.get(Channel, channel_id), tiktok.to_order(doc, channel_id))
    [order] = orders(sessions)
    [line] = order.lines
    assert (line.quantity, line.unit_price, line.discount) == (2, 2500, 499)
    assert order.discount_total == 499
