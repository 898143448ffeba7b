"""On a phone: a merchant creates a market in the dashboard; a refusal shows under its
field, the corrected form saves, and the page fits 390 px."""

from __future__ import annotations

from playwright.sync_api import expect

from mercato.auth import service as auth_service
from mercato.db import transaction
from mercato.markets import service as markets


def test_a_merchant_creates_a_market_on_a_phone(server, phone, shots, sessions):
    with transaction(sessions) as session:
        secret = auth_service.create_token(session, "phone", ["markets:write"]).secret
    page = phone.new_page()
    page.goto(f"{server}/admin/login")
    page.fill("input[name=token]", secret)
    page.click("button[type=submit]")
    page.goto(f"{server}/admin/markets")
    page.click("#new-market")
    page.fill("#f-code", "nl")
    page.fill("#f-name", "Nederland")
    page.fill("#f-countries", "NL, QQ")
    page.fill("#f-currency", "EUR")
    page.fill("#f-languages", "nl, en")
    page.check("input[name=payment_methods][value=ideal]")
    page.get_by_role("button", name="Create market").click()
    error = page.locator('[data-error-for="countries"]')
    expect(error).to_contain_text("'QQ' is not a country code")
    expect(page.locator("#f-countries")).to_have_attribute("aria-invalid", "true")
    page.screenshot(path=str(shots / "admin-market-refused-phone.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390

    page.fill("#f-countries", "NL")
    page.get_by_role("button", name="Create market").click()
    expect(page.locator(".flash.ok")).to_contain_text("Market nl created.")
    expect(page.locator("#markets")).to_contain_text("Nederland")
    page.screenshot(path=str(shots / "admin-market-created-phone.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.goto(f"{server}/admin/markets/nl/edit")
    page.screenshot(path=str(shots / "admin-market-edit-phone.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    with sessions() as session:
        market = markets.get_market(session, "nl")
        assert market.countries == ["NL"] and market.payment_methods == ["card", "ideal"]
