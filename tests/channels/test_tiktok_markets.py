"""TikTok Shop sells per regional shop: a channel's market must sell to its shop's region,
in that region's currency; its items then carry the market's texts and prices, and go to
that shop (its shop_cipher)."""

from __future__ import annotations

import pytest

from mercato.channels import markets as channel_markets
from mercato.channels import service as channels
from mercato.channels import sync
from mercato.db import transaction
from mercato.errors import ValidationFailed
from mercato.markets import service as markets
from mercato.markets.schemas import MarketCreate, PriceSet
from mercato.sandbox.tiktok import price_errors
from tests.helpers import tee

BRITISH = {
    "title": "Organic cotton T-shirt",
    "description_html": "<p>Soft organic cotton, made to last.</p>",
    "options": ["Colour", "Size"],
    "option_values": {},
}
GB_SHOP = {
    "id": "7494105515082810525",
    "name": "Mercato UK",
    "region": "GB",
    "seller_type": "CROSS_BORDER",
    "cipher": "GCP_sz2-9AAAAAC5i0xXesBU5U8f6-b0Wd5_",
    "code": "GBLCTXQHN6",
}
US_SHOP = {
    "id": "7494049642642441621",
    "name": "Mercato US",
    "region": "US",
    "seller_type": "CROSS_BORDER",
    "cipher": "GCP_XF90igAAAABh00qsWgtvOiGFNqyubMt3",
    "code": "USLCLQB5ZM",
}


def _market(code, countries, currency, languages=("en",)) -> MarketCreate:
    return MarketCreate(
        code=code,
        name=code.upper(),
        countries=list(countries),
        currency=currency,
        languages=list(languages),
        tax_mode="inclusive",
    )


@pytest.fixture
def shop(sessions, sandbox, make_products, make_channel):
    """A cross-border seller with a shop in the UK and one in the US; the tee (25.00 USD)
    with British texts; the UK market lists TEE-M at 21.50 GBP, converts TEE-S (0.79)."""
    sandbox.put("/tiktok/_sandbox/shops", json={"shops": [GB_SHOP, US_SHOP]})
    make_products(tee(translations={"en_GB": BRITISH}))
    with transaction(sessions) as session:
        markets.create_market(session, _market("uk", ["GB"], "GBP", ["en_GB"]))
        markets.create_market(session, _market("nl", ["NL"], "EUR", ["nl"]))
        markets.create_market(session, _market("ie-gbp", ["IE"], "GBP"))
        markets.set_prices(session, "uk", [PriceSet(sku="TEE-M", price="21.50")])
    channel_id = make_channel("tiktok", "tiktok-uk")
    with transaction(sessions) as session:
        channel = channels.get_channel(session, channel_id)
        channel.settings = {**channel.settings, "shop_id": GB_SHOP["id"]}
    return channel_id


def _products(sandbox) -> list[dict]:
    return list(sandbox.get("/tiktok/_sandbox/items").json()["items"].values())


def test_a_market_of_the_shops_region_sells_its_prices_and_texts_there(sessions, sandbox, shop):
    channel = channel_markets.set_market_asking(sessions, "tiktok-uk", "uk")
    assert (channel.country, channel.currency) == ("GB", "GBP")
    assert channel.settings["shop_region"] == "GB"
    assert channel.settings["shop_cipher"] == GB_SHOP["cipher"]
    result = sync.publish(sessions, shop)
    assert result.sent == 2, result.messages
    [product] = _products(sandbox)
    assert product["title"] == "Organic cotton T-shirt"
    prices = sorted((s["price"]["amount"], s["price"]["currency"]) for s in product["skus"])
    assert prices == [("19.75", "GBP"), ("21.50", "GBP")]
    # Set again with no answer from TikTok needed: the region found is kept.
    with transaction(sessions) as session:
        again = channel_markets.set_market(session, "tiktok-uk", "uk")
        assert again.settings["shop_region"] == "GB"


def test_a_market_that_does_not_sell_to_the_shops_region_is_refused(sessions, shop):
    with pytest.raises(ValidationFailed) as refused:
        channel_markets.set_market_asking(sessions, "tiktok-uk", "nl")
    fields = {tuple(e.loc): e.message for e in refused.value.errors}
    assert set(fields) == {("market", "countries"), ("market", "currency")}
    assert "GB" in fields[("market", "countries")]
    assert "GBP" in fields[("market", "currency")]
    # Right currency, wrong country: only the countries.
    with pytest.raises(ValidationFailed) as refused:
        channel_markets.set_market_asking(sessions, "tiktok-uk", "ie-gbp")
    assert [tuple(e.loc) for e in refused.value.errors] == [("market", "countries")]
    with sessions() as session:
        channel = channels.find_channel(session, "tiktok-uk")
        assert "market" not in channel.settings and "shop_region" not in channel.settings


def test_a_shop_without_a_region_yet_is_refused(sessions, sandbox, shop):
    sandbox.put("/tiktok/_sandbox/shops", json={"shops": [{**GB_SHOP, "region": ""}]})
    with pytest.raises(ValidationFailed) as refused:
        channel_markets.set_market_asking(sessions, "tiktok-uk", "uk")
    assert [tuple(e.loc) for e in refused.value.errors] == [("market",)]
    assert "approves" in refused.value.errors[0].message


def test_the_api_refuses_naming_the_field(client, admin, sessions, sandbox, shop):
    answer = client.put(f"/api/v1/channels/{shop}/market", json={"market": "nl"}, headers=admin)
    assert answer.status_code == 422
    assert {"market.countries", "market.currency"} <= {
        ".".join(map(str, e["loc"])) for e in answer.json()["errors"]
    }
    answer = client.put(f"/api/v1/channels/{shop}/market", json={"market": "uk"}, headers=admin)
    assert answer.status_code == 200
    assert answer.json()["country"] == "GB"


def test_the_simulator_refuses_a_price_in_another_currency_than_the_shops():
    assert price_errors({"amount": "10", "currency": "USD"}, GB_SHOP) == (
        "price.currency must be GBP in region GB"
    )
    assert "out of range" in price_errors({"amount": "200", "currency": "GBP"}, GB_SHOP)
    assert price_errors({"amount": "20", "currency": "GBP"}, GB_SHOP) is None
