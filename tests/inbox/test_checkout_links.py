"""A checkout link sent in a conversation: the shop's cart with the items and coupon, and
the order it leads to attributed to the conversation."""

from __future__ import annotations

from urllib.parse import urlsplit

from sqlalchemy import select

from mercato.orders.models import Order
from tests.checkout.helpers import make_shop
from tests.helpers import BUYER, hidden_fields, pay_on_page
from tests.inbox.conftest import notification, now, text_message
from tests.offers.helpers import make_code


def test_a_link_sent_in_a_conversation_leads_to_an_order_attributed_to_it(
    client, admin, deliver, sessions
):
    make_shop(sessions)
    make_code(sessions, "CHAT10")
    deliver(notification([text_message("wamid.L1", "Can I get the hoodie in M?", now())]))
    [conversation] = client.get("/api/v1/conversations", headers=admin).json()["items"]
    sent = client.post(
        f"/api/v1/conversations/{conversation['id']}/checkout-links",
        headers=admin,
        json={
            "items": [{"sku": "HOODIE-M", "quantity": 2}],
            "coupon": "CHAT10",
            "text": "Here is your cart, 10% off:",
        },
    )
    assert sent.status_code == 202, sent.text
    body = sent.json()["content"]["text"]
    assert body["preview_url"] is True
    link = body["body"].splitlines()[-1]
    assert body["body"].startswith("Here is your cart, 10% off:")

    # The buyer taps the link: the cart, then the shop's checkout, then pays.
    parts = urlsplit(link)
    cart = client.get(f"{parts.path}?{parts.query}")
    assert cart.status_code == 200 and "CHAT10" in cart.text
    started = client.post("/shop/cart", data=hidden_fields(cart.text), follow_redirects=False)
    assert started.status_code == 303
    assert 'value="CHAT10"' in client.get(started.headers["location"]).text
    paid = pay_on_page(
        client,
        started.headers["location"],
        # The page's code field comes filled with the link's coupon.
        {**BUYER, "discount_code": "CHAT10", "payment_method": "tok_visa"},
        follow_redirects=False,
    )
    assert paid.status_code == 303, paid.text
    with sessions() as session:
        order = session.scalar(select(Order))
    assert order.attribution["conversation_id"] == conversation["id"]
    assert order.source == "whatsapp"
    assert order.attribution["utm"]["utm_medium"] == "chat"
    assert order.discount_total == 500  # 10% of 2 x 25.00


def test_a_link_to_something_not_for_sale_is_refused_naming_the_item(
    client, admin, deliver, sessions
):
    make_shop(sessions)
    deliver(notification([text_message("wamid.L2", "hi", now())]))
    [conversation] = client.get("/api/v1/conversations", headers=admin).json()["items"]
    refused = client.post(
        f"/api/v1/conversations/{conversation['id']}/checkout-links",
        headers=admin,
        json={"items": [{"sku": "HOODIE-M"}, {"sku": "NOPE"}]},
    )
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["loc"][-3:] == ["items", 1, "sku"]
