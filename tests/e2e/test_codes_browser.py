"""On a phone: a buyer adds a second discount code, removes one, and pays the total shown."""

from __future__ import annotations

from playwright.sync_api import expect
from sqlalchemy import select

from mercato.orders.models import Order
from tests.checkout.helpers import make_shop
from tests.e2e.test_checkout_browser import _fill_details
from tests.offers.helpers import make_code


def test_two_codes_on_a_phone(server, phone, sessions, shots):
    make_shop(sessions, image=f"{server}/shop/static/placeholder.svg")
    make_code(sessions, "SPRING10", combinable=True)
    make_code(sessions, "FIVE", "fixed", 500, currency="USD", combinable=True)
    make_code(sessions, "SHIPFREE", "free_shipping", 0, combinable=True)
    page = phone.new_page()
    page.goto(f"{server}/shop/cart?items=HOODIE-M:2&coupon=SPRING10")
    page.locator("form button[type=submit]").last.tap()
    page.wait_for_url("**/shop/checkout/**")
    codes = page.locator("li.applied-code")
    expect(codes).to_have_count(1)

    page.fill("input[name=discount_code]", "five")
    page.get_by_role("button", name="Apply").tap()
    expect(codes).to_have_count(2)
    page.fill("input[name=discount_code]", "shipfree")
    page.get_by_role("button", name="Apply").tap()
    expect(codes).to_have_count(3)
    expect(page.locator("p.discount")).to_contain_text("SPRING10, FIVE, SHIPFREE")
    page.screenshot(path=str(shots / "codes-3.png"), full_page=True)

    page.get_by_role("button", name="Remove FIVE").tap()
    expect(codes).to_have_count(2)
    expect(page.locator("p.discount")).to_contain_text("−$5.00")  # 10% of 50.00
    _fill_details(page, "tok_visa")
    page.screenshot(path=str(shots / "codes-2.png"), full_page=True)
    shown = page.locator("#details button.pay").inner_text()
    page.locator("#details button.pay").tap()
    page.wait_for_url("**/thanks")
    with sessions() as session:
        order = session.scalar(select(Order))
    assert [d["code"] for d in order.discount_codes] == ["SPRING10", "SHIPFREE"]
    assert order.shipping_total == 0 and order.discount_total == 500
    assert shown == f"Pay ${order.total // 100}.{order.total % 100:02d}"
