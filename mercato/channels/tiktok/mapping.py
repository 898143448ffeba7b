"""Variant items <-> TikTok Shop products: one product per Mercato product, one SKU per
variant. TikTok assigns its own product id; ours travel as external ids."""

from __future__ import annotations

from decimal import Decimal
from html import escape

from mercato.channels.items import Target
from mercato.money import format_plain

# Mercato weight unit -> (TikTok unit, factor).
WEIGHT = {
    "g": ("KILOGRAM", Decimal("0.001")),
    "kg": ("KILOGRAM", Decimal(1)),
    "oz": ("POUND", Decimal("0.0625")),
    "lb": ("POUND", Decimal(1)),
}


def _description(text: str) -> str:
    # TikTok takes a small HTML subset and only its own images: paragraphs of plain text.
    return "".join(f"<p>{escape(line)}</p>" for line in text.splitlines() if line.strip())


def to_row(item: dict, target: Target) -> dict:
    weight = None
    if item["weight"]:
        unit, factor = WEIGHT[item["weight_unit"]]
        value = (Decimal(item["weight"]) * factor).normalize()
        weight = {"value": format(value, "f"), "unit": unit} if value > 0 else None
    price = item["sale_price"] if item["sale_price"] is not None else item["price"]
    return {
        "id": item["id"],
        "product_id": item["product_id"],
        "title": item["title"],
        "description": _description(item["description"]),
        "category_id": item.get("tiktok_category_id") or target.settings.get("category_id"),
        "main_images": ([item["image_link"]] if item["image_link"] else [])
        + item["additional_image_link"],
        "package_weight": weight,
        "seller_sku": item["sku"],
        "price": format_plain(price, item["currency"]),
        "currency": item["currency"],
        "quantity": item["quantity"],
        "sales_attributes": [
            {"name": name, "value_name": value} for name, _, value in item["varying"] if value
        ],
        "identifier_code": item["gtin"],
    }


def to_product(rows: list[dict], target: Target) -> dict:
    """The Create/Edit Product body for one product's rows (its variants)."""
    first = rows[0]
    skus = []
    for row in rows:
        sku = {
            "external_sku_id": row["id"],
            "seller_sku": row["seller_sku"],
            "price": {"amount": row["price"], "currency": row["currency"]},
            "sales_attributes": row["sales_attributes"],
            "inventory": [
                {
                    "warehouse_id": target.settings.get("warehouse_id", "default"),
                    "quantity": row["quantity"]
                    if row["quantity"] is not None
                    else target.settings.get("default_quantity", 100),
                }
            ],
        }
        if row["identifier_code"]:
            sku["identifier_code"] = {"code": row["identifier_code"], "type": "GTIN"}
        skus.append(sku)
    return {
        "title": first["title"],
        "description": first["description"],
        "category_id": str(first["category_id"]),
        "main_images": [{"uri": url} for url in first["main_images"][:9]],
        "package_weight": first["package_weight"],
        "external_product_id": first["product_id"],
        "skus": skus,
    }


def to_api(row: dict, target: Target) -> dict:
    return row


def summary(data: dict) -> dict:
    """Per SKU: what a shopper sees."""
    return {"price": data.get("price"), "title": data.get("title")}
