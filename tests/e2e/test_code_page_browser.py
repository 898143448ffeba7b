"""A code's page on a phone (390 px): the code in large type fits the screen, the QR is
shown whole and the button carries the code to the cart; printed, it is one page with the
code and QR and without the shop's bar or buttons."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from mercato.db import transaction
from mercato.offers import pages, service
from mercato.offers.schemas import CodesCreate, OfferCreate
from tests.checkout.helpers import make_shop
from tests.e2e.conftest import PHONE


def test_a_single_use_code_page_at_a_phone_viewport(server, phone, sessions, shots):
    make_shop(sessions)
    with transaction(sessions) as session:
        offer = service.create_offer(
            session, OfferCreate(name="Welcome gift", kind="percentage", value=20)
        )
        service.generate_codes(session, offer.id, CodesCreate(count=1, prefix="WELCOME-SPRING-"))
        [code] = service.codes_of(session, offer.id)
        path = pages.page_path(code.code)
    page = phone.new_page()
    page.goto(server + path)
    shown = page.locator("#code")
    expect(shown).to_have_text(code.code)
    expect(page.locator("#headline")).to_have_text("20% off")
    expect(page.locator(".qr-box svg")).to_be_visible()
    # Large type, and nothing wider than the phone: no sideways scrolling.
    assert float(shown.evaluate("e => parseFloat(getComputedStyle(e).fontSize)")) >= 26
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
    box = page.locator(".qr-box svg").bounding_box()
    assert box and box["width"] >= 200 and box["x"] >= 0
    assert box["x"] + box["width"] <= PHONE["width"]
    page.screenshot(path=str(shots / "code-page-390.png"), full_page=True)
    # Printed: the bar and the button go, the code and its QR stay.
    page.emulate_media(media="print")
    expect(page.locator("#shop")).to_be_hidden()
    expect(page.locator("header.bar")).to_be_hidden()
    expect(shown).to_be_visible()
    expect(page.locator(".qr-box svg")).to_be_visible()
    pdf = page.pdf(format="A4")
    assert len(re.findall(rb"/Type\s*/Page(?!s)", pdf)) == 1  # one code, one printed page
    page.emulate_media(media="screen")
    page.locator("#shop").click()
    expect(page).to_have_url(f"{server}/shop/cart?coupon={code.code}")
