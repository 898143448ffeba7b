"""Bundle prices, offers limited to collections and to markets: priced exactly on the
lines, refused at creation when they name what does not exist, and at a checkout (or a
till) outside their scope."""

from __future__ import annotations

from sqlalchemy import select
from typer.testing import CliRunner

from mercato.catalog.models import Variant
from mercato.cli import app as cli
from mercato.markets import rates
from mercato.offers import pricing
from mercato.offers.models import Offer, OfferCode
from tests.checkout.helpers import complete, fill, make_shop, start
from tests.markets.test_markets import AMSTERDAM, NL, US, market


def _same(amount: int, source: str, target: str) -> int:
    return amount


def _shop(sessions) -> dict[str, str]:
    """A hoodie (S, M at 25.00) and a cap (one size at 15.00): {sku: variant id}."""
    return {**make_shop(sessions), **make_shop(sessions, price=1500, handle="cap", sizes=("OS",))}


def _product_of(sessions, variant_id: str) -> str:
    with sessions() as session:
        return session.get(Variant, variant_id).product_id


# ---------------------------------------------------------------- bundle: pricing


def test_a_bundle_repeats_as_often_as_the_cart_holds_it_and_its_shares_add_up():
    bundle = ({"variant_id": "v-tee", "quantity": 1}, {"variant_id": "v-cap", "quantity": 1})
    terms = pricing.Terms("bundle", 3000, "USD", bundle=bundle)
    lines = [pricing.Line("v-tee", "p-tee", 2000, 3), pricing.Line("v-cap", "p-cap", 1500, 2)]
    done = pricing.apply(terms, lines, "USD", _same)
    # Two whole bundles (tee + cap = 35.00 each, sold for 30.00): 10.00 off in all; the
    # third tee is outside any bundle.
    assert done.amount == 1000 and sum(done.lines) == 1000 and done.why_not is None
    assert done.lines == (571, 429)  # in proportion to 40.00 and 30.00 put into bundles
    assert all(0 <= off <= ln.gross for off, ln in zip(done.lines, lines, strict=True))


def test_a_bundle_needs_all_its_items_and_a_price_below_theirs():
    bundle = ({"variant_id": "v-tee", "quantity": 2}, {"variant_id": "v-cap", "quantity": 1})
    lines = [pricing.Line("v-tee", "p-tee", 2000, 1), pricing.Line("v-cap", "p-cap", 1500, 1)]
    short = pricing.apply(pricing.Terms("bundle", 3000, "USD", bundle=bundle), lines, "USD", _same)
    assert short.amount == 0 and "every item" in short.why_not
    dear = pricing.apply(
        pricing.Terms("bundle", 9000, "USD", bundle=bundle),
        [pricing.Line("v-tee", "p-tee", 2000, 2), lines[1]],
        "USD",
        _same,
    )
    assert dear.amount == 0 and "not below" in dear.why_not


def test_a_product_item_takes_its_dearest_variants_first():
    bundle = ({"product_id": "p-tee", "quantity": 2}, {"variant_id": "v-cap", "quantity": 1})
    lines = [
        pricing.Line("v-tee-s", "p-tee", 1800, 1),
        pricing.Line("v-cap", "p-cap", 1500, 1),
        pricing.Line("v-tee-xl", "p-tee", 2200, 2),
    ]
    done = pricing.apply(pricing.Terms("bundle", 5000, "USD", bundle=bundle), lines, "USD", _same)
    # The cap (filled first: it names a variant), then the two XL tees: 59.00 for 50.00.
    assert done.amount == 900 and done.lines[0] == 0 and sum(done.lines) == 900


# ---------------------------------------------------------------- bundle: made and redeemed


def test_a_bundle_is_refused_when_its_items_do_not_exist_or_it_saves_nothing(
    client, admin, sessions
):
    ids = _shop(sessions)
    unknown = client.post(
        "/api/v1/offers",
        headers=admin,
        json={
            "name": "Kit",
            "kind": "bundle",
            "value": 3000,
            "currency": "USD",
            "bundle": [
                {"variant_id": ids["HOODIE-M"]},
                {"variant_id": "var_nope"},
                {"product_id": "prod_nope", "quantity": 2},
            ],
        },
    )
    assert unknown.status_code == 422
    assert {tuple(e["loc"]) for e in unknown.json()["errors"]} == {
        ("bundle", 1, "variant_id"),
        ("bundle", 2, "product_id"),
    }
    for price in (4000, 5000):  # hoodie 25.00 + cap 15.00 = 40.00
        dear = client.post(
            "/api/v1/offers",
            headers=admin,
            json={
                "name": "Kit",
                "kind": "bundle",
                "value": price,
                "currency": "USD",
                "bundle": [{"variant_id": ids["HOODIE-M"]}, {"variant_id": ids["CAP-OS"]}],
            },
        )
        assert dear.status_code == 422
        [error] = dear.json()["errors"]
        assert error["loc"] == ["value"] and "40.00 USD" in error["message"]
    with sessions() as session:
        assert session.scalars(select(Offer)).all() == []


def test_a_bundle_at_the_checkout_charges_exactly_what_it_shows(client, admin, sessions):
    ids = _shop(sessions)
    hoodie = _product_of(sessions, ids["HOODIE-M"])
    made = client.post(
        "/api/v1/offers",
        headers=admin,
        json={
            "name": "Hoodie and cap",
            "kind": "bundle",
            "value": 3500,
            "currency": "USD",
            "bundle": [{"product_id": hoodie}, {"variant_id": ids["CAP-OS"]}],
            "code": "KIT",
        },
    )
    assert made.status_code == 201, made.text
    assert made.json()["bundle"] == [
        {"product_id": hoodie, "quantity": 1},
        {"variant_id": ids["CAP-OS"], "quantity": 1},
    ]
    body = start(
        client, items=(("HOODIE-M", 1), ("HOODIE-S", 1), ("CAP-OS", 2)), discount_code="kit"
    )
    shown = fill(client, body["token"])
    # Two bundles of 40.00 sold for 35.00 each.
    assert shown["subtotal"] == 8000 and shown["discount_total"] == 1000
    assert sum(ln["discount"] for ln in shown["lines"]) == 1000
    paid = complete(client, body["token"], total=shown["total"])
    assert paid.status_code == 200, paid.text
    with sessions() as session:
        assert session.get(OfferCode, "KIT").used == 1


# ---------------------------------------------------------------- collections


def test_an_offer_limited_to_a_collection_takes_off_only_its_products(client, admin, sessions):
    ids = _shop(sessions)
    caps = client.post(
        "/api/v1/collections",
        headers=admin,
        json={"title": "Caps", "product_ids": [_product_of(sessions, ids["CAP-OS"])]},
    )
    assert caps.status_code == 201, caps.text
    unknown = client.post(
        "/api/v1/offers",
        headers=admin,
        json={
            "name": "Caps",
            "kind": "percentage",
            "value": 20,
            "collection_ids": ["caps", "no-such"],
        },
    )
    assert unknown.status_code == 422
    assert [e["loc"] for e in unknown.json()["errors"]] == [["collection_ids", 1]]
    made = client.post(
        "/api/v1/offers",
        headers=admin,
        json={
            "name": "Caps",
            "kind": "percentage",
            "value": 20,
            "collection_ids": ["caps"],  # by handle: kept as its id
            "code": "CAPS20",
        },
    )
    assert made.status_code == 201 and made.json()["collection_ids"] == [caps.json()["id"]]
    body = start(client, items=(("HOODIE-M", 1), ("CAP-OS", 1)), discount_code="CAPS20")
    shown = fill(client, body["token"])
    discounts = {ln["variant_id"]: ln["discount"] for ln in shown["lines"]}
    assert discounts == {ids["HOODIE-M"]: 0, ids["CAP-OS"]: 300}
    only_hoodie = start(client, discount_code="CAPS20")
    assert only_hoodie["discount_total"] == 0


def test_a_collection_by_rules_counts_products_as_they_are_now(client, admin, sessions):
    ids = _shop(sessions)
    cap = _product_of(sessions, ids["CAP-OS"])
    client.post(
        "/api/v1/collections",
        headers=admin,
        json={"title": "Hats", "rules": [{"field": "product_type", "value": "Hats"}]},
    )
    client.post(
        "/api/v1/offers",
        headers=admin,
        json={
            "name": "Hats",
            "kind": "percentage",
            "value": 10,
            "collection_ids": ["hats"],
            "code": "HATS",
        },
    )
    assert start(client, items=(("CAP-OS", 1),), discount_code="HATS")["discount_total"] == 0
    client.patch(f"/api/v1/products/{cap}", headers=admin, json={"product_type": "Hats"})
    assert start(client, items=(("CAP-OS", 1),), discount_code="HATS")["discount_total"] == 150


# ---------------------------------------------------------------- markets


def test_an_offer_for_one_market_is_refused_in_another(client, admin, sessions, make_token):
    make_shop(sessions)
    market(client, admin, NL)
    market(client, admin, US)
    refused = client.post(
        "/api/v1/offers",
        headers=admin,
        json={"name": "NL", "kind": "percentage", "value": 10, "markets": ["nl", "fr"]},
    )
    assert refused.status_code == 422
    assert [e["loc"] for e in refused.json()["errors"]] == [["markets", 1]]
    made = client.post(
        "/api/v1/offers",
        headers=admin,
        json={"name": "NL", "kind": "percentage", "value": 10, "markets": ["NL"], "code": "NL10"},
    )
    assert made.status_code == 201 and made.json()["markets"] == ["nl"]
    in_us = client.post(
        "/api/v1/checkouts",
        json={
            "lines": [{"sku": "HOODIE-M", "quantity": 1}],
            "market": "us",
            "discount_code": "NL10",
        },
    )
    assert in_us.status_code == 422
    assert in_us.json()["errors"][0]["message"] == "cannot be redeemed in this market (us)"
    body = start(client, market="nl", discount_code="NL10")
    shown = fill(client, body["token"], address=AMSTERDAM)
    assert shown["currency"] == "EUR" and shown["discount_total"] > 0
    assert shown["discount_total"] == round(shown["subtotal"] / 10)
    paid = complete(client, body["token"], total=shown["total"])
    assert paid.status_code == 200, paid.text
    # A till names its market, or a market's offer is not for it.
    till = make_token("pos:write")
    ticket = {
        "code": "NL10",
        "location_id": "amsterdam",
        "ticket": "T1",
        "subtotal": 5000,
        "currency": "EUR",
    }
    unnamed = client.post("/api/v1/pos/redemptions", headers=till, json=ticket)
    assert unnamed.status_code == 409 and unnamed.json()["reason"] == "is only for checkouts in nl"
    named = client.post("/api/v1/pos/redemptions", headers=till, json={**ticket, "market": "nl"})
    assert named.status_code == 201 and named.json()["amount"] == 500


def test_a_fixed_amount_in_a_market_of_another_currency_is_converted_at_the_checkouts_rate(
    client, admin, sessions
):
    make_shop(sessions)
    market(client, admin, NL)
    made = client.post(
        "/api/v1/offers",
        headers=admin,
        json={"name": "Five off", "kind": "fixed", "value": 500, "currency": "USD", "code": "FIVE"},
    )
    assert made.status_code == 201
    body = start(client, market="nl", discount_code="FIVE")
    shown = fill(client, body["token"], address=AMSTERDAM)
    assert shown["currency"] == "EUR"
    assert shown["discount_total"] == rates.load().convert(500, "USD", "EUR")
    assert shown["discount_total"] not in (0, 500)


# ---------------------------------------------------------------- the CLI


def test_the_cli_makes_a_bundle_limited_to_a_market(client, admin, sessions):
    ids = _shop(sessions)
    market(client, admin, NL)
    made = CliRunner().invoke(
        cli,
        [
            "offers",
            "create",
            "Kit",
            "--kind",
            "bundle",
            "--value",
            "3500",
            "--currency",
            "USD",
            "--item",
            f"variant:{ids['HOODIE-M']}",
            "--item",
            f"variant:{ids['CAP-OS']}:1",
            "--market",
            "nl",
            "--code",
            "clikit",
        ],
    )
    assert made.exit_code == 0, made.output
    with sessions() as session:
        offer = session.scalars(select(Offer)).one()
        assert offer.kind == "bundle" and offer.markets == ["nl"] and len(offer.bundle) == 2
    wrong = CliRunner().invoke(
        cli, ["offers", "create", "X", "--kind", "bundle", "--value", "1", "--item", "sku:1"]
    )
    assert wrong.exit_code != 0
    page = CliRunner().invoke(cli, ["offers", "page", "clikit"])
    assert page.exit_code == 0 and "/shop/codes/CLIKIT/" in page.output
