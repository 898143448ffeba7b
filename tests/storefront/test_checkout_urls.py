"""Meta's checkout URL and Google's checkout URL template land on the storefront: the
cart the platform asks for, its subtotal and coupon, unknown and sold-out ids told to the
buyer, attribution kept; no prior session needed (PLATFORMS.md §1.6, §2.6)."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from mercato.catalog.models import Variant
from mercato.channels import service as channels
from mercato.channels.models import Listing
from mercato.channels.schemas import ChannelCreate
from mercato.checkout.models import Checkout
from mercato.cli import app
from mercato.db import transaction
from mercato.inventory import counts
from mercato.storefront.platform_carts import wanted
from tests.checkout.helpers import make_shop
from tests.helpers import hidden_fields
from tests.offers.helpers import make_code


def _channel(sessions, kind: str, name: str | None = None) -> str:
    with transaction(sessions) as session:
        return channels.create_channel(
            session,
            ChannelCreate(kind=kind, name=name or kind, settings={"catalog_id": "1"}),
        ).id


@pytest.fixture
def shop(sessions):
    ids = make_shop(sessions, on_hand_by_size={"S": 0, "M": 3, "L": 5}, sizes=("S", "M", "L"))
    make_code(sessions, "SPRING10")
    return ids


def test_meta_checkout_url_fills_the_cart_and_keeps_attribution(client, sessions, shop):
    meta = _channel(sessions, "meta")
    m, big = shop["HOODIE-M"], shop["HOODIE-L"]
    # Commas and colons arrive percent-encoded, as Meta sends them.
    url = (
        f"/shop/from/{meta}?products={m}%3A2%2C{big}%3A1&coupon=SPRING10"
        "&fbclid=IwAR0abc&cart_origin=meta_shops&utm_source=instagram&utm_campaign=drop"
    )
    assert not client.cookies  # no prior session
    page = client.get(url)
    assert page.status_code == 200, page.text
    html = page.text
    assert "Qty 2 × $25.00" in html and "Qty 1 × $25.00" in html
    assert "$75.00" in html and "−$7.50" in html and "$67.50" in html
    started = client.post(f"/shop/from/{meta}", data=hidden_fields(html), follow_redirects=False)
    assert started.status_code == 303, started.text
    checkout_page = client.get(started.headers["location"]).text
    assert "Discount (SPRING10)" in checkout_page and "−$7.50" in checkout_page
    with sessions() as session:
        [made] = session.scalars(select(Checkout)).all()
        assert sorted((ln.variant_id, ln.quantity) for ln in made.lines) == sorted(
            [(m, 2), (big, 1)]
        )
        assert made.attribution["source"] == "meta"
        assert made.attribution["utm"] == {
            "utm_source": "instagram",
            "utm_campaign": "drop",
            "fbclid": "IwAR0abc",
            "cart_origin": "meta_shops",
        }


def test_unknown_and_sold_out_ids_are_told_not_dropped(client, sessions, shop):
    meta = _channel(sessions, "meta")
    sold_out, m = shop["HOODIE-S"], shop["HOODIE-M"]
    html = client.get(f"/shop/from/{meta}?products=nope:1,{sold_out}:1,{m}:5,bad").text
    assert "Cloud Hoodie (S) is sold out" in html
    assert "(nope) is no longer for sale" in html
    assert "has only 3 left: 3 in your cart" in html
    assert "could not be read" in html
    assert "Qty 3 × $25.00" in html and "$75.00" in html
    nothing = client.get(f"/shop/from/{meta}?products=nope:1,{sold_out}:2")
    assert nothing.status_code == 200
    assert "Nothing from this link can be bought right now" in nothing.text
    assert "Cloud Hoodie (S) is sold out" in nothing.text
    empty = client.get(f"/shop/from/{meta}")
    assert empty.status_code == 200 and "Nothing from this link" in empty.text


def test_the_content_id_is_the_item_id_pushed_to_that_channel(client, sessions, shop):
    meta = _channel(sessions, "meta")
    with transaction(sessions) as session:
        variant = shop["HOODIE-L"]
        product_id = session.get(Variant, variant).product_id
        session.add(
            Listing(channel_id=meta, variant_id=variant, product_id=product_id, item_id="fb-42")
        )
    html = client.get(f"/shop/from/{meta}?products=fb-42%3A2").text
    assert "Qty 2 × $25.00" in html and "<small>L</small>" in html


def test_google_checkout_template_puts_one_offer_in_the_cart(client, sessions, shop):
    google = _channel(sessions, "google")
    html = client.get(f"/shop/from/{google}?item={shop['HOODIE-M']}&gclid=abc").text
    assert "Qty 1 × $25.00" in html and "$25.00" in html
    started = client.post(f"/shop/from/{google}", data=hidden_fields(html), follow_redirects=False)
    assert started.status_code == 303
    with sessions() as session:
        made = session.scalars(select(Checkout)).one()
        assert made.attribution["source"] == "google"
        assert made.attribution["utm"] == {"gclid": "abc"}


def test_links_of_unknown_or_other_channels_lead_nowhere_politely(client, sessions, shop):
    tiktok = _channel(sessions, "tiktok")
    for url in (f"/shop/from/{tiktok}?products=x:1", "/shop/from/chn_nope?products=x:1"):
        response = client.get(url)
        assert response.status_code == 404 and "does not lead to a cart" in response.text


def test_a_cart_that_changed_since_the_page_is_checked_again(client, sessions, shop):
    meta = _channel(sessions, "meta")
    html = client.get(f"/shop/from/{meta}?products={shop['HOODIE-M']}:1").text
    form = hidden_fields(html)
    assert client.post(f"/shop/from/{meta}", data={**form, "csrf": "x"}).status_code == 403
    with transaction(sessions) as session:
        counts.set_on_hand(session, {shop["HOODIE-M"]: 0})
    refused = client.post(f"/shop/from/{meta}", data=form)
    assert "Nothing in this cart can be bought now" in refused.text


def test_entries_split_at_the_last_colon_and_add_up():
    found, unreadable = wanted({"products": "a:b:2,c:1,c:3,d:0,e:x,f"})
    assert [(w.content_id, w.quantity) for w in found] == [("a:b", 2), ("c", 4)]
    assert [u.content_id for u in unreadable] == ["d:0", "e:x", "f"]


def test_the_channel_shows_the_url_to_paste(client, sessions, admin):
    meta = _channel(sessions, "meta", "fb")
    google = _channel(sessions, "google", "ggl")
    shown = CliRunner().invoke(app, ["channels", "show", "fb"])
    assert f"/shop/from/{meta}" in shown.output
    shown = CliRunner().invoke(app, ["channels", "show", "ggl"])
    assert f"/shop/from/{google}?item={{id}}" in shown.output
    client.post("/admin/login", data={"token": admin["Authorization"].removeprefix("Bearer ")})
    page = client.get(f"/admin/channels/{meta}")
    assert f"/shop/from/{meta}" in page.text and "checkout URL" in page.text
