"""A buyer on a phone: product page → buy → checkout → paid; a declined card; and a
returning buyer who pays in two taps, on their own phone or on a new one by a link."""

from __future__ import annotations

from playwright.sync_api import expect
from sqlalchemy import select

from mercato.customers import service as customers
from mercato.customers.models import LoginLink
from mercato.events.models import Event
from mercato.orders.models import Order
from tests.checkout.helpers import make_shop
from tests.e2e.conftest import PHONE

LINK = "utm_source=tiktok&utm_campaign=drop&ch=tiktok&ref=mia&post=v987"


def _orders(sessions):
    with sessions() as session:
        return list(session.scalars(select(Order)))


def _fill_details(page, card: str):
    page.fill("input[name=email]", "ada@example.com")
    page.fill("input[name=name]", "Ada Buyer")
    page.fill("input[name=line1]", "1 Market St")
    page.fill("input[name=city]", "San Francisco")
    page.fill("input[name=region]", "CA")
    page.fill("input[name=postal_code]", "94105")
    page.fill("input[name=country]", "US")
    page.check(f"input[name=payment_method][value={card}]")
    # Leaving the last field redoes the totals; a Pay tapped meanwhile waits for them and,
    # when the total changed, shows the new one instead of paying. The buyer reads it first.
    # (Playwright's expect, not wait_for_function: the shop's CSP forbids eval.)
    expect(page.locator("#checkout")).not_to_have_attribute("data-refreshing", "1", timeout=30_000)


def test_buy_pay_then_return_and_pay_in_two_taps(server, phone, sessions, shots):
    make_shop(
        sessions, image=f"{server}/shop/static/placeholder.svg", on_hand_by_size={"S": 0, "M": 3}
    )
    page = phone.new_page()
    page.goto(f"{server}/shop/p/hoodie?{LINK}")
    assert page.locator("#stock").inner_text() == "Only 3 left"
    assert page.locator("label.sold-out").count() == 1
    page.screenshot(path=str(shots / "1-product.png"), full_page=True)

    page.get_by_role("button", name="Buy now").tap()
    page.wait_for_url("**/shop/checkout/**")
    assert "Items reserved for you" in page.locator("#hold").inner_text()
    _fill_details(page, "tok_visa")
    page.check("input[name=remember]")
    page.screenshot(path=str(shots / "2-checkout.png"), full_page=True)
    page.locator("#details button.pay").tap()
    page.wait_for_url("**/thanks")
    assert page.locator("#order-number").inner_text().startswith("#")
    page.screenshot(path=str(shots / "3-paid.png"), full_page=True)

    orders = _orders(sessions)
    assert len(orders) == 1
    order = orders[0]
    assert (
        order.channel,
        order.payment_status,
        order.source,
        order.creator,
        order.content_id,
        order.campaign,
    ) == ("storefront", "paid", "tiktok", "mia", "v987", "drop")

    # Back another day: tap 1 "Buy now", tap 2 "Pay".
    page.goto(f"{server}/shop/p/hoodie")
    page.get_by_role("button", name="Buy now").tap()
    page.wait_for_url("**/shop/checkout/**")
    assert "Welcome back" in page.content()
    page.screenshot(path=str(shots / "4-returning.png"), full_page=True)
    page.locator("section.returning button.pay").tap()
    page.wait_for_url("**/thanks")
    assert len(_orders(sessions)) == 2


def test_declined_card_shows_a_clear_message_and_no_order(server, phone, sessions, shots):
    make_shop(sessions, image=f"{server}/shop/static/placeholder.svg")
    page = phone.new_page()
    page.goto(f"{server}/shop/p/hoodie")
    page.get_by_role("button", name="Buy now").tap()
    page.wait_for_url("**/shop/checkout/**")
    _fill_details(page, "tok_chargeDeclined")
    page.locator("#details button.pay").tap()
    page.wait_for_selector("#message")
    assert "Your card was declined" in page.locator("#message").inner_text()
    page.screenshot(path=str(shots / "5-declined.png"), full_page=True)
    assert _orders(sessions) == []


def test_returning_buyer_on_a_new_phone_signs_in_by_link_and_pays_in_two_taps(
    server, browser, phone, sessions, settings, shots
):
    settings.base_url = server  # where the links in the mails point
    make_shop(sessions, image=f"{server}/shop/static/placeholder.svg")
    first = phone.new_page()
    first.goto(f"{server}/shop/p/hoodie")
    first.get_by_role("button", name="Buy now").tap()
    first.wait_for_url("**/shop/checkout/**")
    _fill_details(first, "tok_visa")
    first.check("input[name=remember]")
    first.locator("#details button.pay").tap()
    first.wait_for_url("**/thanks")

    # Another phone, no cookie: the buyer gives their email and asks for a link.
    other = browser.new_context(
        viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True, locale="en-US"
    )
    page = other.new_page()
    page.goto(f"{server}/shop/p/hoodie")
    page.get_by_role("button", name="Buy now").tap()
    page.wait_for_url("**/shop/checkout/**")
    assert "Welcome back" not in page.content()
    page.fill("input[name=email]", "ada@example.com")
    page.get_by_role("button", name="Email me a sign-in link").tap()
    page.wait_for_selector("#notice")
    page.screenshot(path=str(shots / "6-link-sent.png"), full_page=True)
    with sessions() as session:
        (sent,) = session.scalars(
            select(Event).where(Event.type == "customer.login_link_requested")
        )
    with sessions() as session:
        url = customers.login_link_url(session.get(LoginLink, sent.payload["login_link_id"]))
    assert url.startswith(f"{server}/shop/login/") and "url" not in sent.payload

    # Tap 1: the link in the mail. Tap 2: Pay.
    page.goto(url)
    page.wait_for_url("**/shop/checkout/**")
    assert "Welcome back" in page.content() and "1 Market St" in page.content()
    page.screenshot(path=str(shots / "7-signed-in.png"), full_page=True)
    page.locator("section.returning button.pay").tap()
    page.wait_for_url("**/thanks")
    assert len(_orders(sessions)) == 2
    other.close()
