"""The Google simulator holds to the Merchant API's contract: bodies parsed with the official
message types, empty lists left out, names plain or base64url, tokens from its OAuth
endpoint only."""

import json

import pytest
from fastapi.testclient import TestClient
from google.shopping import merchant_products_v1 as merchant

from mercato.sandbox.google import create_app

ACCOUNT = "/products/v1/accounts/123"
SOURCE = {"dataSource": "accounts/123/dataSources/ds1"}
PRODUCT = {
    "offerId": "sku/123",
    "contentLanguage": "en",
    "feedLabel": "US",
    "productAttributes": {
        "title": "Tee",
        "description": "Soft",
        "link": "https://shop.example.com/p/tee",
        "imageLink": "https://cdn.example.com/tee.jpg",
        "availability": "IN_STOCK",
        "price": {"amountMicros": "25000000", "currencyCode": "USD"},
        "gtins": ["4006381333931"],
    },
}


def refresh(client, **extra):
    """A refresh_token grant at the simulator's OAuth endpoint."""
    grant = {"grant_type": "refresh_token", "client_id": "c", "client_secret": "s"}
    return client.post("/token", data={**grant, "refresh_token": "r", **extra})


@pytest.fixture
def google():
    with TestClient(create_app(), base_url="http://sim.test") as client:
        token = refresh(client, scope="https://www.googleapis.com/auth/content").json()[
            "access_token"
        ]
        client.headers["Authorization"] = f"Bearer {token}"
        yield client


def test_the_v1beta_body_and_unknown_fields_are_refused(google):
    v1beta = {**PRODUCT, "attributes": PRODUCT["productAttributes"]}
    del v1beta["productAttributes"]
    refused = google.post(f"{ACCOUNT}/productInputs:insert", params=SOURCE, json=v1beta)
    assert refused.status_code == 400
    assert refused.json()["error"]["status"] == "INVALID_ARGUMENT"
    assert "attributes" in refused.json()["error"]["message"]
    taxes = {**PRODUCT, "productAttributes": {**PRODUCT["productAttributes"], "taxes": []}}
    assert (
        google.post(f"{ACCOUNT}/productInputs:insert", params=SOURCE, json=taxes).status_code == 400
    )
    assert google.get("/_sandbox/items").json()["items"] == {}


def test_a_bad_enum_value_is_refused(google):
    bad = {**PRODUCT, "productAttributes": {**PRODUCT["productAttributes"], "availability": "in"}}
    refused = google.post(f"{ACCOUNT}/productInputs:insert", params=SOURCE, json=bad)
    assert refused.status_code == 400 and "availability" in refused.json()["error"]["message"]


def test_a_clean_product_has_no_issue_list_and_is_found_by_either_name(google):
    inserted = google.post(f"{ACCOUNT}/productInputs:insert", params=SOURCE, json=PRODUCT)
    assert inserted.status_code == 200, inserted.text
    merchant.ProductInput.from_json(inserted.text, ignore_unknown_fields=False)
    encoded = google.get(f"{ACCOUNT}/products/ZW5-VVN-c2t1LzEyMw")
    assert encoded.status_code == 200, encoded.text
    product = encoded.json()
    merchant.Product.from_json(encoded.text, ignore_unknown_fields=False)
    assert "itemLevelIssues" not in product["productStatus"]
    assert product["productStatus"]["destinationStatuses"][0]["approvedCountries"] == ["US"]
    assert product["base64EncodedName"] == "accounts/123/products/ZW5-VVN-c2t1LzEyMw"
    # The misprinted vector in some copies of the docs decodes to another name.
    assert google.get(f"{ACCOUNT}/products/ZW5-VVMtc2t1LzEyMw").status_code != 200
    # A plain name (told apart by its "~") works where the offer id needs no escaping.
    google.post(
        f"{ACCOUNT}/productInputs:insert", params=SOURCE, json={**PRODUCT, "offerId": "plain"}
    )
    assert google.get(f"{ACCOUNT}/products/en~US~plain").json()["offerId"] == "plain"


def test_listing_pages_hold_at_most_1000_and_parse(google):
    for n in range(3):
        google.post(
            f"{ACCOUNT}/productInputs:insert", params=SOURCE, json={**PRODUCT, "offerId": f"s{n}"}
        )
    first = google.get(f"{ACCOUNT}/products", params={"pageSize": 2})
    body = merchant.ListProductsResponse.from_json(first.text, ignore_unknown_fields=False)
    assert len(body.products) == 2 and body.next_page_token
    rest = google.get(
        f"{ACCOUNT}/products", params={"pageSize": 5000, "pageToken": body.next_page_token}
    ).json()
    assert len(rest["products"]) == 1 and "nextPageToken" not in rest


def test_calls_need_a_token_minted_by_the_oauth_endpoint(google):
    assert google.get(f"{ACCOUNT}/products", headers={"Authorization": "Bearer made-up"}).json()[
        "error"
    ]["status"] == ("UNAUTHENTICATED")
    wrong_scope = refresh(google, scope="https://www.googleapis.com/auth/userinfo.email")
    assert wrong_scope.status_code == 400 and wrong_scope.json()["error"] == "invalid_scope"


def test_registration_and_permission_refusals(google):
    google.post("/_sandbox/faults", json={"kind": "unregistered"})
    unregistered = google.get(f"{ACCOUNT}/products")
    assert unregistered.status_code == 401
    assert "is not registered with the merchant account" in unregistered.json()["error"]["message"]
    google.post("/_sandbox/faults", json={"kind": "forbidden"})
    assert google.get(f"{ACCOUNT}/products").status_code == 403


def test_a_revoked_grant_cannot_be_refreshed(google):
    google.post("/_sandbox/faults", json={"kind": "revoked"})
    assert google.get(f"{ACCOUNT}/products").status_code == 401
    again = refresh(google)
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"


def test_only_api_data_sources_take_inputs(google):
    google.put("/_sandbox/data_sources/ui1", json={"input": "UI"})
    refused = google.post(
        f"{ACCOUNT}/productInputs:insert",
        params={"dataSource": "accounts/123/dataSources/ui1"},
        json=PRODUCT,
    )
    assert refused.status_code == 400
    source = google.get("/datasources/v1/accounts/123/dataSources/ui1").json()
    assert source["input"] == "UI"
    assert json.loads(json.dumps(source))["name"] == "accounts/123/dataSources/ui1"


def test_a_source_limited_to_a_feed_label_refuses_others(google):
    google.put("/_sandbox/data_sources/ds1", json={"feedLabel": "CA", "contentLanguage": "en"})
    refused = google.post(f"{ACCOUNT}/productInputs:insert", params=SOURCE, json=PRODUCT)
    assert refused.status_code == 400 and "feedLabel CA" in refused.json()["error"]["message"]
    canadian = {**PRODUCT, "feedLabel": "CA"}
    assert (
        google.post(f"{ACCOUNT}/productInputs:insert", params=SOURCE, json=canadian).status_code
        == 200
    )
