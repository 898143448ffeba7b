"""Collections by the API: manual lists and rule-picked ones, members queried by product."""

from __future__ import annotations

from mercato.catalog import collections
from tests.helpers import tee

PROBLEM = "application/problem+json"


def test_a_manual_collection_with_its_products(client, admin, make_products):
    tee_, cap = make_products(tee(), tee(handle="cap", title="Wool Cap", skus=("CAP-1",)))
    response = client.post(
        "/api/v1/collections",
        json={
            "title": "Summer Picks",
            "description_html": "<p>Hot <script>x</script>days</p>",
            "product_ids": [cap.id, tee_.id],
        },
        headers=admin,
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["handle"] == "summer-picks" and body["product_count"] == 2
    assert body["automatic"] is False and "script" not in body["description_html"]
    members = client.get("/api/v1/collections/summer-picks/products", headers=admin).json()
    by_id = {m["product_id"]: m for m in members["items"]}
    assert by_id[cap.id]["position"] == 1 and by_id[tee_.id]["title"] == "Organic Tee"
    # Which collections hold a product: one query, by product id.
    listed = client.get("/api/v1/collections", params={"product_id": tee_.id}, headers=admin).json()
    assert [c["handle"] for c in listed["items"]] == ["summer-picks"]
    path = f"/api/v1/collections/{body['id']}/products/{cap.id}"
    assert client.delete(path, headers=admin).status_code == 204
    assert client.delete(path, headers=admin).status_code == 404
    again = client.post(
        f"/api/v1/collections/{body['id']}/products",
        json={"product_ids": [tee_.id, cap.id]},
        headers=admin,
    )
    assert again.json()["product_count"] == 2
    renamed = client.patch(
        "/api/v1/collections/summer-picks",
        json={"title": "Summer", "handle": "summer"},
        headers=admin,
    )
    assert renamed.json()["handle"] == "summer"
    assert client.delete("/api/v1/collections/summer", headers=admin).status_code == 204
    assert client.get("/api/v1/collections/summer", headers=admin).status_code == 404


def test_bad_input_names_its_field_and_saves_nothing(client, admin, make_products):
    [tee_] = make_products(tee())
    bad = client.post(
        "/api/v1/collections",
        json={"title": "X", "handle": "Not Valid", "product_ids": [tee_.id, "prod_nope"]},
        headers=admin,
    )
    assert bad.status_code == 422 and bad.headers["content-type"] == PROBLEM
    assert {tuple(e["loc"]) for e in bad.json()["errors"]} == {("handle",), ("product_ids", 1)}
    both = client.post(
        "/api/v1/collections",
        json={
            "title": "X",
            "rules": [{"field": "vendor", "value": "Acme"}],
            "product_ids": [tee_.id],
        },
        headers=admin,
    )
    assert both.status_code == 422
    assert client.get("/api/v1/collections", headers=admin).json()["items"] == []
    client.post("/api/v1/collections", json={"title": "Sale"}, headers=admin)
    taken = client.post("/api/v1/collections", json={"title": "Sale"}, headers=admin)
    assert taken.status_code == 409


def test_a_collection_with_rules_follows_product_edits(client, admin, make_products, sessions):
    tee_, cap = make_products(
        tee(product_type="Shirts", tags=["summer"]),
        tee(handle="cap", title="Wool Cap", skus=("CAP-1",), product_type="Hats"),
    )
    response = client.post(
        "/api/v1/collections",
        json={
            "title": "Summer shirts",
            "rules": [
                {"field": "product_type", "value": "shirts"},
                {"field": "tag", "value": "Summer"},
            ],
        },
        headers=admin,
    )
    assert response.status_code == 201, response.text
    assert response.json()["product_count"] == 1 and response.json()["automatic"]
    # The cap becomes a summer shirt: it joins; the tee loses its tag: it leaves.
    client.patch(
        f"/api/v1/products/{cap.id}",
        json={"product_type": "Shirts", "tags": ["summer"]},
        headers=admin,
    )
    client.patch(f"/api/v1/products/{tee_.id}", json={"tags": []}, headers=admin)
    with sessions() as session:
        held = collections.of_products(session, [tee_.id, cap.id])
    assert held[tee_.id] == [] and held[cap.id] == [response.json()["id"]]
    # A new product that matches joins at once.
    [new] = make_products(
        tee(handle="polo", title="Polo", skus=("POLO-1",), product_type="SHIRTS", tags=["summer"])
    )
    with sessions() as session:
        assert collections.of_products(session, [new.id])[new.id] == [response.json()["id"]]
    manual = client.post(
        f"/api/v1/collections/{response.json()['id']}/products",
        json={"product_ids": [tee_.id]},
        headers=admin,
    )
    assert manual.status_code == 422


def test_a_deleted_product_leaves_its_collections(client, admin, make_products):
    [tee_] = make_products(tee())
    made = client.post(
        "/api/v1/collections", json={"title": "All", "product_ids": [tee_.id]}, headers=admin
    ).json()
    client.delete(f"/api/v1/products/{tee_.id}", headers=admin)
    assert (
        client.get(f"/api/v1/collections/{made['id']}", headers=admin).json()["product_count"] == 0
    )


def test_the_cli_makes_lists_and_fills_collections(engine, make_products):
    from typer.testing import CliRunner

    from mercato.cli import app

    runner = CliRunner()

    def mercato(*args):
        return runner.invoke(app, list(args), catch_exceptions=False)

    make_products(
        tee(product_type="Shirts"),
        tee(handle="cap", title="Wool Cap", skus=("CAP-1",), product_type="Hats"),
    )
    made = mercato("collections", "create", "Shirts", "--rule", "type=shirts")
    assert made.exit_code == 0 and "with 1 product(s)" in made.output, made.output
    manual = mercato("collections", "create", "Gifts", "--product", "CAP-1", "--product", "tee")
    assert "gifts" in manual.output and "2 product(s)" in manual.output
    listed = mercato("collections", "list")
    assert "product_type is shirts" in listed.output and "manual" in listed.output
    assert "Wool Cap" in mercato("collections", "show", "gifts").output
    assert mercato("collections", "remove", "gifts", "cap").exit_code == 0
    assert "1 product(s)" in mercato("collections", "add", "gifts", "tee").output
    bad = mercato("collections", "create", "X", "--rule", "colour=red")
    assert bad.exit_code == 2 and "type=VALUE" in bad.output
    refused = mercato("collections", "add", "shirts", "cap")
    assert refused.exit_code != 0 and "rules" in refused.output
    assert mercato("collections", "delete", "gifts").exit_code == 0


def test_a_shopify_import_fills_rule_picked_collections(client, admin):
    made = client.post(
        "/api/v1/collections",
        json={"title": "Mugs", "rules": [{"field": "product_type", "value": "Mugs"}]},
        headers=admin,
    ).json()
    rows = (
        b"Handle,Title,Type,Variant SKU,Variant Price\n"
        b"mug,Mug,Mugs,MUG-1,9.50\nplate,Plate,Plates,PLATE-1,7.00\n"
    )
    imported = client.post(
        "/api/v1/products/import/shopify",
        files={"file": ("products.csv", rows, "text/csv")},
        headers=admin,
    )
    assert imported.status_code == 200, imported.text
    members = client.get(f"/api/v1/collections/{made['id']}/products", headers=admin).json()
    assert [m["handle"] for m in members["items"]] == ["mug"]
