from datetime import UTC, datetime, timedelta

import pytest

PROBLEM = "application/problem+json"


def tee(handle="tee", skus=("TEE-S", "TEE-M"), **extra):
    return {
        "handle": handle,
        "title": "Organic Tee",
        "description_html": "<p>Soft &amp; <b>organic</b>.</p><ul><li>100% cotton</li></ul>",
        "vendor": "Acme",
        "tags": ["summer", "cotton", "summer"],
        "status": "active",
        "google_category": 212,
        "options": ["Size"],
        "media": [{"url": "https://cdn.example.com/tee.jpg", "alt": "A tee"}],
        "variants": [
            {
                "sku": sku,
                "option_values": [sku.rsplit("-", 1)[1]],
                "price": 2500,
                "compare_at_price": 3000,
                "barcode": "4006381333931",
                "weight": "145",
                "image_url": "https://cdn.example.com/tee.jpg",
            }
            for sku in skus
        ],
        "translations": {"fr": {"title": "T-shirt bio"}},
        **extra,
    }


@pytest.fixture
def created(client, admin):
    response = client.post("/api/v1/products", json=tee(), headers=admin)
    assert response.status_code == 201, response.text
    return response.json()


def test_create_returns_the_product_with_derived_fields(created):
    assert created["id"].startswith("prod_")
    assert created["description_text"] == "Soft & organic.\n100% cotton"
    assert created["tags"] == ["summer", "cotton"]
    assert created["google_category_id"] == 212
    assert created["google_category_path"] == "Apparel & Accessories > Clothing > Shirts & Tops"
    assert [v["sku"] for v in created["variants"]] == ["TEE-S", "TEE-M"]
    variant = created["variants"][0]
    assert variant["price"] == 2500 and variant["currency"] == "USD"
    assert variant["image_id"] == created["media"][0]["id"]
    assert created["translations"] == [
        {
            "locale": "fr",
            "title": "T-shirt bio",
            "description_html": None,
            "options": None,
            "option_values": None,
        }
    ]


def test_get_and_lookup_by_sku(client, admin, created):
    assert client.get(f"/api/v1/products/{created['id']}", headers=admin).json() == created
    found = client.get("/api/v1/variants", params={"sku": "TEE-M"}, headers=admin).json()
    assert [v["id"] for v in found["items"]] == [created["variants"][1]["id"]]
    assert client.get("/api/v1/variants", params={"sku": "NOPE"}, headers=admin).json() == {
        "items": [],
        "next_cursor": None,
    }
    variant_id = created["variants"][0]["id"]
    assert client.get(f"/api/v1/variants/{variant_id}", headers=admin).json()["sku"] == "TEE-S"


def test_missing_product_is_404_problem(client, admin):
    response = client.get("/api/v1/products/prod_missing", headers=admin)
    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["type"] == "/problems/not-found"


def test_changing_sku_and_handle_keeps_ids(client, admin, created):
    variants = [dict(v, sku=v["sku"] + "-2024") for v in tee()["variants"]]
    for new, old in zip(variants, created["variants"], strict=True):
        new["id"] = old["id"]
    response = client.patch(
        f"/api/v1/products/{created['id']}",
        headers=admin,
        json={"handle": "organic-tee", "variants": variants},
    )
    assert response.status_code == 200, response.text
    updated = response.json()
    assert updated["id"] == created["id"] and updated["handle"] == "organic-tee"
    assert [v["id"] for v in updated["variants"]] == [v["id"] for v in created["variants"]]
    assert [v["sku"] for v in updated["variants"]] == ["TEE-S-2024", "TEE-M-2024"]
    assert updated["updated_at"] > created["updated_at"]


def test_partial_update_keeps_everything_else(client, admin, created):
    response = client.patch(
        f"/api/v1/products/{created['id']}", headers=admin, json={"title": "Organic Tee v2"}
    )
    updated = response.json()
    assert updated["title"] == "Organic Tee v2"
    for key in ("variants", "media", "tags", "translations", "google_category_id"):
        assert updated[key] == created[key]


def test_replacing_variants_matches_by_sku_adds_and_removes(client, admin, created):
    variants = tee(skus=("TEE-M", "TEE-L"))["variants"]
    updated = client.patch(
        f"/api/v1/products/{created['id']}", headers=admin, json={"variants": variants}
    ).json()
    assert [v["sku"] for v in updated["variants"]] == ["TEE-M", "TEE-L"]
    assert updated["variants"][0]["id"] == created["variants"][1]["id"]
    assert updated["variants"][1]["id"] not in {v["id"] for v in created["variants"]}
    assert (
        client.get("/api/v1/variants", params={"sku": "TEE-S"}, headers=admin).json()["items"] == []
    )


def test_bad_body_is_422_with_field_errors(client, admin):
    body = tee()
    body["variants"][0]["price"] = "abc"
    body["status"] = "published"
    response = client.post("/api/v1/products", json=body, headers=admin)
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    problem = response.json()
    assert problem["type"] == "/problems/validation-error"
    fields = {e["field"] for e in problem["errors"]}
    assert {"body.variants[0].price", "body.status"} <= fields


def test_rules_checked_by_the_service_are_field_errors_too(client, admin):
    body = tee(skus=("A-S", "A-S"))
    body["variants"][1]["option_values"] = ["S"]
    body["google_category"] = "Nonsense > Category"
    body["variants"][0]["currency"] = "XXX"
    response = client.post("/api/v1/products", json=body, headers=admin)
    assert response.status_code == 422, response.text
    errors = {e["field"]: e["message"] for e in response.json()["errors"]}
    assert "appears twice" in errors["variants[1].sku"]
    assert "repeats the options" in errors["variants[1].option_values"]
    assert "not a Google product category" in errors["google_category"]
    assert "ISO 4217" in errors["variants[0].currency"]
    assert client.get("/api/v1/products", headers=admin).json()["items"] == []


def test_taken_handle_or_sku_is_409(client, admin, created):
    response = client.post("/api/v1/products", json=tee(), headers=admin)
    assert response.status_code == 409
    errors = {e["field"]: e["message"] for e in response.json()["errors"]}
    assert "already used" in errors["handle"]
    other = client.post(
        "/api/v1/products", json=tee(handle="other", skus=("TEE-S",)), headers=admin
    )
    assert other.status_code == 409
    assert "already used by product 'tee'" in other.json()["errors"][0]["message"]


def test_delete(client, admin, created):
    assert client.delete(f"/api/v1/products/{created['id']}", headers=admin).status_code == 204
    assert client.get(f"/api/v1/products/{created['id']}", headers=admin).status_code == 404


def test_list_filters_and_cursor_pagination(client, admin):
    for i in range(5):
        status = "draft" if i % 2 else "active"
        body = tee(handle=f"p{i}", skus=(f"P{i}-S",), status=status, title=f"Shirt {i}")
        assert client.post("/api/v1/products", json=body, headers=admin).status_code == 201
    seen, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = client.get("/api/v1/products", params=params, headers=admin).json()
        seen += [p["handle"] for p in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == ["p0", "p1", "p2", "p3", "p4"]

    def handles(**params):
        page = client.get("/api/v1/products", params=params, headers=admin).json()
        return [p["handle"] for p in page["items"]]

    assert handles(status="draft") == ["p1", "p3"]
    assert handles(q="p3-s") == ["p3"]
    assert handles(q="SHIRT 4") == ["p4"]
    future = (datetime.now(UTC) + timedelta(minutes=1)).isoformat()
    assert handles(updated_since=future) == []
    bad = client.get("/api/v1/products", params={"cursor": "%%%"}, headers=admin)
    assert bad.status_code == 422


def test_bulk_upsert_creates_and_updates(client, admin, created):
    changed = tee(title="Renamed Tee")
    new = tee(handle="hoodie", skus=("HOOD-S",), title="Hoodie")
    response = client.post(
        "/api/v1/products/bulk", headers=admin, json={"products": [changed, new]}
    )
    assert response.status_code == 200, response.text
    result = response.json()
    assert (result["created"], result["updated"], result["unchanged"]) == (1, 1, 0)
    by_handle = {p["handle"]: p for p in result["products"]}
    assert by_handle["tee"]["id"] == created["id"]
    assert by_handle["tee"]["title"] == "Renamed Tee"
    again = client.post(
        "/api/v1/products/bulk", headers=admin, json={"products": [changed, new]}
    ).json()
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 2)


def test_bulk_upsert_matches_a_renamed_handle_by_sku(client, admin, created):
    result = client.post(
        "/api/v1/products/bulk", headers=admin, json={"products": [tee(handle="tee-renamed")]}
    ).json()
    assert result["updated"] == 1
    assert result["products"][0]["id"] == created["id"]


def test_bulk_upsert_is_all_or_nothing(client, admin):
    good = tee(handle="good", skus=("G-1",))
    bad = tee(handle="bad", skus=("B-1",))
    bad["options"] = ["Size", "Color"]
    response = client.post("/api/v1/products/bulk", headers=admin, json={"products": [good, bad]})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "products[1].variants[0].option_values"
    assert client.get("/api/v1/products", headers=admin).json()["items"] == []


def test_csv_upload_and_download(client, admin):
    from tests.catalog.test_shopify_csv import TEMPLATE

    with TEMPLATE.open("rb") as upload:
        response = client.post(
            "/api/v1/products/import/shopify",
            headers=admin,
            files={"file": ("products.csv", upload, "text/csv")},
        )
    assert response.status_code == 200, response.text
    assert (response.json()["created"], response.json()["variants"]) == (3, 16)
    page = client.get("/api/v1/products", headers=admin).json()
    assert sum(len(p["variants"]) for p in page["items"]) == 16
    download = client.get("/api/v1/products/export/shopify", headers=admin)
    assert download.headers["content-type"].startswith("text/csv")
    assert download.text.count("\n") == 18 and "SRT_COT_433" in download.text


def test_csv_upload_errors_are_422_with_rows(client, admin):
    bad = b"Handle,Title,Variant SKU,Variant Price\na,A,A-1,abc\n"
    response = client.post(
        "/api/v1/products/import/shopify",
        headers=admin,
        files={"file": ("products.csv", bad, "text/csv")},
    )
    assert response.status_code == 422
    error = response.json()["errors"][0]
    assert error["loc"] == ["rows", 2, "Variant Price"]
    assert error["message"] == 'row 2, column "Variant Price": "abc" is not a price'
    assert client.get("/api/v1/products", headers=admin).json()["items"] == []
