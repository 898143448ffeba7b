"""Markets created and edited in the dashboard, through the service the API uses: the same
refusals, each shown under its field, nothing kept; a price list line set from the form."""

from __future__ import annotations

import html
import re

from mercato.markets import service as markets
from tests.helpers import csrf_of, signed_in, tee

NL = {
    "code": "nl",
    "name": "Nederland",
    "countries": "NL, BE",
    "currency": "eur",
    "languages": "nl, en",
    "tax_mode": "inclusive",
    "duties": "dap",
    "price_ending": "0.99",
    "payment_methods": ["card", "ideal"],
    "active": "on",
    "prices": "TEE-M,24.95\n",
}


def _error_under(page: str, field: str) -> str:
    found = re.search(rf'data-error-for="{re.escape(field)}" role="status">([^<]*)<', page)
    return html.unescape(found.group(1)) if found else ""


def test_a_market_is_created_and_edited_from_the_dashboard(client, sessions, make_products):
    make_products(tee())
    signed_in(client, sessions, "markets:read", "markets:write")
    listing = client.get("/admin/markets")
    assert 'href="/admin/markets/new"' in listing.text
    form = client.get("/admin/markets/new")
    assert form.status_code == 200
    created = client.post("/admin/markets/new", data={**NL, "csrf": csrf_of(form.text)})
    assert created.status_code == 200 and "Market nl created." in created.text
    with sessions() as session:
        market = markets.get_market(session, "nl")
        assert (market.countries, market.currency, market.languages) == (
            ["NL", "BE"],
            "EUR",
            ["nl", "en"],
        )
        assert market.payment_methods == ["card", "ideal"] and market.price_ending == "0.99"
        assert [(sku, amount) for sku, _, amount in markets.listed_prices(session, "nl")] == [
            ("TEE-M", 2495)
        ]
    page = client.get("/admin/markets/nl/edit")
    assert 'value="NL, BE"' in page.text and "TEE-M" in page.text
    saved = client.post(
        "/admin/markets/nl/edit",
        data={
            **NL,
            "csrf": csrf_of(page.text),
            "tax_mode": "exclusive",
            "payment_methods": ["card"],
            "prices": "TEE-S,19.99",
        },
    )
    assert "Market nl saved." in saved.text
    with sessions() as session:
        market = markets.get_market(session, "nl")
        assert market.tax_mode == "exclusive" and market.payment_methods == ["card"]
        assert len(markets.listed_prices(session, "nl")) == 2


def test_refusals_are_shown_under_their_fields_and_nothing_is_kept(client, sessions, make_products):
    make_products(tee())
    signed_in(client, sessions, "markets:read", "markets:write")
    form = client.get("/admin/markets/new")
    refused = client.post(
        "/admin/markets/new",
        data={
            **NL,
            "csrf": csrf_of(form.text),
            "countries": "NL, XX",
            "prices": "TEE-M,24.95\nNO-SUCH,3",
        },
    )
    assert refused.status_code == 422
    assert "'XX' is not a country code" in _error_under(refused.text, "countries")
    assert 'value="NL, XX"' in refused.text  # what was typed stays
    with sessions() as session:
        assert markets.list_markets(session) == []
    # The service's own rule (iDEAL takes euros), as the API words it.
    refused = client.post(
        "/admin/markets/new",
        data={**NL, "csrf": csrf_of(form.text), "currency": "USD", "price_ending": ""},
    )
    assert "ideal" in _error_under(refused.text, "payment_methods").lower()
    # A price list line that names no variant, by its line number.
    refused = client.post(
        "/admin/markets/new",
        data={**NL, "csrf": csrf_of(form.text), "prices": "TEE-M,24.95\nNO-SUCH,3"},
    )
    assert _error_under(refused.text, "prices").startswith("line 2:")
    with sessions() as session:
        assert markets.list_markets(session) == []


def test_reading_only_shows_no_form_button_and_writes_are_refused(client, sessions):
    signed_in(client, sessions, "markets:read")
    page = client.get("/admin/markets/new")
    assert page.status_code == 200 and "Create market" not in page.text
    refused = client.post("/admin/markets/new", data={**NL, "csrf": csrf_of(page.text)})
    assert refused.status_code == 403
    with sessions() as session:
        assert markets.list_markets(session) == []
