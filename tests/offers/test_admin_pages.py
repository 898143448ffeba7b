"""The dashboard's offers and creators pages, each behind its scope."""

from __future__ import annotations

from tests.helpers import log_in, signed_in
from tests.offers.helpers import make_code


def test_offers_and_creators_pages_show_uses_caps_and_the_formulas(client, admin, sessions):
    make_code(sessions, "SPRING10", max_uses=50)
    client.post(
        "/api/v1/creators",
        headers=admin,
        json={"handle": "ada", "name": "Ada", "commission": {"kind": "percentage", "value": 1000}},
    )
    assert log_in(client, sessions, "offers:read", "creators:read").status_code == 303
    page = client.get("/admin/offers")
    assert page.status_code == 200 and "SPRING10" in page.text and ">50<" in page.text
    assert "discount_cost" in page.text  # the formulas are shown
    assert "order discount; combines with none" in page.text
    creators = client.get("/admin/creators")
    assert creators.status_code == 200 and "@ada" in creators.text and "?ref=ada" in creators.text


def test_a_catalog_reader_sees_no_offers(client, sessions):
    signed_in(client, sessions, "catalog:read")
    for path in ("/admin/offers", "/admin/creators"):
        assert client.get(path, follow_redirects=False).status_code == 403
