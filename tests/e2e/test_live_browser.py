"""A viewer on a phone watches a live: the pinned product at its live price with its
counter, which drops when another buyer buys (pushed over the counter stream); the
merchant's control page follows the same counters."""

from __future__ import annotations

from playwright.sync_api import expect

from mercato.auth import service as auth_service
from mercato.db import transaction
from mercato.inventory import reservations
from mercato.inventory.schemas import ReservationLineInput
from tests.checkout.helpers import make_shop
from tests.e2e.conftest import PHONE

API = "/api/v1/live-events"


def test_a_viewer_sees_the_counter_drop_when_another_buyer_buys(
    server, phone, browser, client, admin, sessions, shots
):
    make_shop(sessions, on_hand=12, sizes=("M",), image=f"{server}/shop/static/placeholder.svg")
    body = {
        "title": "Friday hoodie drop",
        "host": "Mia",
        "platforms": [{"channel": "storefront", "url": "https://www.tiktok.com/@shop/live"}],
        "products": [{"sku": "HOODIE-M"}],
    }
    event_id = client.post(API, json=body, headers=admin).json()["id"]
    client.post(f"{API}/{event_id}/start", headers=admin)
    client.post(
        f"{API}/{event_id}/pin", json={"sku": "HOODIE-M", "live_price": 1900}, headers=admin
    )

    viewer = phone.new_page()
    viewer.goto(f"{server}/shop/live/{event_id}")
    expect(viewer.locator("#left")).to_have_text("12")
    expect(viewer.locator("#viewers")).to_have_text("1")  # pushed once the stream opened
    viewer.screenshot(path=str(shots / "live-1-viewer.png"), full_page=True)

    # Another buyer, on another phone, taps Buy now: a checkout holds one unit.
    other = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    buyer = other.new_page()
    buyer.goto(f"{server}/shop/live/{event_id}")
    buyer.get_by_role("button", name="Buy now").tap()
    buyer.wait_for_url("**/shop/checkout/**")
    assert "$19.00" in buyer.content()
    expect(viewer.locator("#left")).to_have_text("11")
    # And a TikTok-style sale straight from the inventory: the counter follows too.
    with transaction(sessions) as session:
        reservations.reserve(
            session, [ReservationLineInput(sku="HOODIE-M", quantity=2)], channel="chn_x", sell=True
        )
    expect(viewer.locator("#left")).to_have_text("9")
    expect(viewer.locator("#sold")).to_have_text("0")  # not a pooled sale: counted as an order
    viewer.screenshot(path=str(shots / "live-2-after-sales.png"), full_page=True)
    other.close()

    # The host's control page follows the same counters.
    with transaction(sessions) as session:
        secret = auth_service.create_token(session, "host", ["live:write"]).secret
    desk = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    desk.goto(f"{server}/admin/login")
    desk.fill("input[name=token]", secret)
    desk.locator("form button[type=submit]").first.click()
    desk.goto(f"{server}/admin/live/{event_id}")
    expect(desk.locator("#c-left")).to_have_text("9")
    with transaction(sessions) as session:
        reservations.reserve(
            session, [ReservationLineInput(sku="HOODIE-M", quantity=1)], channel="chn_x", sell=True
        )
    expect(desk.locator("#c-left")).to_have_text("8")
    expect(viewer.locator("#left")).to_have_text("8")
    desk.screenshot(path=str(shots / "live-3-control.png"), full_page=True)
