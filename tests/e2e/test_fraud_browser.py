"""On a phone: the dashboard's fraud review queue fits the screen, shows each held
order's score and reasons, and approves one with a tap."""

from __future__ import annotations

from mercato.auth import service as auth_service
from mercato.db import transaction
from tests.checkout.helpers import make_shop
from tests.fraud.test_screening import _buy, _configure


def test_a_merchant_reviews_held_orders_on_a_phone(server, phone, shots, client, sessions, admin):
    make_shop(sessions, on_hand=10, price=2500)
    _configure(client, admin, hold_at=30)
    for i in range(2):
        _buy(client, f"x{i}@mailinator.com", f"d{i}", method="tok_riskLevelElevated", key=f"p{i}")
    with transaction(sessions) as session:
        secret = auth_service.create_token(session, "phone", ["fraud:write"]).secret

    page = phone.new_page()
    page.goto(f"{server}/admin/login")
    page.fill("input[name=token]", secret)
    page.click("button[type=submit]")
    page.goto(f"{server}/admin/fraud")
    reviews = page.locator("#reviews article.review")
    assert reviews.count() == 2
    assert "throw-away email domain" in reviews.first.inner_text()
    page.screenshot(path=str(shots / "admin-fraud-phone.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390

    reviews.first.locator("input[name=note]").first.fill("known buyer")
    reviews.first.get_by_role("button", name="Approve").click()
    page.wait_for_selector(".flash.ok")
    assert "approved" in page.locator(".flash.ok").inner_text()
    assert page.locator("#reviews article.review").count() == 1
    page.screenshot(path=str(shots / "admin-fraud-approved-phone.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
