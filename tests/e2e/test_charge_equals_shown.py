"""The amount charged is the amount on the Pay button, on a phone: a first-time buyer in
Texas (sales tax comes with the address), Express chosen with no "Update totals" tap, and
a returning buyer who changes their address. The sandbox's ledger says what it charged."""

from __future__ import annotations

import re
from decimal import Decimal

from playwright.sync_api import expect
from sqlalchemy import select

from mercato.payments import service as payments
from mercato.payments.models import Payment
from tests.checkout.helpers import make_shop

TEXAS = {
    "name": "Tex Buyer",
    "line1": "500 Congress Ave",
    "city": "Austin",
    "region": "TX",
    "postal_code": "78701",
    "country": "US",
}


def _pay_button(page):
    return page.locator("#details button.pay")


def _cents(label: str) -> int:
    return int(Decimal(re.search(r"\$([\d,]+\.\d\d)", label).group(1).replace(",", "")) * 100)


def _charged(sessions) -> list[int]:
    """What the sandbox took for each payment that succeeded, oldest first."""
    with sessions() as session:
        refs = session.scalars(
            select(Payment.intent_ref)
            .where(Payment.status == "succeeded")
            .order_by(Payment.created_at)
        ).all()
    return [payments.sandbox().retrieve(ref).amount for ref in refs]


def _fill(page, address: dict, email: str | None = "tex@example.com"):
    if email:
        page.fill("input[name=email]", email)
    for field, value in address.items():
        page.fill(f"input[name={field}]", value)
    page.locator("input[name=email]").focus()  # leaving the last field: totals are redone


def _shows(page, button, cents: int):
    """Wait until the button shows ``cents`` (the buyer looks before tapping)."""
    expect(button).to_contain_text(f"${Decimal(cents) / 100:,.2f}", timeout=30_000)


def _buy(page, server):
    page.goto(f"{server}/shop/p/hoodie")
    page.get_by_role("button", name="Buy now").tap()
    page.wait_for_url("**/shop/checkout/**")


def test_a_first_time_buyer_in_texas_pays_what_the_button_says(server, phone, sessions, shots):
    make_shop(sessions, price=6500, image=f"{server}/shop/static/placeholder.svg")
    page = phone.new_page()
    _buy(page, server)
    pay = _pay_button(page)
    assert pay.inner_text() == "Pay $70.00"  # before the address: shipping, no tax yet
    _fill(page, TEXAS)
    # 65.00 + 6.25% Texas sales tax (4.06) + 5.00 shipping, on the button as typed.
    _shows(page, pay, 7406)
    page.screenshot(path=str(shots / "charge-1-texas.png"), full_page=True)
    shown = _cents(pay.inner_text())
    pay.tap()
    page.wait_for_url("**/thanks")
    assert _charged(sessions) == [shown] == [7406]


def test_express_chosen_without_another_tap_is_what_is_charged(server, phone, sessions, shots):
    make_shop(sessions, price=1800, image=f"{server}/shop/static/placeholder.svg")
    page = phone.new_page()
    _buy(page, server)
    pay = _pay_button(page)
    _fill(page, TEXAS)
    _shows(page, pay, 1800 + 112 + 500)
    page.check("input[name=shipping_rate][value=us-express]")
    _shows(page, pay, 1800 + 112 + 1500)
    assert page.locator("[data-rate=us-express]").inner_text() == "$15.00"
    page.screenshot(path=str(shots / "charge-2-express.png"), full_page=True)
    shown = _cents(pay.inner_text())
    pay.tap()
    page.wait_for_url("**/thanks")
    assert _charged(sessions) == [shown] == [3412]


def test_a_returning_buyer_who_changes_address_pays_what_the_button_says(
    server, phone, sessions, shots
):
    make_shop(sessions, price=3000, image=f"{server}/shop/static/placeholder.svg")
    page = phone.new_page()
    _buy(page, server)
    california = {**TEXAS, "city": "San Francisco", "region": "CA", "postal_code": "94105"}
    _fill(page, california)
    pay = _pay_button(page)
    _shows(page, pay, 3000 + 218 + 500)
    page.check("input[name=remember]")
    pay.tap()
    page.wait_for_url("**/thanks")

    # Another day: saved address and card; they are moving to Texas.
    _buy(page, server)
    assert "Welcome back" in page.content()
    assert page.locator("section.returning button.pay").inner_text() == "Pay $37.18"
    page.get_by_text("Change details").tap()
    _fill(page, TEXAS, email=None)
    _shows(page, pay, 3000 + 188 + 500)
    page.screenshot(path=str(shots / "charge-3-new-address.png"), full_page=True)
    shown = _cents(pay.inner_text())
    pay.tap()
    page.wait_for_url("**/thanks")
    assert _charged(sessions) == [3718, shown] and shown == 3688
