"""Posts tagged with the products they show: on the creator's page, the dashboard and
the return per post, read from the ledger's touches naming the post."""

from __future__ import annotations

from sqlalchemy import select

from mercato.catalog.models import Product
from tests.checkout.helpers import make_shop
from tests.helpers import log_in
from tests.offers.test_creators import _buy, _creator, _settle
from tests.offers.test_roi_and_cli import cli


def test_a_tagged_post_shows_its_products_and_its_return(client, admin, sessions, drain):
    make_shop(sessions, on_hand=20)
    make_shop(sessions, on_hand=20, price=2000, handle="cap", sizes=("M",))
    with sessions() as session:
        products = {p.handle: p for p in session.scalars(select(Product))}
    session_products = {h: (p.id, p.title) for h, p in products.items()}
    creator = _creator(client, admin)

    unknown = client.post(
        "/api/v1/creators/posts",
        headers=admin,
        json={"reference": "reel-42", "product_ids": ["prd_nothing"]},
    )
    assert unknown.status_code == 422
    assert [e["loc"] for e in unknown.json()["errors"]] == [["product_ids", 0]]
    post = client.post(
        "/api/v1/creators/posts",
        headers=admin,
        json={
            "reference": "reel-42",
            "creator_id": creator["id"],
            "channel": "instagram",
            "url": "https://www.instagram.com/reel/abc/",
            "title": "Autumn layers",
            "product_ids": [session_products["hoodie"][0]],
        },
    )
    assert post.status_code == 201, post.text
    assert [p["id"] for p in post.json()["products"]] == [session_products["hoodie"][0]]
    retagged = client.put(
        f"/api/v1/creators/posts/{post.json()['id']}/products",
        headers=admin,
        json={"product_ids": [session_products["hoodie"][0], session_products["cap"][0]]},
    )
    assert len(retagged.json()["products"]) == 2
    taken = client.post("/api/v1/creators/posts", headers=admin, json={"reference": "reel-42"})
    assert taken.status_code == 422

    # A sale through the post's link (its content_id), one through another link.
    _buy(client, (("HOODIE-M", 2),), attribution={"creator": "ada", "content_id": "reel-42"})
    _buy(client, (("CAP-M", 1),), attribution={"creator": "ada", "content_id": "story-7"})
    _settle(drain, sessions)

    found = client.get("/api/v1/creators/roi?by=post", headers=admin).json()
    rows = {r["key"]: r for r in found["rows"]}
    reel = rows["reel-42"]
    assert reel["orders"] == 1 and reel["commission"] == 500  # 10% of 50.00
    assert reel["revenue"] > 5000  # the order's total, shipping and tax included
    assert {p["title"] for p in reel["products"]} == {
        session_products["hoodie"][1],
        session_products["cap"][1],
    }
    assert rows["story-7"]["orders"] == 1 and rows["story-7"]["products"] == []
    assert "products" in found["formulas"]
    assert reel["net"] == reel["revenue"] - reel["discount_cost"] - reel["commission"]

    page = client.get(creator["page_url"].split("testserver", 1)[-1])
    assert "Autumn layers" in page.text and page.text.count('class="tagged"') == 2

    printed = cli("offers", "roi", "--by", "post")
    assert printed.exit_code == 0 and "reel-42" in printed.output

    assert log_in(client, sessions, "creators:read").status_code == 303
    dashboard = client.get("/admin/creators")
    assert dashboard.status_code == 200 and "Autumn layers" in dashboard.text
