"""Markets through the API and the CLI, and checkouts in them: the currency, the price
list or the converted price with its ending, the recorded exchange rate, VAT included or
added, duties charged (DDP) or disclosed (DAP), and the charge equal to the total."""

from __future__ import annotations

from sqlalchemy import select
from typer.testing import CliRunner

from mercato.catalog.models import Variant
from mercato.cli import app as cli
from mercato.db import transaction
from mercato.orders.models import Order
from mercato.payments import service as payments
from tests.checkout.helpers import complete, fill, make_shop, start

NL = {
    "code": "nl",
    "name": "Netherlands",
    "countries": ["NL", "BE"],
    "currency": "EUR",
    "languages": ["nl", "en"],
    "tax_mode": "inclusive",
    "price_ending": "0.99",
}
US = {
    "code": "us",
    "name": "United States",
    "countries": ["US"],
    "currency": "USD",
    "languages": ["en"],
    "tax_mode": "exclusive",
}
UK = {
    "code": "uk",
    "name": "United Kingdom",
    "countries": ["GB"],
    "currency": "GBP",
    "languages": ["en_GB"],
    "tax_mode": "inclusive",
    "duties": "ddp",
}
AMSTERDAM = {
    "name": "Anna de Vries",
    "line1": "Damrak 1",
    "city": "Amsterdam",
    "postal_code": "1012 LG",
    "country": "NL",
}
LONDON = {
    "name": "Lee Buyer",
    "line1": "10 Downing Street",
    "city": "London",
    "postal_code": "SW1A 2AA",
    "country": "GB",
}


def market(client, admin, body):
    response = client.post("/api/v1/markets", json=body, headers=admin)
    assert response.status_code == 201, response.text
    return response.json()


def imported_from(sessions, sku: str, **attributes):
    with transaction(sessions) as session:
        variant = session.scalars(select(Variant).where(Variant.sku == sku)).one()
        variant.attributes = {**(variant.attributes or {}), **attributes}


def charged(sessions) -> list[int]:
    from mercato.payments.models import Payment

    with sessions() as session:
        refs = session.scalars(select(Payment.intent_ref).where(Payment.status == "succeeded"))
        return [payments.sandbox().retrieve(ref).amount for ref in refs]


def placed(sessions) -> Order:
    with sessions() as session:
        return session.scalars(select(Order)).one()


def test_markets_are_created_listed_changed_and_deleted(client, admin):
    made = market(client, admin, NL)
    assert made["countries"] == ["NL", "BE"] and made["languages"] == ["nl", "en"]
    assert client.get("/api/v1/markets", headers=admin).json()[0]["code"] == "nl"
    changed = client.patch(
        "/api/v1/markets/nl", json={"price_ending": "0.95", "duties": "ddp"}, headers=admin
    ).json()
    assert (changed["price_ending"], changed["duties"]) == ("0.95", "ddp")
    assert client.delete("/api/v1/markets/nl", headers=admin).status_code == 204
    assert client.get("/api/v1/markets/nl", headers=admin).status_code == 404


def test_a_market_is_refused_field_by_field(client, admin):
    refused = client.post(
        "/api/v1/markets",
        json={**NL, "countries": ["NL", "XX"], "currency": "EUR", "languages": ["nl"]},
        headers=admin,
    )
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["loc"] == ["countries", 1]
    market(client, admin, NL)
    clash = client.post(
        "/api/v1/markets", json={**US, "code": "benelux", "countries": ["BE"]}, headers=admin
    )
    assert clash.status_code == 422 and "already in market 'nl'" in clash.text
    ending = client.post(
        "/api/v1/markets",
        json={**US, "code": "jp", "countries": ["JP"], "currency": "JPY", "price_ending": "0.99"},
        headers=admin,
    )
    assert ending.status_code == 422 and ending.json()["errors"][0]["loc"] == ["price_ending"]


def test_a_dutch_buyer_pays_the_euro_price_with_vat_included(client, admin, sessions):
    make_shop(sessions, price=2500)
    market(client, admin, NL)
    # HOODIE-M has its own price in the market; HOODIE-S is converted and ends in .99.
    listed = client.put(
        "/api/v1/markets/nl/prices",
        json={"prices": [{"sku": "HOODIE-M", "price": "24.95"}]},
        headers=admin,
    )
    assert listed.status_code == 200 and listed.json()[0]["amount"] == 2495
    imported = client.post(
        "/api/v1/fx-rates",
        json={"content": "currency,rate,date\nEUR,0.9,2026-12-04\n", "source": "test.csv"},
        headers=admin,
    )
    assert imported.json() == [{"currency": "EUR", "rate": "0.9", "date": "2026-12-04"}]

    checkout = start(client, items=(("HOODIE-M", 1), ("HOODIE-S", 1)), country="NL")
    assert (checkout["market"], checkout["currency"]) == ("nl", "EUR")
    # 25.00 USD at 0.9 is 22.50, ending .99: 22.99.
    assert [ln["unit_price"] for ln in checkout["lines"]] == [2495, 2299]
    assert (checkout["fx_rate"], checkout["fx_date"]) == ("0.9", "2026-12-04")
    filled = fill(client, checkout["token"], address=AMSTERDAM)
    # 47.94 with 21 % BTW inside (8.32); EU standard shipping is free from EUR 80 only.
    assert filled["taxes_included"] and filled["tax_reason"] == "import"
    assert (filled["subtotal"], filled["tax_total"], filled["shipping_total"]) == (4794, 832, 600)
    assert filled["total"] == 5394
    assert complete(client, checkout["token"]).status_code == 200
    assert charged(sessions) == [5394]
    order = placed(sessions)
    assert (order.total, order.market, str(order.fx_rate), str(order.fx_date)) == (
        5394,
        "nl",
        "0.9",
        "2026-12-04",
    )


def test_a_us_buyer_sees_tax_added(client, admin, sessions):
    make_shop(sessions, price=6500)
    market(client, admin, US)
    checkout = start(client, market="us")
    filled = fill(client, checkout["token"])  # San Francisco
    assert not filled["taxes_included"]
    # 65.00 + 7.25 % (4.71) + 5.00 shipping.
    assert (filled["tax_total"], filled["total"]) == (471, 7471)
    assert filled["fx_rate"] is None  # the store's own currency: nothing converted


def test_duties_are_charged_when_delivered_duties_paid(client, admin, sessions):
    make_shop(sessions, price=25000)
    imported_from(sessions, "HOODIE-M", hs_code="6109.10", origin="US")
    market(client, admin, UK)
    checkout = start(client, country="GB")
    filled = fill(client, checkout["token"], address=LONDON)
    # 250.00 USD at 0.79: GBP 197.50, over the GBP 135 relief: 12 % duty (23.70) on top.
    assert (filled["subtotal"], filled["duties_total"], filled["duties_mode"]) == (
        19750,
        2370,
        "ddp",
    )
    assert filled["tax_total"] == 3292 and filled["taxes_included"]
    assert filled["total"] == 19750 + 2370
    assert complete(client, checkout["token"]).status_code == 200
    assert charged(sessions) == [22120]
    order = placed(sessions)
    assert (order.total, order.duties_total, order.tax_total) == (22120, 2370, 3292)


def test_duties_are_disclosed_when_delivered_at_place(client, admin, sessions):
    make_shop(sessions, price=25000)
    imported_from(sessions, "HOODIE-M", hs_code="6109.10", origin="US")
    market(client, admin, {**UK, "duties": "dap"})
    filled = fill(client, start(client, country="GB")["token"], address=LONDON)
    assert (filled["duties_total"], filled["duties_mode"], filled["total"]) == (2370, "dap", 19750)


def test_an_unknown_market_in_the_link_is_refused(client, admin, sessions):
    make_shop(sessions)
    market(client, admin, NL)
    refused = client.post(
        "/api/v1/checkouts", json={"lines": [{"sku": "HOODIE-M", "quantity": 1}], "market": "zz"}
    )
    assert refused.status_code == 422 and refused.json()["errors"][0]["loc"] == ["market"]


def test_a_business_with_a_vat_number_is_reverse_charged(client, admin, sessions, settings):
    from mercato.checkout import rates

    own = settings.ensure_data_dir() / rates.FILE_NAME
    own.write_text(rates.DEFAULTS.read_text() + '\n[seller]\ncountry = "DE"\n')
    make_shop(sessions, price=2500)
    market(client, admin, NL)
    token = start(client, country="NL")["token"]
    consumer = fill(client, token, address=AMSTERDAM)
    # EUR 23.99 (25.00 USD at 0.92, ending .99) with 21 % BTW inside: 4.16.
    assert (consumer["tax_reason"], consumer["tax_total"]) == ("oss", 416)
    wrong = client.patch(f"/api/v1/checkouts/{token}", json={"tax_id": "NL004495446B01"})
    assert wrong.status_code == 422 and wrong.json()["errors"][0]["loc"] == ["tax_id"]
    business = fill(client, token, address=AMSTERDAM, tax_id="NL 0044.95.445.B01")
    assert business["tax_id"] == "NL004495445B01"
    assert (business["tax_reason"], business["tax_total"]) == ("reverse-charge", 0)


def test_the_cli_lists_creates_and_prices_markets(settings, engine, sessions, tmp_path):
    make_shop(sessions)
    runner = CliRunner()
    made = runner.invoke(
        cli,
        [
            "markets",
            "create",
            "nl",
            "--name",
            "Netherlands",
            "--countries",
            "NL,BE",
            "--currency",
            "EUR",
            "--languages",
            "nl,en",
            "--tax-mode",
            "inclusive",
        ],
    )
    assert made.exit_code == 0, made.output
    prices = tmp_path / "nl.csv"
    prices.write_text("sku,price\nHOODIE-M,24.95\n")
    listed = runner.invoke(cli, ["markets", "prices", "nl", "--file", str(prices)])
    assert listed.exit_code == 0 and "24.95" in listed.output
    bad = tmp_path / "bad.csv"
    bad.write_text("sku,price\nNOPE,1\n")
    refused = runner.invoke(cli, ["markets", "prices", "nl", "--file", str(bad)])
    assert refused.exit_code == 1 and "no variant 'NOPE'" in refused.output
    rates_file = tmp_path / "ecb.json"
    rates_file.write_text('{"base": "EUR", "date": "2026-12-04", "rates": {"USD": "1.05"}}')
    fx = runner.invoke(cli, ["markets", "fx-import", str(rates_file)])
    assert fx.exit_code == 0 and "0.9523809524" in fx.output
    assert "Netherlands" in runner.invoke(cli, ["markets", "list"]).output


def test_the_dashboard_lists_markets_and_rates(client, admin, sessions):
    from tests.helpers import log_in, signed_in

    make_shop(sessions)
    market(client, admin, NL)
    client.put(
        "/api/v1/markets/nl/prices",
        json={"prices": [{"sku": "HOODIE-M", "price": "24.95"}]},
        headers=admin,
    )
    client.post(
        "/api/v1/fx-rates",
        json={"content": "currency,rate,date\nEUR,0.9,2026-12-04\n"},
        headers=admin,
    )
    assert log_in(client, sessions, "markets:read").headers["location"] == "/admin/markets"
    page = client.get("/admin/markets")
    assert page.status_code == 200
    assert "Netherlands" in page.text and "1 price" in page.text and "tax included" in page.text
    assert "2026-12-04" in page.text and "0.9" in page.text
    signed_in(client, sessions, "catalog:read")
    assert client.get("/admin/markets", follow_redirects=False).status_code == 403


def test_the_buyer_chooses_a_market_and_the_shop_remembers(client, admin, sessions):
    make_shop(sessions, price=2500)
    market(client, admin, NL)
    market(client, admin, UK)
    english = {"Accept-Language": "en-US"}
    assert "$25.00" in client.get("/shop/p/hoodie", headers=english).text  # no US market
    chosen = client.get(
        "/shop/market/uk?next=/shop/p/hoodie", headers=english, follow_redirects=False
    )
    assert chosen.status_code == 303 and chosen.headers["location"] == "/shop/p/hoodie"
    assert "£19.75" in client.get("/shop/p/hoodie", headers=english).text
    # The link's market wins over the choice; in the buyer's language when the market
    # has it, else in the market's first.
    linked = client.get("/shop/p/hoodie?market=nl", headers=english).text
    assert "Buy now" in linked and "€\xa023,99" in linked  # English, as read in NL
    german = client.get("/shop/p/hoodie?market=nl", headers={"Accept-Language": "de-DE"}).text
    assert "€\xa023,99" in german and "Nu kopen" in german and 'lang="nl"' in german
    away = client.get("/shop/market/nl?next=//evil.example/", follow_redirects=False)
    assert away.headers["location"] == "/shop/cart"
    assert client.get("/shop/market/zz?next=/shop/p/hoodie").status_code == 422


def test_a_rates_file_with_a_stray_carriage_return_is_refused_by_its_row(client, admin):
    """A lone CR inside a line (a file saved on an old Mac) reads as a line break: the
    broken row is refused by its number, nothing imported, never a server error."""
    refused = client.post(
        "/api/v1/fx-rates",
        json={"content": "currency,rate,date\nEU\rR,0.9,2026-12-04\n"},
        headers=admin,
    )
    assert refused.status_code == 422, refused.text
    assert refused.json()["errors"][0]["loc"][:2] == ["row", 2]
    assert client.get("/api/v1/fx-rates", headers=admin).json() == []
