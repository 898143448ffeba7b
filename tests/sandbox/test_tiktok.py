import time

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from mercato.catalog import service as catalog
from mercato.catalog.schemas import ProductUpdate
from mercato.channels import sync
from mercato.channels.models import Channel, Listing
from mercato.channels.tiktok import signing, webhooks
from mercato.db import transaction
from mercato.sandbox.tiktok import create_app
from tests.channels.conftest import tee

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


def signed(path, body=b"", secret="e59af819cc", **overrides):
    params = {"app_key": "29a39d", "timestamp": str(int(time.time())), **overrides}
    params["sign"] = signing.sign(secret, path, params, body)
    return params


def test_simulator_refuses_bad_signatures_and_stale_timestamps():
    client = TestClient(create_app())
    path = "/product/202309/products/search"
    headers = {"x-tts-access-token": "t"}
    ok = client.post(path, params=signed(path, b"{}"), content=b"{}", headers=headers)
    assert ok.status_code == 200 and ok.json()["code"] == 0
    tampered = client.post(path, params=signed(path, b"{}"), content=b'{"a":1}', headers=headers)
    assert tampered.status_code == 401 and tampered.json()["message"] == "Invalid signature"
    wrong_secret = client.post(
        path, params=signed(path, b"{}", secret="nope"), content=b"{}", headers=headers
    )
    assert wrong_secret.json()["code"] == 106001
    stale = client.post(
        path, params=signed(path, b"{}", timestamp="1623812664"), content=b"{}", headers=headers
    )
    assert stale.json()["code"] == 106002


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
        assert {x.platform_ref for x in rows} == {remote["id"]}
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
