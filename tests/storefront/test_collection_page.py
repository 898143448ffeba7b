"""A collection in the shop: its products for sale, in its order, each linking to its
page; the product page's images carry their alt text."""

from __future__ import annotations

from mercato.catalog import collections
from mercato.catalog.schemas import CollectionCreate
from mercato.db import transaction
from tests.helpers import tee


def test_a_collection_lists_its_products_for_sale_in_order(client, sessions, make_products):
    tee_, cap, draft = make_products(
        tee(media=[{"url": "https://cdn.example.com/tee.jpg", "alt": "A blue tee, folded"}]),
        tee(handle="cap", title="Wool Cap", skus=("CAP-1",)),
        tee(handle="soon", title="Coming Soon", skus=("SOON-1",), status="draft"),
    )
    with transaction(sessions) as session:
        collections.create_collection(
            session,
            CollectionCreate(
                title="Gift ideas",
                description_html="<p>For <b>everyone</b></p>",
                product_ids=[cap.id, tee_.id, draft.id],
            ),
        )
    page = client.get("/shop/c/gift-ideas")
    assert page.status_code == 200
    html = page.text
    assert "<h1>Gift ideas</h1>" in html and "<b>everyone</b>" in html
    assert html.index("Wool Cap") < html.index("Organic Tee")
    assert "Coming Soon" not in html
    assert 'href="/shop/p/cap"' in html and "25.00" in html
    assert client.get("/shop/c/nothing-here").status_code == 404
    product = client.get("/shop/p/tee").text
    assert 'alt="A blue tee, folded"' in product
