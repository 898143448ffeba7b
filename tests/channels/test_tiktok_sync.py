"""TikTok Shop lists products, not variants: a removed variant is taken off by sending its
product again without it, and drift is repaired by one reconciliation, as elsewhere."""

import time

from sqlalchemy import select

from mercato.catalog import service as catalog
from mercato.catalog.schemas import ProductUpdate
from mercato.channels import service, sync
from mercato.channels.models import Channel, ImageUpload
from mercato.db import transaction
from mercato.inventory import counts
from mercato.inventory.schemas import AdjustmentCreate
from tests.helpers import CREDENTIALS, tee

from .test_sync_contract import listings


def products(sandbox) -> dict:
    return sandbox.get("/tiktok/_sandbox/items").json()["items"]


def skus(product: dict) -> set[str]:
    return {sku["external_sku_id"] for sku in product["skus"]}


def test_removing_one_variant_is_sent(sessions, sandbox, make_products, make_channel):
    [product] = make_products(tee(skus=("TEE-S", "TEE-M", "TEE-L")))
    channel_id = make_channel("tiktok")
    assert sync.publish(sessions, channel_id).sent == 3
    [(tiktok_id, held)] = products(sandbox).items()
    assert skus(held) == {v.id for v in product.variants}
    removed, *kept = product.variants
    with transaction(sessions) as session:
        catalog.update_product(
            session,
            product.id,
            ProductUpdate(
                variants=[
                    {
                        "id": v.id,
                        "sku": v.sku,
                        "option_values": v.option_values,
                        "price": v.price,
                        "barcode": v.barcode,
                        "mpn": v.mpn,
                        "weight": v.weight,
                    }
                    for v in kept
                ]
            ),
        )
    result = sync.publish(sessions, channel_id)
    assert (result.sent, result.deleted) == (2, 1)
    # The same TikTok product, without the removed SKU.
    assert products(sandbox).keys() == {tiktok_id}
    assert skus(products(sandbox)[tiktok_id]) == {v.id for v in kept}
    assert listings(sessions, channel_id)[removed.id].verdict == "deleted"
    assert sync.publish(sessions, channel_id).sent == 0
    # Removing the product's last variants deletes the product.
    with transaction(sessions) as session:
        catalog.update_product(session, product.id, ProductUpdate(status="archived"))
    assert sync.publish(sessions, channel_id).deleted == 2
    assert products(sandbox) == {}


def test_one_reconciliation_repairs_drift(sessions, sandbox, make_products, make_channel):
    make_products(tee(), tee(handle="cap", skus=("CAP-1",)), tee(handle="bag", skus=("BAG-1",)))
    channel_id = make_channel("tiktok")
    sync.publish(sessions, channel_id)
    sync.read_back(sessions, channel_id)
    by_skus = {
        frozenset(sku["seller_sku"] for sku in p["skus"]): pid
        for pid, p in products(sandbox).items()
    }
    # Drift: one product lost, one changed behind our back, one the shop should not hold.
    sandbox.delete(f"/tiktok/_sandbox/items/{by_skus[frozenset({'CAP-1'})]}")
    sandbox.put(
        f"/tiktok/_sandbox/items/{by_skus[frozenset({'TEE-S', 'TEE-M'})]}",
        json={"title": "Tampered"},
    )
    sandbox.put(
        "/tiktok/_sandbox/items/prd_ghost",
        json={
            "id": "prd_ghost",
            "title": "Ghost",
            "skus": [
                {
                    "id": "sku_ghost",
                    "external_sku_id": "ghost",
                    "seller_sku": "GHOST",
                    "price": {"amount": "1.00", "currency": "USD"},
                }
            ],
        },
    )
    result = sync.reconcile(sessions, channel_id)
    assert (result.missing, result.stale, result.extra) == (1, 2, 1)
    assert result.publish.sent == 3
    after = products(sandbox)
    assert "prd_ghost" not in after and len(after) == 3
    assert {p["title"] for p in after.values()} == {"Organic Tee"}
    again = sync.reconcile(sessions, channel_id)
    assert (again.missing, again.stale, again.extra, again.publish.sent) == (0, 0, 0, 0)


def stock(sessions, sku: str, quantity: int) -> None:
    with transaction(sessions) as session:
        counts.adjust(
            session,
            AdjustmentCreate(
                sku=sku, quantity=quantity, kind="receipt" if quantity > 0 else "adjustment"
            ),
        )


def tiktok_stock(sandbox) -> dict[str, int]:
    return {
        sku["seller_sku"]: sum(i["quantity"] for i in sku["inventory"])
        for product in products(sandbox).values()
        for sku in product["skus"]
    }


def test_stock_and_price_go_through_their_own_calls_not_an_edit(
    sessions, sandbox, make_products, make_channel
):
    [product] = make_products(tee())
    stock(sessions, "TEE-S", 3)
    channel_id = make_channel("tiktok")
    sync.publish(sessions, channel_id)
    sync.read_back(sessions, channel_id)
    assert tiktok_stock(sandbox) == {"TEE-S": 3, "TEE-M": 0}
    edits = sandbox.get("/tiktok/_sandbox/items").json()["items_received"]
    # A sell-out: only the stock call, straight away (no edit, no review).
    stock(sessions, "TEE-S", -3)
    result = sync.push_availability(sessions, channel_id, [v.id for v in product.variants])
    assert result.sent == 2
    assert tiktok_stock(sandbox) == {"TEE-S": 0, "TEE-M": 0}
    assert sandbox.get("/tiktok/_sandbox/items").json()["items_received"] == edits
    # A price change: the price call.
    with transaction(sessions) as session:
        catalog.update_product(
            session,
            product.id,
            ProductUpdate(variants=[{**_variant(v), "price": 1999} for v in product.variants]),
        )
    sync.publish(sessions, channel_id)
    assert sandbox.get("/tiktok/_sandbox/items").json()["items_received"] == edits
    [held] = products(sandbox).values()
    assert {s["price"]["amount"] for s in held["skus"]} == {"19.99"}
    # A title change is an edit, with the SKU ids.
    sku_ids = {s["id"] for s in held["skus"]}
    with transaction(sessions) as session:
        catalog.update_product(session, product.id, ProductUpdate(title="Organic Tee, New"))
    sync.publish(sessions, channel_id)
    assert sandbox.get("/tiktok/_sandbox/items").json()["items_received"] == edits + 2
    [held] = products(sandbox).values()
    assert held["title"] == "Organic Tee, New" and {s["id"] for s in held["skus"]} == sku_ids


def _variant(v) -> dict:
    return {
        "id": v.id,
        "sku": v.sku,
        "option_values": v.option_values,
        "price": v.price,
        "barcode": v.barcode,
        "mpn": v.mpn,
        "weight": v.weight,
    }


def test_images_are_uploaded_once_and_sent_as_tiktok_uris(
    sessions, sandbox, make_products, make_channel
):
    make_products(tee(), tee(handle="cap", skus=("CAP-1",)))
    channel_id = make_channel("tiktok")
    assert sync.publish(sessions, channel_id).sent == 3
    uploads = sandbox.app.routes  # the simulator app, to read what it holds
    sim = next(r.app for r in uploads if getattr(r, "path", "") == "/tiktok").state.sim
    assert len(sim.uploads) == 1
    for product in products(sandbox).values():
        assert [i["uri"] for i in product["main_images"]] == list(sim.uploads)
    with sessions() as session:
        [row] = session.scalars(select(ImageUpload)).all()
        assert row.source_url == "https://cdn.example.com/tee.jpg" and row.uri in sim.uploads


def test_verdicts_read_back_as_what_they_are(sessions, sandbox, make_products, make_channel):
    make_products(tee(), tee(handle="cap", skus=("CAP-1",)), tee(handle="bag", skus=("BAG-1",)))
    channel_id = make_channel("tiktok")
    sandbox.post("/tiktok/_sandbox/faults", json={"kind": "delay_verdicts", "count": 1})
    sync.publish(sessions, channel_id)
    by_sku = {p["skus"][0]["seller_sku"]: pid for pid, p in products(sandbox).items()}
    sandbox.put(
        f"/tiktok/_sandbox/items/{by_sku['CAP-1']}",
        json={
            "status": "FAILED",
            "audit_failed_reasons": [
                {"position": "main_images", "reasons": ["Blurry image"], "suggestions": ["Reshoot"]}
            ],
        },
    )
    sandbox.put(f"/tiktok/_sandbox/items/{by_sku['BAG-1']}", json={"status": "SELLER_DEACTIVATED"})
    result = sync.read_back(sessions, channel_id)
    assert result.still_pending == 2  # the tee, under review
    by_item = listings(sessions, channel_id)
    verdicts = {x.item_id: x for x in by_item.values()}
    cap = next(x for x in verdicts.values() if x.platform_ref.startswith(by_sku["CAP-1"]))
    bag = next(x for x in verdicts.values() if x.platform_ref.startswith(by_sku["BAG-1"]))
    assert cap.verdict == "rejected" and "Blurry image (Reshoot)" in cap.issues[0]["message"]
    assert bag.verdict == "rejected" and "SELLER_DEACTIVATED" in bag.issues[0]["message"]
    sync.read_back(sessions, channel_id)
    assert {x.verdict for x in listings(sessions, channel_id).values()} == {
        "approved",
        "rejected",
    }


def test_deletes_go_20_products_a_call(sessions, sandbox, make_products, make_channel):
    made = make_products(*(tee(handle=f"t{n}", skus=(f"T{n}-S",)) for n in range(25)))
    channel_id = make_channel("tiktok")
    sync.publish(sessions, channel_id)
    assert len(products(sandbox)) == 25
    with transaction(sessions) as session:
        for product in made:
            catalog.update_product(session, product.id, ProductUpdate(status="archived"))
    assert sync.publish(sessions, channel_id).deleted == 25
    assert products(sandbox) == {}


def test_a_warehouse_that_is_not_an_enabled_sales_warehouse_is_named(
    sessions, sandbox, make_products, make_channel
):
    make_products(tee())
    channel_id = make_channel("tiktok")
    with transaction(sessions) as session:
        channel = session.get(Channel, channel_id)
        channel.settings = {**channel.settings, "warehouse_id": "7068517275539719943"}
    result = sync.publish(sessions, channel_id)
    assert products(sandbox) == {}
    assert "7068517275539719943 is not an enabled sales warehouse" in result.messages[0]


def test_an_expired_token_is_refreshed_and_both_new_tokens_are_stored(
    sessions, sandbox, make_products, make_channel
):
    make_products(tee())
    channel_id = make_channel("tiktok")
    with transaction(sessions) as session:
        service.replace_credentials(
            session,
            channel_id,
            {**CREDENTIALS["tiktok"], "refresh_token": "tt-refresh-token"},
        )
    sandbox.post("/tiktok/_sandbox/faults", json={"kind": "expired_token"})
    assert sync.publish(sessions, channel_id).sent == 2
    with sessions() as session:
        channel = session.get(Channel, channel_id)
        stored = service.credentials(channel)
        assert channel.status == "active"
    assert stored["access_token"].startswith("at-") and stored["refresh_token"].startswith("rt-")
    # Absolute expiry timestamps, about a week ahead.
    assert 6 * 86400 < int(stored["access_token_expires_at"]) - time.time() <= 7 * 86400
    # The old refresh token was used up; a refused refresh means re-authorisation.
    with transaction(sessions) as session:
        service.replace_credentials(
            session, channel_id, {**stored, "refresh_token": "tt-refresh-token"}
        )
    sandbox.post("/tiktok/_sandbox/faults", json={"kind": "expired_token"})
    make_products(tee(handle="cap", skus=("CAP-1",)))
    assert sync.publish(sessions, channel_id).status == "needs_reauth"


def test_an_image_that_cannot_be_fetched_rejects_its_product_only(
    sessions, sandbox, make_products, make_channel
):
    make_products(
        tee(), tee(handle="cap", skus=("CAP-1",), media=[{"url": "https://x.test/missing.jpg"}])
    )
    channel_id = make_channel("tiktok")
    result = sync.publish(sessions, channel_id)
    assert (result.sent, result.rejected) == (3, 1)
    [held] = products(sandbox).values()
    assert {s["seller_sku"] for s in held["skus"]} == {"TEE-S", "TEE-M"}
    [cap] = [x for x in listings(sessions, channel_id).values() if x.verdict == "rejected"]
    assert "missing.jpg: HTTP 404" in cap.issues[0]["message"]


def test_stock_of_a_product_not_live_yet_goes_in_an_edit(
    sessions, sandbox, make_products, make_channel
):
    [product] = make_products(tee())
    stock(sessions, "TEE-S", 3)
    channel_id = make_channel("tiktok")
    sync.publish(sessions, channel_id)
    [(tiktok_id, _)] = products(sandbox).items()
    sandbox.put(f"/tiktok/_sandbox/items/{tiktok_id}", json={"status": "PENDING"})
    stock(sessions, "TEE-S", -3)
    result = sync.push_availability(sessions, channel_id, [v.id for v in product.variants])
    assert (result.sent, result.rejected) == (2, 0)
    assert tiktok_stock(sandbox)["TEE-S"] == 0
