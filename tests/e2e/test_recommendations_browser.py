"""On a phone: the product page's "often bought with" row scrolls sideways and leads to
the product, and the dashboard's recommendations page fits the screen."""

from __future__ import annotations

from mercato.auth import service as auth_service
from mercato.db import transaction
from mercato.recommendations import training
from tests.recommendations.conftest import NOW, History


def test_a_buyer_on_a_phone_goes_from_a_product_to_what_is_bought_with_it(
    server, phone, shots, sessions
):
    history = History(sessions)
    for _ in range(3):
        history.order("espresso", "grinder")
    for _ in range(2):
        history.order("espresso", "filters")
        history.order("tea")
    training.train(sessions, NOW)

    page = phone.new_page()
    page.goto(f"{server}/shop/p/espresso")
    row = page.locator("section.recommended")
    row.scroll_into_view_if_needed()
    assert row.locator("h2").inner_text() == "Often bought with"
    assert row.locator("li .title").all_inner_texts() == ["Grinder Equipment", "Filters Equipment"]
    page.screenshot(path=str(shots / "product-recommended-phone.png"), full_page=True)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390  # the row scrolls inside itself, the page does not
    row.locator("li a").first.click()
    page.wait_for_url(f"{server}/shop/p/grinder")
    assert page.locator("h1").inner_text() == "Grinder Equipment"

    with transaction(sessions) as session:
        secret = auth_service.create_token(session, "phone", ["recommendations:write"]).secret
    page.goto(f"{server}/admin/login")
    page.fill("input[name=token]", secret)
    page.click("button[type=submit]")
    page.goto(f"{server}/admin/recommendations")
    assert page.locator("#model-personal").count() == 0  # no buyer with two orders
    page.screenshot(path=str(shots / "admin-recommendations-phone.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
