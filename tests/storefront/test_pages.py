"""Storefront pages: product and cart links carry attribution into the order; forms are
CSRF-protected; personal details never appear in URLs."""

from __future__ import annotations

import re

from sqlalchemy import select

from mercato.orders.models import Order
from mercato.payments import service as payments
from mercato.payments.models import Payment
from tests.checkout.helpers import make_shop
from tests.helpers import ADDRESS, BUYER, hidden_fields, pay_on_page
from tests.offers.helpers import make_code

LINK = "utm_source=ig&utm_campaign=spring&ch=instagram&ref=ana&post=p123"


def test_product_page_shows_price_stock_and_sold_out(client, sessions):
    make_shop(sessions, on_hand_by_size={"S": 0, "M": 3})
    page = client.get(f"/shop/p/hoodie?{LINK}")
    assert page.status_code == 200
    html = page.text
    assert "Cloud Hoodie" in html and "$25.00" in html and "Only 3 left" in html
    assert "Sold out" in html and "Buy now" in html
    assert 'name="ref" value="ana"' in html
    assert client.get("/shop/p/nothing").status_code == 404


def test_product_page_in_the_visitors_currency(client, sessions):
    make_shop(sessions)
    html = client.get("/shop/p/hoodie", headers={"Accept-Language": "de-DE"}).text
    # 25.00 USD at 0.92, formatted for German readers, VAT included.
    assert "23,00\xa0€" in html and "Tax included" in html


def test_buy_now_to_paid_order_with_attribution(client, sessions):
    ids = make_shop(sessions)
    html = client.get(f"/shop/p/hoodie?{LINK}").text
    form = hidden_fields(html)
    form["variant_id"] = ids["HOODIE-M"]
    bought = client.post("/shop/buy", data=form, follow_redirects=False)
    assert bought.status_code == 303
    checkout_url = bought.headers["location"]
    page = client.get(checkout_url)
    assert "Items reserved for you" in page.text
    fields = hidden_fields(page.text)
    details = {**BUYER, "payment_method": "tok_visa"}
    charges = payments.sandbox().charges()
    # Pay tapped with the total shown before the address: tax changes it, so nothing is
    # charged and the page shows the new total on the button.
    assert fields["shown_total"] == "3000"
    stale = client.post(checkout_url, data={**fields, "action": "pay", **details})
    assert stale.status_code == 409 and "Nothing was charged" in stale.text
    assert "Pay $31.81" in stale.text and payments.sandbox().charges() == charges
    fields = hidden_fields(stale.text)
    assert fields["shown_total"] == "3181"
    paid = client.post(
        checkout_url, data={**fields, "action": "pay", **details}, follow_redirects=False
    )
    assert paid.status_code == 303 and paid.headers["location"].endswith("/thanks")
    assert "ada@example.com" not in paid.headers["location"]
    thanks = client.get(paid.headers["location"])
    assert "Thank you" in thanks.text
    with sessions() as session:
        order = session.scalar(select(Order))
        payment = session.scalar(select(Payment))
    assert order.total == payment.amount == 3181 and payment.order_id == order.id
    assert (order.source, order.creator, order.content_id, order.campaign) == (
        "instagram",
        "ana",
        "p123",
        "spring",
    )
    assert order.attribution["utm"] == {"utm_source": "ig", "utm_campaign": "spring"}


def test_forms_need_the_csrf_token(client, sessions):
    ids = make_shop(sessions)
    client.get("/shop/p/hoodie")
    refused = client.post("/shop/buy", data={"variant_id": ids["HOODIE-M"], "csrf": "x"})
    assert refused.status_code == 403
    assert client.get("/shop/cart?items=HOODIE-M:1").status_code == 200


def test_cart_link_rebuilds_the_cart_with_coupon(client, sessions):
    make_shop(sessions)
    make_code(sessions, "SPRING10")
    page = client.get(f"/shop/cart?items=HOODIE-M:2,HOODIE-S:1&coupon=SPRING10&{LINK}")
    assert page.status_code == 200 and "$75.00" in page.text and "SPRING10" in page.text
    started = client.post("/shop/cart", data=hidden_fields(page.text), follow_redirects=False)
    assert started.status_code == 303
    checkout = client.get(started.headers["location"]).text
    assert "Discount (SPRING10)" in checkout and "−$7.50" in checkout
    bad = client.get("/shop/cart?items=HOODIE-M:x")
    assert bad.status_code == 422 and "SKU:QTY" in bad.text


def test_declined_card_shows_a_clear_message(client, sessions):
    make_shop(sessions)
    html = client.get("/shop/p/hoodie").text
    form = hidden_fields(html)
    form["variant_id"] = re.search(r'name="variant_id" value="([^"]+)"', html).group(1)
    url = client.post("/shop/buy", data=form, follow_redirects=False).headers["location"]
    declined = pay_on_page(
        client,
        url,
        {
            "email": "ada@example.com",
            "name": "Ada",
            "line1": "1 Market St",
            "city": "San Francisco",
            "region": "CA",
            "postal_code": "94105",
            "country": "US",
            "payment_method": "tok_chargeDeclined",
        },
    )
    assert declined.status_code == 402
    assert "Your card was declined" in declined.text
    with sessions() as session:
        assert session.scalar(select(Order)) is None


def test_returning_buyer_pays_with_saved_details(client, sessions):
    ids = make_shop(sessions)

    def buy(extra):
        html = client.get("/shop/p/hoodie").text
        form = {**hidden_fields(html), "variant_id": ids["HOODIE-M"]}
        url = client.post("/shop/buy", data=form, follow_redirects=False).headers["location"]
        page = client.get(url).text
        if extra.get("saved"):
            fields = hidden_fields(page)
            return page, client.post(
                url, data={**fields, "action": "pay", **extra}, follow_redirects=False
            )
        return page, pay_on_page(client, url, extra, follow_redirects=False)

    _, first = buy(
        {
            "email": "ada@example.com",
            **ADDRESS,
            "payment_method": "tok_visa",
            "remember": "on",
        }
    )
    assert first.status_code == 303 and "mercato_buyer" in first.headers["set-cookie"]
    page, second = buy({"saved": "1", "payment_method": "saved"})
    assert "Welcome back" in page and "Visa •••• 4242" in page
    assert second.status_code == 303 and second.headers["location"].endswith("/thanks")
    with sessions() as session:
        assert len(list(session.scalars(select(Order)))) == 2
