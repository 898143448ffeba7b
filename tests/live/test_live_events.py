"""Live events through the API: a stream's running order, pins and live prices, each
recorded; its products' stock ring-fenced per channel, each channel selling from and
pushed its own pool; the event's record of sales and of orders put on hold."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from mercato.db import transaction
from mercato.events.models import Event
from mercato.inventory import availability
from mercato.orders import creation
from mercato.orders.schemas import OrderCreate
from tests.checkout.helpers import make_shop, start

TIKTOK = "chn_tiktok_live"
API = "/api/v1/live-events"


@pytest.fixture
def shop(sessions):
    return make_shop(sessions, on_hand=100, sizes=("M", "L"))


@pytest.fixture
def event(client, admin, shop) -> dict:
    body = {
        "title": "Friday drop",
        "host": "Mia",
        "platforms": [
            {"channel": TIKTOK, "url": "https://www.tiktok.com/@shop/live"},
            {"channel": "storefront"},
        ],
        "products": [{"sku": "HOODIE-M"}, {"sku": "HOODIE-L"}],
    }
    response = client.post(API, json=body, headers=admin)
    assert response.status_code == 201, response.text
    return response.json()


def _call(client, admin, method, path, status=200, **kwargs):
    response = client.request(method, f"{API}/{path}", headers=admin, **kwargs)
    assert response.status_code == status, response.text
    return response.json()


def _platform_order(sessions, channel, external_id, quantity=1):
    with transaction(sessions) as session:
        order, _ = creation.create_order(
            session,
            OrderCreate(
                channel=channel,
                external_id=external_id,
                lines=[{"sku": "HOODIE-M", "quantity": quantity}],
                payment_status="paid",
            ),
            deduct_stock=True,
        )
        return order.stock_state


def test_a_live_event_pins_prices_and_records_each_change(client, admin, event, sessions):
    assert [p["sku"] for p in event["products"]] == ["HOODIE-M", "HOODIE-L"]
    assert event["state"] == "scheduled" and event["platforms"][0]["channel"] == TIKTOK
    eid = event["id"]
    assert _call(client, admin, "POST", f"{eid}/start")["state"] == "live"
    _call(client, admin, "POST", f"{eid}/start", 409)  # already live
    pinned = _call(
        client, admin, "POST", f"{eid}/pin", json={"sku": "HOODIE-M", "live_price": 1900}
    )
    assert pinned["pinned_variant_id"] == event["products"][0]["variant_id"]
    assert pinned["live_price"] == 1900
    _call(client, admin, "PUT", f"{eid}/live-price", json={"live_price": 1700})
    counters = _call(client, admin, "GET", f"{eid}/counters")
    assert (counters["sku"], counters["price"], counters["live_price"]) == ("HOODIE-M", 2500, 1700)
    assert counters["left"] == 100
    _call(client, admin, "POST", f"{eid}/unpin")
    _call(client, admin, "PUT", f"{eid}/live-price", 409, json={"live_price": 1})  # none pinned
    ended = _call(client, admin, "POST", f"{eid}/end")
    assert ended["state"] == "ended" and ended["ended_at"]
    _call(client, admin, "POST", f"{eid}/pin", 409, json={"sku": "HOODIE-M"})
    kinds = [m["kind"] for m in _call(client, admin, "GET", f"{eid}/moments")]
    assert kinds == ["created", "started", "pinned", "priced", "unpinned", "ended"]
    with sessions() as session:
        types = session.scalars(
            select(Event.type).where(Event.key == eid).order_by(Event.seq)
        ).all()
    assert types == [
        "live_event.created",
        "live_event.started",
        "live_event.pinned",
        "live_event.priced",
        "live_event.unpinned",
        "live_event.ended",
    ]


def test_only_products_of_the_running_order_can_be_pinned(client, admin, event, sessions):
    make_shop(sessions, handle="cap", sizes=("OS",))
    _call(client, admin, "POST", f"{event['id']}/pin", 422, json={"sku": "CAP-OS"})
    _call(client, admin, "POST", f"{event['id']}/pin", 422, json={"sku": "NOPE"})


def test_pools_split_stock_per_channel_and_each_sells_only_its_own(
    client, admin, event, sessions, drain
):
    eid = event["id"]
    _call(client, admin, "POST", f"{eid}/start")
    body = {"sku": "HOODIE-M", "pools": {TIKTOK: 2, "storefront": 50}}
    stock = _call(client, admin, "PUT", f"{eid}/pools", json=body)
    assert (stock["free"], stock["held_back"]) == (100, 48)
    too_much = {"sku": "HOODIE-M", "pools": {TIKTOK: 51}}
    problem = _call(client, admin, "PUT", f"{eid}/pools", 409, json=too_much)
    assert problem["type"].endswith("/insufficient-stock")
    with sessions() as session:
        variant_id = event["products"][0]["variant_id"]
        assert availability.available_for(session, TIKTOK, variant_id) == 2
        assert availability.available_for(session, "storefront", variant_id) == 50
        assert availability.available_for(session, "chn_other", variant_id) == 0

    start(client, items=(("HOODIE-M", 3),))  # a storefront checkout holds from its pool
    assert _platform_order(sessions, TIKTOK, "tt-1", 2) == "committed"
    assert _platform_order(sessions, TIKTOK, "tt-2") == "short"  # TikTok's pool is sold out
    drain()
    stock = _call(client, admin, "GET", f"{eid}/stock")[0]
    pools = {p["channel"]: (p["units"], p["held"], p["sold"]) for p in stock["pools"]}
    assert pools == {TIKTOK: (0, 0, 2), "storefront": (47, 3, 0)}
    moved = _call(
        client,
        admin,
        "POST",
        f"{eid}/moves",
        json={"sku": "HOODIE-M", "from_channel": "storefront", "to_channel": TIKTOK, "units": 5},
    )
    assert {p["channel"]: p["units"] for p in moved["pools"]} == {TIKTOK: 5, "storefront": 42}
    moments = _call(client, admin, "GET", f"{eid}/moments")
    sales = [
        (m["kind"], m["channel"], m["quantity"]) for m in moments if m["kind"] in ("sale", "held")
    ]
    assert sorted(sales) == [("held", TIKTOK, 1), ("sale", TIKTOK, 2)]

    _call(client, admin, "POST", f"{eid}/end")  # the pools are let go
    with sessions() as session:
        assert availability.available_for(session, "chn_other", variant_id) == 95


def test_the_shop_and_the_stock_events_show_each_channel_its_pool(client, admin, event, sessions):
    body = {"sku": "HOODIE-M", "pools": {TIKTOK: 7, "storefront": 3}}
    _call(client, admin, "PUT", f"{event['id']}/pools", json=body)
    assert "Only 3 left" in client.get("/shop/p/hoodie").text  # of 100 on hand
    with sessions() as session:
        payload = session.scalars(
            select(Event.payload)
            .where(
                Event.type == "inventory.changed", Event.key == event["products"][0]["variant_id"]
            )
            .order_by(Event.seq.desc())
        ).first()
    channels = {c["channel"]: c["available"] for c in payload["channels"]}
    assert channels == {TIKTOK: 7, "storefront": 3}
