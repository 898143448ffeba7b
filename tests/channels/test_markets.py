"""Channels per market: the Netherlands in Dutch and euros, the United States in English
and dollars, on Google (a feed label and content language each) and on Meta (a catalog
filled in English and dollars, overridden per language and country for the Netherlands);
pushed to the simulators and judged per market."""

from __future__ import annotations

import csv
import io

import pytest
from lxml import etree
from sqlalchemy import select

from mercato.catalog.models import Variant
from mercato.channels import changes, check, feeds, sync
from mercato.channels import markets as channel_markets
from mercato.channels import service as channels
from mercato.channels.check import resolve_target
from mercato.db import transaction
from mercato.markets import fx
from mercato.markets import service as markets
from mercato.markets.schemas import MarketCreate, MarketUpdate, PriceSet
from tests.helpers import tee

NL = MarketCreate(
    code="nl",
    name="Netherlands",
    countries=["NL"],
    currency="EUR",
    languages=["nl"],
    tax_mode="inclusive",
)
US = MarketCreate(
    code="us",
    name="United States",
    countries=["US"],
    currency="USD",
    languages=["en"],
    tax_mode="exclusive",
)
DUTCH = {
    "title": "Biologisch T-shirt",
    "description_html": "<p>Zacht en biologisch.</p>",
    "options": ["Kleur", "Maat"],
    "option_values": {"Blue": "Blauw"},
}


@pytest.fixture
def shop(sessions, make_products, make_channel):
    """The tee (25.00 USD) with Dutch texts; NL lists TEE-M at 24.95 EUR, TEE-S is
    converted (25.00 USD at 0.92 = 23.00 EUR)."""
    make_products(tee(translations={"nl": DUTCH}))
    with transaction(sessions) as session:
        markets.create_market(session, NL)
        markets.create_market(session, US)
        markets.set_prices(session, "nl", [PriceSet(sku="TEE-M", price="24.95")])
    ids = {
        name: make_channel(kind, name)
        for kind, name in (
            ("google", "google-nl"),
            ("google", "google-us"),
            ("meta", "meta-us"),
            ("meta", "meta-nl"),
        )
    }
    with transaction(sessions) as session:
        for name, market in (
            ("google-nl", "nl"),
            ("google-us", "us"),
            ("meta-us", "us"),
            ("meta-nl", "nl"),
        ):
            channel_markets.set_market(session, name, market)
        meta_nl = channels.find_channel(session, "meta-nl")
        meta_nl.settings = {**meta_nl.settings, "localized": True}
    return ids


def _feed(sessions, channel: str, override: str | None = None) -> list[dict]:
    out = io.BytesIO()
    with sessions() as session:
        target = resolve_target(session, channel)
        fmt = "xml" if target.kind == "google" else "csv"
        feeds.write_feed(session, target, out, fmt, override)
    if fmt == "csv":
        return list(csv.DictReader(io.StringIO(out.getvalue().decode())))
    root = etree.fromstring(out.getvalue())
    return [
        {etree.QName(child).localname: child.text for child in item} for item in root.iter("item")
    ]


def test_set_market_takes_its_country_language_and_currency(sessions, shop):
    with sessions() as session:
        nl = channels.find_channel(session, "google-nl")
        assert (nl.country, nl.language, nl.currency) == ("NL", "nl", "EUR")
        assert nl.settings["market"] == "nl" and nl.settings["countries"] == ["NL"]


def test_google_feeds_per_market(sessions, shop):
    dutch = {row["id"]: row for row in _feed(sessions, "google-nl")}
    english = {row["id"]: row for row in _feed(sessions, "google-us")}
    assert len(dutch) == len(english) == 2
    prices = sorted(row["price"] for row in dutch.values())
    assert prices == ["23.00 EUR", "24.95 EUR"]  # converted, and the price list's
    row = next(iter(dutch.values()))
    assert row["title"] == "Biologisch T-shirt"
    assert row["description"] == "Zacht en biologisch."
    assert row["color"] == "Blauw"
    assert row["link"].endswith("&market=nl")
    assert {r["price"] for r in english.values()} == {"25.00 USD"}
    assert {r["title"] for r in english.values()} == {"Organic Tee"}


def test_google_pushes_per_market_with_feed_label_and_content_language(sessions, sandbox, shop):
    for name in ("google-nl", "google-us"):
        assert sync.publish(sessions, shop[name]).sent == 2
        sync.read_back(sessions, shop[name])
    held = sandbox.get("/google/_sandbox/items").json()["items"]
    by_market = {}
    for item in held.values():
        by_market.setdefault((item["contentLanguage"], item["feedLabel"]), []).append(item)
    assert set(by_market) == {("nl", "NL"), ("en", "US")}
    dutch = by_market[("nl", "NL")][0]["productAttributes"]
    assert dutch["title"] == "Biologisch T-shirt"
    assert {i["productAttributes"]["price"]["currencyCode"] for i in by_market[("nl", "NL")]} == {
        "EUR"
    }
    assert {i["productAttributes"]["price"]["amountMicros"] for i in by_market[("nl", "NL")]} == {
        "23000000",
        "24950000",
    }
    with sessions() as session:
        verdicts = {v.channel: v for v in check.verdicts(session)}
        assert verdicts["google-nl"].verdict == "ready"
        assert verdicts["google-nl"].listed == {"approved": 2}
        assert verdicts["google-us"].listed == {"approved": 2}


def test_meta_localized_catalog_per_language_and_country(sessions, sandbox, shop):
    # The US channel fills the catalog (English, dollars); NL overrides it.
    assert sync.publish(sessions, shop["meta-us"]).sent == 2
    assert sync.publish(sessions, shop["meta-nl"]).sent == 2
    for name in ("meta-us", "meta-nl"):
        sync.read_back(sessions, shop[name])
    items = sandbox.get("/meta/_sandbox/items").json()["items"]
    assert {i["price"] for i in items.values()} == {"25.00 USD"}
    overrides = sandbox.get("/meta/_sandbox/overrides").json()["overrides"]
    language = [o for o in overrides if o["type"] == "LANGUAGE"]
    country = [o for o in overrides if o["type"] == "COUNTRY"]
    assert {o["key"] for o in language} == {"nl_XX"} and len(language) == 2
    assert {o["values"]["title"] for o in language} == {"Biologisch T-shirt"}
    assert {o["values"]["color"] for o in language} == {"Blauw"}
    assert all("price" not in o["values"] for o in language)
    assert {o["key"] for o in country} == {"NL"}
    assert sorted(o["values"]["price"] for o in country) == ["23.00 EUR", "24.95 EUR"]
    with sessions() as session:
        verdicts = {v.channel: v for v in check.verdicts(session)}
    assert verdicts["meta-nl"].localized and verdicts["meta-nl"].verdict == "ready"
    assert verdicts["meta-nl"].listed == {"approved": 2}
    assert verdicts["meta-us"].listed == {"approved": 2}
    # Meta's Overrides API reads them back per item.
    item_id = next(iter(items))
    shown = sandbox.get(
        f"/meta/v26.0/fb-{item_id}/override_details",
        params={"keys": "NL"},
        headers={"Authorization": "Bearer t"},
    ).json()["override_details"]
    assert [o["key"] for o in shown] == ["NL"]


def test_meta_refuses_overrides_of_items_it_does_not_hold(sessions, sandbox, shop):
    """localized_items_batch never creates an item: overrides sent before the catalog is
    filled are rejected, and the market's verdict says so."""
    sync.publish(sessions, shop["meta-nl"])
    sync.read_back(sessions, shop["meta-nl"])
    with sessions() as session:
        verdict = next(v for v in check.verdicts(session, "nl") if v.channel == "meta-nl")
    assert verdict.listed == {"rejected": 2}
    assert verdict.verdict == "errors"


def test_meta_override_feeds(sessions, shop):
    language = _feed(sessions, "meta-nl", "language")
    country = _feed(sessions, "meta-nl", "country")
    assert list(language[0]) == ["id", "override", "title", "description", "color", "size"]
    assert {r["override"] for r in language} == {"nl_XX"}
    assert {r["title"] for r in language} == {"Biologisch T-shirt"}
    assert list(country[0]) == ["id", "override", "price", "sale_price", "link"]
    assert sorted(r["price"] for r in country) == ["23.00 EUR", "24.95 EUR"]
    base = _feed(sessions, "meta-us")
    assert {r["title"] for r in base} == {"Organic Tee"}
    assert {r["id"] for r in base} == {r["id"] for r in country}


def test_per_market_verdicts_show_what_a_market_cannot_sell(sessions, shop):
    """A variant the NL market cannot price (no rate for its currency) fails NL only."""
    with transaction(sessions) as session:
        variant = session.scalar(select(Variant).where(Variant.sku == "TEE-S"))
        variant.currency = "CHF"  # no CHF rate is configured
    with sessions() as session:
        verdicts = {v.channel: v for v in check.verdicts(session)}
    assert verdicts["google-nl"].verdict == "errors"
    assert verdicts["google-nl"].errors == 1
    assert any("cannot be priced in EUR" in issue for issue in verdicts["google-nl"].issues)


def test_simulators_refuse_unknown_languages_and_countries(sandbox):
    headers = {"Authorization": "Bearer t"}
    sandbox.put("/meta/_sandbox/items/SKU-1", json={"title": "Tee"})
    body = {
        "item_type": "PRODUCT_ITEM",
        "requests": [
            {
                "method": "UPDATE",
                "data": {"id": "SKU-1", "title": "x"},
                "localization": {"type": "LANGUAGE", "value": "zz_XX"},
            },
            {
                "method": "UPDATE",
                "data": {"id": "SKU-1", "price": "1.00 EUR"},
                "localization": {"type": "LANGUAGE", "value": "nl_XX"},
            },
            {
                "method": "UPDATE",
                "data": {"id": "SKU-1", "price": "1.00 EUR"},
                "localization": {"type": "COUNTRY", "value": "QQ"},
            },
        ],
    }
    handle = sandbox.post(
        "/meta/v26.0/cat1/localized_items_batch", json=body, headers=headers
    ).json()["handles"][0]
    status = sandbox.get(
        "/meta/v26.0/cat1/check_batch_request_status",
        params={"handle": handle, "load_ids_of_invalid_requests": "true"},
        headers=headers,
    ).json()["data"][0]
    assert status["errors_total_count"] == 3
    assert status["ids_of_invalid_requests"] == ["SKU-1"]
    assert sandbox.get("/meta/_sandbox/overrides").json()["overrides"] == []


def _published(sessions, shop, *names) -> None:
    for name in names:
        sync.publish(sessions, shop[name])
        sync.read_back(sessions, shop[name])


def _google_prices(sandbox, label: str) -> dict[str, str]:
    held = sandbox.get("/google/_sandbox/items").json()["items"]
    return {
        i["offerId"]: i["productAttributes"]["price"]["amountMicros"]
        for i in held.values()
        if i["feedLabel"] == label
    }


def _variant_id(sessions, sku: str) -> str:
    with sessions() as session:
        return session.scalar(select(Variant.id).where(Variant.sku == sku))


def test_a_new_price_list_price_reaches_only_that_markets_channels(sessions, sandbox, shop):
    """No full publish: the NL price list's change is in the change log of the NL channels
    only, for that variant only, and their next ordinary publish sends it."""
    channels_all = ("google-nl", "google-us", "meta-us", "meta-nl")
    _published(sessions, shop, *channels_all)
    before = _google_prices(sandbox, "NL")
    with transaction(sessions) as session:
        markets.set_prices(
            session,
            "nl",
            [PriceSet(sku="TEE-M", price="22.50")],
        )
    nl = sync.publish(sessions, shop["google-nl"])
    assert (nl.checked, nl.sent) == (1, 1)
    assert sync.publish(sessions, shop["google-us"]).sent == 0
    assert sync.publish(sessions, shop["meta-us"]).sent == 0
    assert sync.publish(sessions, shop["meta-nl"]).sent == 1
    after = _google_prices(sandbox, "NL")
    changed = {k for k in after if after[k] != before[k]}
    assert len(changed) == 1 and after[changed.pop()] == "22500000"
    overrides = sandbox.get("/meta/_sandbox/overrides").json()["overrides"]
    assert sorted(o["values"]["price"] for o in overrides if o["type"] == "COUNTRY") == [
        "22.50 EUR",
        "23.00 EUR",
    ]
    # Setting the same price again changes nothing: nothing to send.
    with transaction(sessions) as session:
        markets.set_prices(session, "nl", [PriceSet(sku="TEE-M", price="22.50")])
    with sessions() as session:
        assert changes.read(session, shop["google-nl"]).variant_ids == []


def test_imported_exchange_rates_reach_the_converted_items_of_that_currencys_markets(
    sessions, sandbox, shop
):
    _published(sessions, shop, "google-nl", "google-us", "meta-us", "meta-nl")
    with transaction(sessions) as session:
        fx.import_rates(session, "currency,rate,date\nEUR,0.90,2026-12-04\n", source="ecb.csv")
    converted = _variant_id(sessions, "TEE-S")  # TEE-M is in the NL price list
    sync._hand_over_events(sync.Sessions.of(sessions))
    with sessions() as session:
        assert changes.read(session, shop["google-nl"]).variant_ids == [converted]
        assert changes.read(session, shop["meta-nl"]).variant_ids == [converted]
        assert changes.read(session, shop["google-us"]).variant_ids == []
    assert sync.publish(sessions, shop["google-nl"]).sent == 1
    assert sync.publish(sessions, shop["google-us"]).sent == 0
    assert sorted(_google_prices(sandbox, "NL").values()) == ["22500000", "24950000"]
    # The same rates again: nothing changed, nothing recorded.
    with transaction(sessions) as session:
        fx.import_rates(session, "currency,rate,date\nEUR,0.90,2026-12-05\n", source="ecb.csv")
    assert sync.publish(sessions, shop["google-nl"]).checked == 0


def test_a_new_price_ending_reaches_the_converted_items(sessions, sandbox, shop):
    _published(sessions, shop, "google-nl", "google-us")
    with transaction(sessions) as session:
        markets.update_market(session, "nl", MarketUpdate(price_ending="0.99"))
    nl = sync.publish(sessions, shop["google-nl"])
    assert (nl.checked, nl.sent) == (1, 1)
    assert sorted(_google_prices(sandbox, "NL").values()) == ["23990000", "24950000"]
    assert sync.publish(sessions, shop["google-us"]).checked == 0
