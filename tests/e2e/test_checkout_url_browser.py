"""Meta's checkout URL on a phone: a buyer with no session lands on the cart Meta asked
for, sees what is sold out, and reaches checkout with one tap."""

from __future__ import annotations

from mercato.channels import service as channels
from mercato.channels.schemas import ChannelCreate
from mercato.db import transaction
from tests.checkout.helpers import make_shop


def test_a_meta_checkout_url_on_a_phone(server, phone, sessions, shots):
    ids = make_shop(
        sessions,
        image=f"{server}/shop/static/placeholder.svg",
        on_hand_by_size={"S": 0, "M": 3},
    )
    with transaction(sessions) as session:
        meta = channels.create_channel(
            session, ChannelCreate(kind="meta", name="fb", settings={"catalog_id": "1"})
        ).id
    page = phone.new_page()
    page.goto(
        f"{server}/shop/from/{meta}?products={ids['HOODIE-M']}%3A2%2C{ids['HOODIE-S']}%3A1"
        "&cart_origin=meta_shops&fbclid=IwAR0"
    )
    assert "Cloud Hoodie (S) is sold out" in page.locator(".notice").inner_text()
    assert "Qty 2" in page.locator(".lines").inner_text()
    # Nothing wider than the phone.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=str(shots / "meta-checkout-url.png"), full_page=True)
    page.get_by_role("button", name="Check out").tap()
    page.wait_for_url("**/shop/checkout/**")
    page.screenshot(path=str(shots / "meta-checkout-url-checkout.png"), full_page=True)
