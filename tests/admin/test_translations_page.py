"""The product's translations in the dashboard: shown beside the product's own texts,
saved one locale at a time through the catalog's rules (a refusal is said, nothing kept)."""

from __future__ import annotations

from mercato.catalog import service as catalog
from tests.helpers import csrf_of, signed_in, tee


def test_translations_are_shown_and_saved(client, sessions, make_products):
    (product,) = make_products(tee(translations={"nl": {"title": "Biologisch T-shirt"}}))
    signed_in(client, sessions, "catalog:read", "catalog:write")
    assert (
        f"/admin/catalog/{product.id}/translations"
        in client.get(f"/admin/catalog/{product.id}").text
    )
    page = client.get(f"/admin/catalog/{product.id}/translations?locale=nl")
    assert page.status_code == 200
    assert 'value="Biologisch T-shirt"' in page.text
    saved = client.post(
        f"/admin/catalog/{product.id}/translations",
        data={
            "csrf": csrf_of(page.text),
            "locale": "de",
            "title": "Bio-T-Shirt",
            "option[0]": "Farbe",
            "value[0]": "Blau",
        },
    )
    assert saved.status_code == 200 and "Saved the de texts" in saved.text
    assert 'id="localized-title">Bio-T-Shirt' in saved.text
    with sessions() as session:
        found = {t.locale: t for t in catalog.get_product(session, product.id).translations}
        assert found["de"].options == ["Farbe", None]
        assert found["de"].option_values == {"Blue": "Blau"}
        assert found["nl"].title == "Biologisch T-shirt"
    refused = client.post(
        f"/admin/catalog/{product.id}/translations",
        data={"csrf": csrf_of(page.text), "locale": "not a locale", "title": "x"},
    )
    assert "is not a locale" in refused.text


def test_reading_needs_no_write_scope_and_shows_no_form_button(client, sessions, make_products):
    (product,) = make_products(tee(translations={"nl": {"title": "Biologisch T-shirt"}}))
    signed_in(client, sessions, "catalog:read")
    page = client.get(f"/admin/catalog/{product.id}/translations?locale=nl")
    assert page.status_code == 200 and "Save nl" not in page.text
    refused = client.post(
        f"/admin/catalog/{product.id}/translations",
        data={"csrf": csrf_of(page.text), "locale": "nl", "title": "x"},
    )
    assert "catalog:write" in refused.text
