import time

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from mercato.catalog import service as catalog
from mercato.catalog.schemas import ProductUpdate
from mercato.channels import sync
from mercato.channels.models import Channel, Listing
from mercato.channels.tiktok import signing, webhooks
from mercato.db import transaction
from mercato.sandbox import cdn
from mercato.sandbox import tiktok as tiktok_sim
from mercato.sandbox.tiktok import create_app
from tests.helpers import tee

VECTOR = "b596b73e0cc6de07ac26f036364178ab16b0a907af13d43f0a0cd2345f582dc8"


def test_platforms_md_test_vector():
    params = {"app_key": "29a39d", "timestamp": "1623812664"}
    assert signing.sign("e59af819cc", "/authorization/202309/shops", params) == VECTOR
    # sign and access_token never take part in the signature.
    assert (
        signing.sign(
            "e59af819cc",
            "/authorization/202309/shops",
            {**params, "sign": "x", "access_token": "y"},
        )
        == VECTOR
    )


def test_webhook_signature_is_over_app_key_and_raw_body():
    body = b'{"type":1,"tts_notification_id":"n1"}'
    header = webhooks.signature("29a39d", "e59af819cc", body)
    assert webhooks.verify("29a39d", "e59af819cc", body, header)
    assert not webhooks.verify("29a39d", "e59af819cc", body + b" ", header)


CIPHER = tiktok_sim.SHOP["cipher"]
WAREHOUSE = "7068517275539719942"
HEADERS = {"x-tts-access-token": "t"}


def signed(path, body=b"", secret="e59af819cc", multipart=False, **overrides):
    params = {"app_key": "29a39d", "timestamp": str(int(time.time())), **overrides}
    params = {k: v for k, v in params.items() if v is not None}
    params["sign"] = signing.sign(secret, path, params, body, multipart=multipart)
    return params


class Shop:
    """Signed calls to a fresh simulator, as a TikTok app makes them."""

    def __init__(self, app=None):
        self.client = TestClient(app or create_app())

    def call(self, method, path, body=None, headers=HEADERS, secret="e59af819cc", **params):
        raw = orjson.dumps(body) if body is not None else b""
        query = signed(path, raw, secret, **{"shop_cipher": CIPHER, **params})
        return self.client.request(method, path, params=query, content=raw, headers=headers)

    def upload(self, data: bytes, use_case="MAIN_IMAGE"):
        path = "/product/202309/images/upload"
        return self.client.post(
            path,
            params=signed(path, multipart=True),
            data={"use_case": use_case},
            files={"data": ("a.png", data)},
            headers=HEADERS,
        )

    def product(self, uri, skus=None):
        return {
            "title": "Organic Tee",
            "description": "<p>Soft</p>",
            "category_id": "601226",
            "main_images": [{"uri": uri}],
            "package_weight": {"value": "0.2", "unit": "KILOGRAM"},
            "skus": skus
            or [
                {
                    "seller_sku": sku,
                    "external_sku_id": sku.lower(),
                    "price": {"amount": "25.00", "currency": "USD"},
                    "inventory": [{"warehouse_id": WAREHOUSE, "quantity": 2}],
                }
                for sku in ("TEE-S", "TEE-M")
            ],
        }


def test_every_product_route_checks_signature_timestamp_token_and_shop_cipher():
    shop = Shop()
    path = "/product/202309/products/search"
    ok = shop.call("POST", path, {}, page_size="10")
    assert ok.status_code == 200 and ok.json()["code"] == 0
    query = signed(path, b"{}", page_size="10", shop_cipher=CIPHER)
    tampered = shop.client.post(path, params=query, content=b'{"a":1}', headers=HEADERS)
    assert tampered.status_code == 401 and tampered.json()["message"] == "Invalid signature"
    assert shop.call("POST", path, {}, page_size="10", secret="nope").json()["code"] == 106001
    stale = shop.call("POST", path, {}, page_size="10", timestamp="1623812664")
    assert stale.json()["code"] == 106002
    assert shop.call("POST", path, {}, headers={}, page_size="10").json()["code"] == 105001
    no_cipher = shop.call("POST", path, {}, page_size="10", shop_cipher=None)
    assert no_cipher.json()["message"] == "shop_cipher is required"
    wrong = shop.call("POST", path, {}, page_size="10", shop_cipher="cipher1")
    assert wrong.json()["message"] == "Invalid shop_cipher"
    for method, route in (
        ("GET", "/logistics/202309/warehouses"),
        ("PUT", "/product/202309/products/1"),
        ("POST", "/product/202309/products/1/inventory/update"),
        ("DELETE", "/product/202309/products"),
    ):
        assert shop.call(method, route, {}, timestamp="1623812664").json()["code"] == 106002
    # The shop's cipher comes from the shops the seller authorised.
    shops = shop.call("GET", "/authorization/202309/shops", shop_cipher=None).json()
    assert [s["cipher"] for s in shops["data"]["shops"]] == [CIPHER]


def test_search_needs_page_size_and_lists_no_external_ids():
    shop = Shop()
    path = "/product/202309/products/search"
    assert shop.call("POST", path, {}).status_code == 400
    assert shop.call("POST", path, {}, page_size="101").status_code == 400
    uri = shop.upload(cdn.png("tee")).json()["data"]["uri"]
    for _ in range(3):
        assert shop.call("POST", "/product/202309/products", shop.product(uri)).json()["code"] == 0
    first = shop.call("POST", path, {}, page_size="2").json()["data"]
    assert first["total_count"] == 3 and len(first["products"]) == 2 and first["next_page_token"]
    rest = shop.call("POST", path, {}, page_size="2", page_token=first["next_page_token"])
    assert len(rest.json()["data"]["products"]) == 1 and not rest.json()["data"]["next_page_token"]
    sku = first["products"][0]["skus"][0]
    assert "external_sku_id" not in sku and "external_product_id" not in first["products"][0]
    assert "amount" not in sku["price"] and sku["price"]["tax_exclusive_price"] == "25.00"


def test_images_must_be_uploaded_and_stock_must_go_to_a_real_warehouse():
    shop = Shop()
    assert shop.upload(b"not an image").json()["code"] != 0
    assert shop.upload(cdn.png("tiny", side=50)).json()["code"] != 0
    uploaded = shop.upload(cdn.png("tee")).json()["data"]
    assert uploaded["uri"] and uploaded["url"].startswith("https://")
    storefront = shop.call(
        "POST", "/product/202309/products", shop.product("https://cdn.example.com/tee.jpg")
    ).json()
    assert "was not returned by the image upload API" in storefront["message"]
    body = shop.product(uploaded["uri"])
    body["skus"][0]["inventory"][0]["warehouse_id"] = "default"
    refused = shop.call("POST", "/product/202309/products", body).json()
    assert "warehouse_id default is not an enabled sales warehouse" in refused["message"]
    body["skus"][0]["inventory"][0]["warehouse_id"] = "7068517275539719943"  # disabled
    assert shop.call("POST", "/product/202309/products", body).json()["code"] != 0


def test_an_edit_without_sku_ids_deletes_and_recreates_every_sku():
    shop = Shop()
    uri = shop.upload(cdn.png("tee")).json()["data"]["uri"]
    body = shop.product(uri)
    created = shop.call("POST", "/product/202309/products", body).json()["data"]
    product_id = created["product_id"]
    ids = {s["seller_sku"]: s["id"] for s in created["skus"]}
    # The old way: the whole product again, no SKU ids. TikTok makes new SKUs.
    again = shop.call("PUT", f"/product/202309/products/{product_id}", body).json()["data"]
    new_ids = {s["seller_sku"]: s["id"] for s in again["skus"]}
    assert set(new_ids.values()).isdisjoint(ids.values())
    # With the ids, the SKUs stay; one left out is deleted.
    kept = [{**body["skus"][0], "id": new_ids["TEE-S"]}]
    edited = shop.call("PUT", f"/product/202309/products/{product_id}", shop.product(uri, kept))
    assert [s["id"] for s in edited.json()["data"]["skus"]] == [new_ids["TEE-S"]]
    held = shop.client.get("/_sandbox/items").json()["items"][product_id]
    assert [s["id"] for s in held["skus"]] == [new_ids["TEE-S"]]
    # Another product's SKU id is refused.
    foreign = shop.product(uri, [{**body["skus"][0], "id": "123"}])
    assert shop.call("PUT", f"/product/202309/products/{product_id}", foreign).json()["code"]


def test_stock_and_price_updates_and_deletes_of_at_most_20():
    shop = Shop()
    uri = shop.upload(cdn.png("tee")).json()["data"]["uri"]
    created = shop.call("POST", "/product/202309/products", shop.product(uri)).json()["data"]
    product_id, sku = created["product_id"], created["skus"][0]["id"]
    base = f"/product/202309/products/{product_id}"
    stock = {"skus": [{"id": sku, "inventory": [{"warehouse_id": WAREHOUSE, "quantity": 0}]}]}
    assert shop.call("POST", base + "/inventory/update", stock).json()["code"] == 0
    bad = {"skus": [{"id": "404", "inventory": [{"quantity": 1}]}]}
    errors = shop.call("POST", base + "/inventory/update", bad).json()["data"]["errors"]
    assert errors[0]["detail"]["sku_id"] == "404"
    price = {"skus": [{"id": sku, "price": {"amount": "19.50", "currency": "USD"}}]}
    assert shop.call("POST", base + "/prices/update", price).json()["code"] == 0
    held = shop.client.get("/_sandbox/items").json()["items"][product_id]["skus"][0]
    assert held["inventory"][0]["quantity"] == 0 and held["price"]["amount"] == "19.50"
    too_many = {"product_ids": [str(n) for n in range(21)]}
    assert shop.call("DELETE", "/product/202309/products", too_many).json()["code"] == 12019120
    gone = shop.call("DELETE", "/product/202309/products", {"product_ids": [product_id]})
    assert gone.json()["code"] == 0 and shop.client.get("/_sandbox/items").json()["items"] == {}


def products(sandbox) -> dict:
    return sandbox.get("/tiktok/_sandbox/items").json()["items"]


def test_publish_one_product_with_its_skus_then_edit_a_sku(
    sessions, sandbox, make_products, make_channel
):
    [product] = make_products(tee())
    channel_id = make_channel("tiktok")
    assert sync.publish(sessions, channel_id).sent == 2
    sync.read_back(sessions, channel_id)
    held = products(sandbox)
    assert len(held) == 1
    [remote] = held.values()
    assert sorted(s["external_sku_id"] for s in remote["skus"]) == sorted(
        v.id for v in product.variants
    )
    with sessions() as session:
        rows = list(session.scalars(select(Listing).where(Listing.channel_id == channel_id)))
        assert {x.verdict for x in rows} == {"approved"}
        # TikTok's own product and SKU ids are kept.
        assert {x.platform_ref for x in rows} == {
            f"{remote['id']}:{s['id']}" for s in remote["skus"]
        }
    # Editing one SKU re-sends the product (TikTok replaces it whole): still one product.
    variant = product.variants[0]
    with transaction(sessions) as session:
        catalog.update_product(
            session,
            product.id,
            ProductUpdate(
                variants=[
                    {
                        "id": v.id,
                        "sku": ("RENAMED" if v.id == variant.id else v.sku),
                        "option_values": v.option_values,
                        "price": 2500,
                        "barcode": v.barcode,
                        "weight": "145",
                    }
                    for v in product.variants
                ]
            ),
        )
    sync.publish(sessions, channel_id)
    held = products(sandbox)
    assert len(held) == 1
    skus = {s["external_sku_id"]: s["seller_sku"] for s in next(iter(held.values()))["skus"]}
    assert skus[variant.id] == "RENAMED" and len(skus) == 2
    # The edit named the SKUs: TikTok kept them (it would have made new ones otherwise).
    assert {s["id"] for s in next(iter(held.values()))["skus"]} == {s["id"] for s in remote["skus"]}


def test_platform_rejection_and_expired_token(
    sessions, sandbox, make_products, make_channel, monkeypatch
):
    from mercato.channels.tiktok import spec

    make_products(tee(barcode="4006381333932"))
    channel_id = make_channel("tiktok")
    monkeypatch.setattr(spec, "validate", lambda row, item, target: [])
    assert sync.publish(sessions, channel_id).rejected == 2
    with sessions() as session:
        listing = session.scalar(select(Listing).where(Listing.channel_id == channel_id))
        assert "4006381333932 is not a valid GTIN" in listing.issues[0]["message"]
        assert listing.issues[0]["source"] == "platform"
    sandbox.post("/tiktok/_sandbox/faults", json={"kind": "expired_token"})
    make_products(tee(handle="other", skus=("OT-1",)))
    assert sync.publish(sessions, channel_id).status == "needs_reauth"
    with sessions() as session:
        assert session.get(Channel, channel_id).status == "needs_reauth"


@pytest.mark.parametrize("fault", ["429", "500"])
def test_retries(fault, sessions, sandbox, make_products, make_channel):
    make_products(tee())
    channel_id = make_channel("tiktok")
    sandbox.post("/tiktok/_sandbox/faults", json={"kind": fault, "count": 2})
    assert sync.publish(sessions, channel_id).sent == 2
    assert len(products(sandbox)) == 1


def test_buyer_chats_refuse_what_the_customer_service_api_refuses():
    shop = Shop()
    chat = shop.client.post("/_sandbox/chats", json={"text": "hi", "nickname": "ana"}).json()
    path = f"/customer_service/202309/conversations/{chat['conversation_id']}/messages"

    def send(kind, content):
        body = {"type": kind, "content": orjson.dumps(content).decode()}
        return shop.call("POST", path, body).json()

    assert send("TEXT", {"content": "Hello!"})["code"] == 0
    assert send("TEXT", {"content": "x" * 2001})["code"] == 36009003  # over 2,000 characters
    assert send("VOICE", {"content": "x"})["code"] == 36009003  # not a type the API sends
    assert send("PRODUCT_CARD", {"product_id": "404"})["code"] == 36009012  # not on the shop
    listed = shop.call("GET", "/customer_service/202309/conversations", page_size="21").json()
    assert listed["code"] == 36009004  # 20 a page at most
    shop.client.post(
        "/_sandbox/chats",
        json={"conversation_id": chat["conversation_id"], "can_send_message": False},
    )
    assert send("TEXT", {"content": "Still there?"})["code"] == 36009011
    unsigned = shop.client.post(path, json={"type": "TEXT", "content": "{}"})
    assert unsigned.json()["code"] == 106011  # no app key: refused like every call
