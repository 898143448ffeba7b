"""TikTok Shop lists products, not variants: a removed variant is taken off by sending its
product again without it, and drift is repaired by one reconciliation, as elsewhere."""

from mercato.catalog import service as catalog
from mercato.catalog.schemas import ProductUpdate
from mercato.channels import sync
from mercato.db import transaction

from .conftest import tee
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
