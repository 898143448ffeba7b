"""Product translations: fallbacks, the API, and Shopify's translation CSV both ways."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import select

from mercato.catalog import service, translations
from mercato.catalog.models import ProductTranslation
from mercato.catalog.schemas import TranslationInput
from mercato.db import transaction
from mercato.errors import ValidationFailed
from mercato.markets import service as markets
from mercato.markets.schemas import MarketCreate
from tests.helpers import tee

DUTCH = {
    "title": "Biologisch T-shirt",
    "description_html": "<p>Zacht &amp; biologisch.</p>",
    "options": ["Kleur", "Maat"],
    "option_values": {"Blue": "Blauw"},
}


def test_fallback_locale_then_language_then_base(make_products, sessions):
    (product,) = make_products(tee(translations={"nl": DUTCH, "nl-BE": {"title": "T-shirt"}}))
    with sessions() as session:
        found = service.get_product(session, product.id)
        belgian = translations.localize(found, "nl_BE")
        assert belgian.title == "T-shirt"  # the locale's own
        assert belgian.description_html == DUTCH["description_html"]  # its language's
        assert belgian.options == ["Kleur", "Maat"]
        assert belgian.value("Blue") == "Blauw" and belgian.value("M") == "M"
        assert belgian.sources == {"title": "nl-BE", "description_html": "nl"}
        dutch = translations.localize(found, "nl-NL")
        assert dutch.title == "Biologisch T-shirt"
        german = translations.localize(found, "de")
        assert german.title == "Organic Tee" and german.options == ["Color", "Size"]
        assert german.sources == {"title": None, "description_html": None}


def test_api_reads_and_writes_one_locale(client, admin, make_products):
    (product,) = make_products(tee())
    url = f"/api/v1/products/{product.id}/translations"
    put = client.put(f"{url}/nl", json=DUTCH, headers=admin)
    assert put.status_code == 200, put.text
    assert put.json()[0]["options"] == ["Kleur", "Maat"]
    assert client.put(f"{url}/fr", json={"title": "T-shirt bio"}, headers=admin).status_code == 200
    listed = client.get(url, headers=admin).json()
    assert [t["locale"] for t in listed] == ["fr", "nl"]
    shown = client.get(
        f"/api/v1/products/{product.id}/localized", params={"locale": "nl-BE"}, headers=admin
    ).json()
    assert shown["title"] == "Biologisch T-shirt"
    assert shown["option_values"] == {"Blue": "Blauw"}
    # A value the product does not have is refused by name; nothing changes.
    bad = client.put(f"{url}/nl", json={"option_values": {"Purple": "Paars"}}, headers=admin)
    assert bad.status_code == 422
    assert "Purple" in bad.text
    assert client.get(url, headers=admin).json()[1]["title"] == "Biologisch T-shirt"
    assert client.delete(f"{url}/fr", headers=admin).status_code == 204
    assert [t["locale"] for t in client.get(url, headers=admin).json()] == ["nl"]
    # A product update without translations keeps them, option names included.
    client.patch(f"/api/v1/products/{product.id}", json={"vendor": "Acme 2"}, headers=admin)
    assert client.get(url, headers=admin).json()[0]["options"] == ["Kleur", "Maat"]


def _export(sessions, locales=None) -> str:
    out = io.StringIO()
    with sessions() as session:
        translations.export_csv(session, out, locales)
    return out.getvalue()


def test_shopify_csv_round_trip(make_products, sessions):
    (product,) = make_products(tee(translations={"nl": DUTCH}))
    exported = _export(sessions, ["nl"])
    rows = list(csv.DictReader(io.StringIO(exported)))
    assert list(rows[0]) == list(translations.COLUMNS)
    by_field = {(r["Type"], r["Field"], r["Default content"]): r for r in rows}
    assert by_field[("PRODUCT", "title", "Organic Tee")]["Translated content"] == (
        "Biologisch T-shirt"
    )
    assert by_field[("PRODUCT_OPTION", "name", "Color")]["Translated content"] == "Kleur"
    assert by_field[("PRODUCT_OPTION_VALUE", "name", "Blue")]["Translated content"] == "Blauw"
    # Wipe the translations, import the file: the same translations come back.
    with transaction(sessions) as session:
        translations.delete_translation(session, product.id, "nl")
    with transaction(sessions) as session:
        report = translations.import_csv(session, io.StringIO(exported))
    assert (report.products, report.translations) == (1, 1)
    assert _export(sessions, ["nl"]) == exported
    with sessions() as session:
        row = session.scalar(select(ProductTranslation))
        assert (row.title, row.options, row.option_values) == (
            "Biologisch T-shirt",
            ["Kleur", "Maat"],
            {"Blue": "Blauw"},
        )


def test_shopify_export_with_shopify_ids_matches_by_handle_and_content(make_products, sessions):
    """A file exported by Shopify carries Shopify's ids: the product is found by its handle
    row, options and values by their default content."""
    make_products(tee())
    text = (
        "Type,Identification,Field,Locale,Market,Status,Default content,Translated content\n"
        "PRODUCT,'8079393226938,title,de,,,Organic Tee,Bio-T-Shirt\n"
        "PRODUCT,'8079393226938,handle,de,,,tee,\n"
        "PRODUCT_OPTION,10345,name,de,,,Color,Farbe\n"
        "PRODUCT_OPTION_VALUE,20021,name,de,,,Blue,Blau\n"
        "PRODUCT,'8079393226938,title,de,Netherlands,,Organic Tee,Marktspezifisch\n"
    )
    with transaction(sessions) as session:
        report = translations.import_csv(session, io.StringIO(text))
    assert report.skipped == 1
    with sessions() as session:
        shown = translations.localize(service.get_product_by_handle(session, "tee"), "de")
        assert (shown.title, shown.options[0], shown.value("Blue")) == (
            "Bio-T-Shirt",
            "Farbe",
            "Blau",
        )


def test_bad_rows_refuse_the_whole_file(make_products, sessions):
    (product,) = make_products(tee(translations={"nl": DUTCH}))
    text = (
        "Type,Identification,Field,Locale,Market,Status,Default content,Translated content\n"
        f"PRODUCT,{product.id},title,nl,,,Organic Tee,Nieuwe titel\n"
        f"PRODUCT,{product.id},vendor,nl,,,Acme,Acme NL\n"
        "COLLECTION,1,title,nl,,,All,Alles\n"
        f"PRODUCT,{product.id},title,not a locale,,,Organic Tee,x\n"
        "PRODUCT,prod_missing,title,nl,,,Gone,Weg\n"
        f"PRODUCT_OPTION_VALUE,{product.id}/Purple,name,nl,,,Purple,Paars\n"
    )
    with pytest.raises(ValidationFailed) as refused, transaction(sessions) as session:
        translations.import_csv(session, io.StringIO(text))
    where = {(e.loc[1], e.loc[2]) for e in refused.value.errors}
    assert where == {
        (3, "Field"),
        (4, "Type"),
        (5, "Locale"),
        (6, "Identification"),
        (7, "Default content"),
    }
    with sessions() as session:
        assert translations.localize(service.get_product(session, product.id), "nl").title == (
            "Biologisch T-shirt"
        )


def test_missing_columns_are_named(sessions):
    with pytest.raises(ValidationFailed) as refused, transaction(sessions) as session:
        translations.import_csv(session, io.StringIO("Type,Field\nPRODUCT,title\n"))
    assert ("header", "Locale") in {e.loc for e in refused.value.errors}


def test_put_checks_option_count(make_products, sessions):
    (product,) = make_products(tee())
    with pytest.raises(ValidationFailed) as refused, transaction(sessions) as session:
        translations.put_translation(
            session, product.id, "nl", TranslationInput(options=["a", "b", "c"])
        )
    assert "options" in str(refused.value)


def test_the_shop_shows_a_markets_texts(client, sessions, make_products):
    """A buyer in the Netherlands reads the Dutch title, options and values; elsewhere the
    product's own."""
    make_products(tee(translations={"nl": DUTCH}))
    with transaction(sessions) as session:
        markets.create_market(
            session,
            MarketCreate(
                code="nl",
                name="Nederland",
                countries=["NL"],
                currency="EUR",
                languages=["nl"],
                tax_mode="inclusive",
            ),
        )
    dutch = client.get("/shop/p/tee?market=nl").text
    assert "<h1>Biologisch T-shirt</h1>" in dutch
    assert "Kleur / Maat" in dutch and "Blauw / M" in dutch
    assert "Zacht &amp; biologisch." in dutch
    english = client.get("/shop/p/tee").text
    assert "<h1>Organic Tee</h1>" in english and "Blue / M" in english
