"""In a browser, at desktop size and on a phone: a merchant makes an offer with a code
(a refusal shows under its field first), finds it in the list, changes it, deactivates
it, and makes a creator; every page fits the phone's 390 px."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from mercato.auth import service as auth_service
from mercato.creators.models import Creator
from mercato.db import transaction
from mercato.offers.models import Offer, OfferCode
from tests.e2e.conftest import PHONE

DESKTOP = {"width": 1280, "height": 900}


@pytest.fixture(params=["desktop", "phone"])
def screen(request, browser):
    if request.param == "phone":
        context = browser.new_context(
            viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True, locale="en-US"
        )
    else:
        context = browser.new_context(viewport=DESKTOP, locale="en-US")
    context.set_default_timeout(15_000)
    yield request.param, context
    context.close()


def _fits(page, name: str) -> None:
    if name == "phone":
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def test_a_merchant_makes_an_offer_changes_it_deactivates_it_and_makes_a_creator(
    server, screen, shots, sessions
):
    name, context = screen
    with transaction(sessions) as session:
        secret = auth_service.create_token(
            session,
            "merchant",
            ["offers:read", "offers:write", "creators:read", "creators:write"],
        ).secret
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())  # "Deactivate ...?"
    page.goto(f"{server}/admin/login")
    page.fill("input[name=token]", secret)
    page.click("button[type=submit]")

    page.goto(f"{server}/admin/offers")
    page.click("#new-offer")
    page.fill("#f-name", "Spring sale")
    page.select_option("#f-kind", "buy_x_get_y")
    expect(page.locator("#f-buy_quantity")).to_be_visible()
    expect(page.locator("#f-tiers")).to_be_hidden()
    page.select_option("#f-kind", "percentage")
    expect(page.locator("#f-buy_quantity")).to_be_hidden()
    page.fill("#f-value", "150")
    page.fill("#f-starts_at", "2026-03-01T09:00")
    page.fill("#f-ends_at", "2026-04-01T00:00")
    page.fill("#f-max_uses", "100")
    page.fill("#f-per_customer", "1")
    page.check("input[name=channels][value=storefront]")
    page.check("input[name=channels][value=pos]")
    page.fill("#f-code", "SPRING15")
    page.get_by_role("button", name="Create offer").click()
    error = page.locator('[data-error-for=".value"]')
    expect(error).to_contain_text("a percentage is between 1 and 100")
    expect(page.locator("#f-value")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#f-code")).to_have_value("SPRING15")  # kept as typed
    page.screenshot(path=str(shots / f"admin-offer-refused-{name}.png"), full_page=True)
    _fits(page, name)

    page.fill("#f-value", "15")
    page.get_by_role("button", name="Create offer").click()
    expect(page.locator(".flash.ok")).to_contain_text("Offer Spring sale created.")
    expect(page.locator("#codes")).to_contain_text("SPRING15")
    page.screenshot(path=str(shots / f"admin-offer-made-{name}.png"), full_page=True)
    _fits(page, name)

    page.goto(f"{server}/admin/offers")
    expect(page.locator("#offers")).to_contain_text("Spring sale")
    page.screenshot(path=str(shots / f"admin-offers-{name}.png"), full_page=True)
    _fits(page, name)
    page.locator("#offers").get_by_role("link", name="Spring sale").click()

    page.fill("#edit-max_uses", "250")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".flash.ok")).to_contain_text("Offer saved.")
    expect(page.locator("#edit-max_uses")).to_have_value("250")
    page.fill("#batch-count", "20")
    page.get_by_role("button", name="Generate codes").click()
    expect(page.locator("#batch-ready")).to_contain_text("download the CSV")
    with page.expect_download() as download:
        page.click("#batch-csv")
    assert download.value.suggested_filename.endswith("-codes.csv")
    page.get_by_role("button", name="Deactivate").click()
    expect(page.locator(".flash.ok")).to_contain_text("Offer deactivated.")
    expect(page.locator("#offer-status")).to_have_text("inactive")
    page.screenshot(path=str(shots / f"admin-offer-deactivated-{name}.png"), full_page=True)
    _fits(page, name)

    page.goto(f"{server}/admin/creators")
    page.click("#new-creator")
    page.fill("#f-handle", "ada")
    page.fill("#f-name", "Ada Lovelace")
    page.fill("#f-commission", "12.5")
    page.fill("#f-stripe_account", "acct_1Ada")
    page.get_by_role("button", name="Create creator").click()
    expect(page.locator(".flash.ok")).to_contain_text("Creator @ada created.")
    expect(page.locator("#creator-page")).to_contain_text("/shop/creators/")
    page.fill("#code-code", "ADA10")
    page.get_by_role("button", name="Make code").click()
    expect(page.locator("#creator-codes")).to_contain_text("ADA10")
    page.screenshot(path=str(shots / f"admin-creator-{name}.png"), full_page=True)
    _fits(page, name)

    with sessions() as session:
        offer = session.scalar(select(Offer).where(Offer.name == "Spring sale"))
        assert offer.value == 15 and offer.max_uses == 250 and offer.active is False
        assert session.get(OfferCode, "SPRING15").offer_id == offer.id
        creator = session.scalar(select(Creator))
        assert creator.commission_value == 1250 and creator.stripe_account == "acct_1Ada"
