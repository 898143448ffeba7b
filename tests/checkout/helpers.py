"""A small shop to check out from: an active product with stock."""

from __future__ import annotations

from mercato.catalog import service as catalog
from mercato.catalog.schemas import ProductCreate
from mercato.db import transaction
from mercato.inventory import counts as stock
from tests.helpers import ADDRESS


def make_shop(
    sessions,
    on_hand: int = 5,
    price: int = 2500,
    handle: str = "hoodie",
    sizes=("S", "M"),
    image: str = "http://127.0.0.1:9/hoodie.jpg",
    on_hand_by_size: dict[str, int] | None = None,
) -> dict[str, str]:
    """An active product with a variant per size (SKU HOODIE-<size>); {sku: variant id}."""
    with transaction(sessions) as session:
        product = catalog.create_product(
            session,
            ProductCreate(
                title="Cloud Hoodie",
                handle=handle,
                status="active",
                options=["Size"],
                media=[{"url": image, "alt": "hoodie"}],
                variants=[
                    {"sku": f"{handle.upper()}-{size}", "price": price, "option_values": [size]}
                    for size in sizes
                ],
            ),
        )
        ids = {v.sku: v.id for v in product.variants}
        counts = on_hand_by_size or {}
        stock.set_on_hand(
            session, {v: counts.get(sku.rsplit("-", 1)[1], on_hand) for sku, v in ids.items()}
        )
    return ids


def start(client, items=(("HOODIE-M", 1),), **extra):
    body = {"lines": [{"sku": s, "quantity": q} for s, q in items], **extra}
    response = client.post("/api/v1/checkouts", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def fill(client, token, address=ADDRESS, **extra):
    response = client.patch(
        f"/api/v1/checkouts/{token}",
        json={"email": "ada@example.com", "shipping_address": address, **extra},
    )
    assert response.status_code == 200, response.text
    return response.json()


def total_of(client, token) -> int:
    return client.get(f"/api/v1/checkouts/{token}").json()["total"]


def complete(client, token, method="tok_visa", key: str | None = "k", total: int | None = None):
    """Pay the total the checkout shows now (or ``total``), as a buyer's app would."""
    return client.post(
        f"/api/v1/checkouts/{token}/complete",
        json={
            "payment_method": method,
            "expected_total": total_of(client, token) if total is None else total,
        },
        headers={"Idempotency-Key": key} if key else {},
    )
