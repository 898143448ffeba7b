"""A buyer on a phone pays with a new card through Stripe's Payment Element, offline:
js.stripe.com is answered by a small fake of Stripe.js shipped with the tests, and
api.stripe.com by the local Stripe stand-in. The card number goes to "Stripe" only."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import httpx
from playwright.sync_api import expect
from sqlalchemy import select

from mercato.db import transaction
from mercato.orders.models import Order
from mercato.payments import service as payments
from tests.checkout.helpers import make_shop

FAKE_STRIPE_JS = (Path(__file__).parent / "fake_stripe.js").read_text()
CARD, DECLINED_CARD = "4242 4242 4242 4242", "4000 0000 0000 0002"


def _offline_stripe(page, stand_in) -> list:
    """Route Stripe's hosts to the fakes; return every request the page makes."""
    seen = []
    page.on("request", lambda request: seen.append(request))
    page.route(
        "https://js.stripe.com/v3/",
        lambda route: route.fulfill(body=FAKE_STRIPE_JS, content_type="application/javascript"),
    )

    def api(route):
        request = route.request
        answer = httpx.request(
            request.method,
            stand_in.url + urlsplit(request.url).path,
            content=request.post_data_buffer,
            headers={
                "Content-Type": request.headers.get(
                    "content-type", "application/x-www-form-urlencoded"
                )
            },
        )
        route.fulfill(
            status=answer.status_code,
            body=answer.content,
            headers={"Content-Type": "application/json", "Access-Control-Allow-Origin": "*"},
        )

    page.route("https://api.stripe.com/**", api)
    return seen


def _type_card(page, number: str):
    frame = page.frame_locator("#payment-element iframe")
    frame.locator("input[name=number]").fill(number)
    frame.locator("input[name=expiry]").fill("12 / 34")
    frame.locator("input[name=cvc]").fill("123")


def test_new_card_through_the_payment_element(server, phone, sessions, stand_in, shots):
    with transaction(sessions) as session:
        payments.configure(
            session,
            "stripe",
            secret_key="sk_test_123",
            public_key="pk_test_123",
            api_base=stand_in.url,
        )
    make_shop(sessions, image=f"{server}/shop/static/placeholder.svg")
    page = phone.new_page()
    seen = _offline_stripe(page, stand_in)
    page.goto(f"{server}/shop/p/hoodie")
    page.get_by_role("button", name="Buy now").tap()
    page.wait_for_url("**/shop/checkout/**")
    page.fill("input[name=email]", "ada@example.com")
    page.fill("input[name=name]", "Ada Buyer")
    page.fill("input[name=line1]", "1 Market St")
    page.fill("input[name=city]", "San Francisco")
    page.fill("input[name=region]", "CA")
    page.fill("input[name=postal_code]", "94105")
    page.fill("input[name=country]", "US")
    page.check("input[name=remember]")

    # The address adds sales tax: the page shows the new total as it is typed, on Pay.
    pay = page.locator("#details button.pay")
    expect(pay).to_have_text("Pay $31.81", timeout=30_000)
    assert page.locator("#total").inner_text() == "$31.81"
    _type_card(page, DECLINED_CARD)
    page.screenshot(path=str(shots / "stripe-1-new-total.png"), full_page=True)
    assert stand_in.charges() == 0

    # A declined card: the message comes from Stripe, the page stays, no order.
    pay.tap()
    page.wait_for_selector("#message.alert")
    assert "Your card was declined" in page.locator("#message").inner_text()
    page.screenshot(path=str(shots / "stripe-2-declined.png"), full_page=True)
    with sessions() as session:
        assert list(session.scalars(select(Order))) == []

    # Another card on the same intent: paid, back from Stripe to the order.
    _type_card(page, CARD)
    page.screenshot(path=str(shots / "stripe-3-card.png"), full_page=True)
    pay.tap()
    page.wait_for_url("**/thanks")
    assert page.locator("#order-number").inner_text().startswith("#")
    page.screenshot(path=str(shots / "stripe-4-paid.png"), full_page=True)

    with sessions() as session:
        orders = list(session.scalars(select(Order)))
    assert len(orders) == 1 and orders[0].payment_status == "paid"
    assert stand_in.charges() == 1 and len(stand_in.intents) == 1
    # Charged what the Pay button said.
    (intent,) = stand_in.intents.values()
    assert intent["amount"] == orders[0].total == 3181
    hosts = {urlsplit(r.url).hostname for r in seen}
    assert hosts <= {"127.0.0.1", "js.stripe.com", "api.stripe.com"}
    to_mercato = [r for r in seen if urlsplit(r.url).hostname == "127.0.0.1"]
    assert all("4242" not in (r.post_data or "") for r in to_mercato)
    assert any(
        "4242424242424242" in (r.post_data or "")
        for r in seen
        if urlsplit(r.url).hostname == "api.stripe.com"
    )
