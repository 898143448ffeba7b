"""A code's own page (public, at a signed address): the offer's title, terms, validity
in the store's time zone, the code and its QR; a printable sheet of a batch's codes in
the dashboard, a bounded number at a time."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

from mercato.config import get_settings
from mercato.offers import pages
from mercato.offers.pages import SHEET_SIZE
from tests.helpers import log_in, signed_in
from tests.offers.helpers import make_code


def _path(url: str) -> str:
    return url.removeprefix(get_settings().base_url.rstrip("/"))


def test_a_code_page_shows_the_offer_in_the_store_zone(client, admin, sessions, monkeypatch):
    monkeypatch.setenv("MERCATO_TIMEZONE", "Europe/Amsterdam")
    get_settings.cache_clear()
    offer_id = make_code(
        sessions,
        "WINTER15",
        value=15,
        ends_at=datetime(2027, 1, 31, 22, 59, tzinfo=UTC),
        min_subtotal=5000,
        currency="EUR",
        per_customer=1,
        combines_with_shipping=True,
    )
    [listed] = client.get(f"/api/v1/offers/{offer_id}/codes", headers=admin).json()
    page = client.get(_path(listed["page_url"]))
    assert page.status_code == 200, page.text
    text = page.text
    assert "WINTER15" in text and "15% off" in text
    assert "31 January 2027, 23:59 CET" in text and "Europe/Amsterdam" in text
    assert "Minimum spend 50.00 EUR" in text and "Up to 1 per customer" in text
    assert "Combinable only with shipping codes" in text
    assert "<svg" in text and "coupon=WINTER15" in text
    assert page.headers["x-robots-tag"] == "noindex"


def test_a_single_use_code_page_cannot_be_found_by_guessing(client, admin, sessions):
    offer_id = make_code(sessions, "PUBLIC5")
    made = client.post(f"/api/v1/offers/{offer_id}/codes", headers=admin, json={"count": 3})
    rows = list(
        csv.DictReader(io.StringIO(client.get(made.json()["export_url"], headers=admin).text))
    )
    assert len(rows) == 3 and all(r["page_url"].endswith(pages.page_path(r["code"])) for r in rows)
    one = rows[0]
    assert client.get(_path(one["page_url"])).status_code == 200
    assert "One use" in client.get(_path(one["page_url"])).text
    key = one["page_url"].rsplit("/", 1)[1]
    for wrong in (
        f"/shop/codes/{one['code']}/{'0' * len(key)}",
        f"/shop/codes/{rows[1]['code']}/{key}",  # another code's key
        f"/shop/codes/{one['code']}/{key[:-1]}",
        f"/shop/codes/NOPE/{pages.page_key('NOPE')}",  # signed but no such code
    ):
        assert client.get(wrong).status_code == 404


def test_the_sheet_of_a_batch_prints_a_bounded_page_at_a_time(client, admin, sessions):
    offer_id = make_code(sessions, "FLYER")
    made = client.post(
        f"/api/v1/offers/{offer_id}/codes",
        headers=admin,
        json={"count": SHEET_SIZE + 5, "prefix": "FLY"},
    ).json()
    assert log_in(client, sessions, "offers:read").status_code == 303
    first = client.get(f"/admin/offers/{offer_id}/codes/print?batch={made['batch']}")
    assert first.status_code == 200
    assert first.text.count('class="coupon"') == SHEET_SIZE and "Sheet 1 of 2" in first.text
    assert 'class="code">FLYER<' not in first.text  # the public code is not in the batch
    second = client.get(f"/admin/offers/{offer_id}/codes/print?batch={made['batch']}&page=2")
    assert second.text.count('class="coupon"') == 5 and 'id="prev"' in second.text
    assert "/shop/codes/FLY" in second.text
    assert client.get(f"/admin/offers/{offer_id}/codes/print?page=0").status_code == 422
    listing = client.get("/admin/offers")
    assert f'href="/admin/offers/{offer_id}/codes/print"' in listing.text


def test_a_catalog_reader_cannot_print_codes(client, sessions):
    offer_id = make_code(sessions, "SECRET")
    signed_in(client, sessions, "catalog:read")
    page = client.get(f"/admin/offers/{offer_id}/codes/print", follow_redirects=False)
    assert page.status_code == 403
