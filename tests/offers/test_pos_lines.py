"""A till that sends its ticket's lines gets the discount the checkout would give the same
items (scope by product, variant or collection, buy X get Y, bundle prices); a till that
sends only a subtotal is told to send lines for an offer limited to products."""

from __future__ import annotations

from mercato.catalog.models import Variant
from mercato.offers.models import Redemption
from tests.checkout.helpers import fill, make_shop, start
from tests.offers.helpers import make_code


def _shop(sessions) -> dict[str, str]:
    """A hoodie (S, M at 25.00) and a cap (one size at 15.00): {sku: variant id}."""
    return {**make_shop(sessions), **make_shop(sessions, price=1500, handle="cap", sizes=("OS",))}


def _product_of(sessions, variant_id: str) -> str:
    with sessions() as session:
        return session.get(Variant, variant_id).product_id


def _ticket(code: str, n: int = 1, **extra) -> dict:
    return {"code": code, "location_id": "shop-1", "ticket": f"T{n}", "currency": "USD", **extra}


def _asked(code: str, **extra) -> dict:
    """A validation: the same, without a ticket number."""
    return {k: v for k, v in _ticket(code, **extra).items() if k != "ticket"}


def test_a_ticket_with_lines_takes_off_what_the_checkout_takes_off_the_same_items(
    client, admin, make_token, sessions
):
    ids = _shop(sessions)
    caps = client.post(
        "/api/v1/collections",
        headers=admin,
        json={"title": "Caps", "product_ids": [_product_of(sessions, ids["CAP-OS"])]},
    )
    assert caps.status_code == 201, caps.text
    make_code(sessions, "CAPS20", value=20, collection_ids=["caps"])
    online = fill(
        client,
        start(client, items=(("HOODIE-M", 1), ("CAP-OS", 2)), discount_code="CAPS20")["token"],
    )
    till = make_token("pos:write")
    lines = [
        {"sku": "HOODIE-M", "quantity": 1, "unit_price": 2500},
        {"variant_id": ids["CAP-OS"], "quantity": 2, "unit_price": 1500},
    ]
    checked = client.post("/api/v1/pos/validate", headers=till, json=_asked("CAPS20", lines=lines))
    assert checked.status_code == 200, checked.text
    assert checked.json()["valid"] is True
    assert checked.json()["discount"] == online["discount_total"] == 600
    made = client.post("/api/v1/pos/redemptions", headers=till, json=_ticket("CAPS20", lines=lines))
    assert made.status_code == 201, made.text
    assert made.json()["amount"] == 600 and made.json()["subtotal"] == 5500
    # A ticket holding none of its products takes nothing: refused, as a cart would be.
    hoodie = [lines[0]]
    none = client.post(
        "/api/v1/pos/redemptions", headers=till, json=_ticket("CAPS20", 2, lines=hoodie)
    )
    assert none.status_code == 409 and none.json()["reason"] == "applies to none of these items"


def test_buy_x_get_y_and_a_bundle_are_priced_on_the_tickets_lines(
    client, admin, make_token, sessions
):
    ids = _shop(sessions)
    make_code(sessions, "B2G1", kind="buy_x_get_y", value=100, buy_quantity=2, get_quantity=1)
    bundle = [{"variant_id": ids["HOODIE-M"]}, {"variant_id": ids["CAP-OS"]}]
    make_code(sessions, "KIT", kind="bundle", value=3000, currency="USD", bundle=bundle)
    till = make_token("pos:write")
    three = [
        {"sku": "HOODIE-M", "quantity": 2, "unit_price": 2500},
        {"sku": "CAP-OS", "quantity": 1, "unit_price": 1500},
    ]
    free_cap = client.post(
        "/api/v1/pos/redemptions", headers=till, json=_ticket("B2G1", lines=three)
    )
    assert free_cap.status_code == 201, free_cap.text
    assert free_cap.json()["amount"] == 1500  # the cheapest of three comes free
    kit = client.post("/api/v1/pos/redemptions", headers=till, json=_ticket("KIT", 2, lines=three))
    assert kit.status_code == 201, kit.text
    assert kit.json()["amount"] == 1000  # one hoodie and the cap for 30.00 instead of 40.00
    online = fill(
        client, start(client, items=(("HOODIE-M", 2), ("CAP-OS", 1)), discount_code="KIT")["token"]
    )
    assert online["discount_total"] == 1000
    # One sum cannot say whether the bundle is on the ticket.
    bare = client.post(
        "/api/v1/pos/redemptions", headers=till, json=_ticket("KIT", 3, subtotal=6500)
    )
    assert bare.status_code == 422
    assert bare.json()["errors"][0]["loc"] == ["lines"]


def test_an_offer_limited_to_products_needs_the_tickets_lines(client, make_token, sessions):
    ids = _shop(sessions)
    make_code(sessions, "HOODIE10", product_ids=[_product_of(sessions, ids["HOODIE-M"])])
    make_code(sessions, "ALL10")
    till = make_token("pos:write")
    bare = client.post(
        "/api/v1/pos/redemptions", headers=till, json=_ticket("HOODIE10", subtotal=5000)
    )
    assert bare.status_code == 422
    error = bare.json()["errors"][0]
    assert error["loc"] == ["lines"]
    assert error["message"] == "this code applies to specific products: send the ticket's lines"
    checked = client.post(
        "/api/v1/pos/validate", headers=till, json=_asked("HOODIE10", subtotal=5000)
    )
    assert checked.status_code == 200 and checked.json()["valid"] is False
    assert "send the ticket's lines" in checked.json()["reason"]
    # An offer on everything still takes a bare subtotal, as before.
    plain = client.post(
        "/api/v1/pos/redemptions", headers=till, json=_ticket("ALL10", subtotal=5000)
    )
    assert plain.status_code == 201 and plain.json()["amount"] == 500
    with sessions() as session:
        assert session.query(Redemption).count() == 1


def test_a_line_naming_no_variant_is_refused_naming_its_index_and_nothing_is_redeemed(
    client, make_token, sessions
):
    _shop(sessions)
    make_code(sessions, "ALL10")
    till = make_token("pos:write")
    lines = [
        {"sku": "HOODIE-M", "quantity": 1, "unit_price": 2500},
        {"sku": "NOPE-1", "quantity": 1, "unit_price": 900},
    ]
    wrong = client.post("/api/v1/pos/redemptions", headers=till, json=_ticket("ALL10", lines=lines))
    assert wrong.status_code == 422
    body = wrong.json()
    assert body["errors"][0]["loc"] == ["lines", 1, "sku"]
    assert "line 1" in body["errors"][0]["message"] and "NOPE-1" in body["errors"][0]["message"]
    checked = client.post("/api/v1/pos/validate", headers=till, json=_asked("ALL10", lines=lines))
    assert checked.status_code == 422
    neither = client.post(
        "/api/v1/pos/redemptions",
        headers=till,
        json=_ticket("ALL10", lines=[{"quantity": 1, "unit_price": 100}]),
    )
    assert neither.status_code == 422
    off = client.post(
        "/api/v1/pos/redemptions",
        headers=till,
        json=_ticket("ALL10", subtotal=100, lines=lines[:1]),
    )
    assert off.status_code == 422 and off.json()["errors"][0]["loc"] == ["subtotal"]
    nothing = client.post("/api/v1/pos/redemptions", headers=till, json=_ticket("ALL10"))
    assert nothing.status_code == 422 and nothing.json()["errors"][0]["loc"] == ["subtotal"]
    with sessions() as session:
        assert session.query(Redemption).count() == 0
