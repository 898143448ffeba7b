"""Variant items <-> TikTok Shop products: one product per Mercato product, one SKU per
variant. TikTok assigns its own product and SKU ids (kept as the listing's platform ref,
``"<product id>:<SKU id>"``); ours travel as external ids, which only Get Product returns.

Images go as URLs here; the client swaps them for the URIs of TikTok's upload API."""

from __future__ import annotations

import hashlib
from decimal import Decimal
from html import escape

import orjson

from mercato.channels.target import Target
from mercato.money import format_plain

DEFAULT_QUANTITY = 100
# Fields with their own update calls (stock, price): a change to them alone is no edit.
VOLATILE = ("price", "currency", "quantity")
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
        # Untracked variants ("continue" selling) publish as the channel's default count.
        "quantity": item["quantity"]
        if item["quantity"] is not None
        else int(target.settings.get("default_quantity", DEFAULT_QUANTITY)),
        "sales_attributes": [
            {"name": name, "value_name": value} for name, _, value in item["varying"] if value
        ],
        "identifier_code": item["gtin"],
    }


def ref(product_id: str, sku_id: str) -> str:
    return f"{product_id}:{sku_id}"


def split_ref(platform_ref: str | None) -> tuple[str | None, str | None]:
    """(TikTok product id, SKU id) of a listing's platform ref."""
    if not platform_ref:
        return None, None
    product_id, _, sku_id = platform_ref.partition(":")
    return product_id, sku_id or None


def to_product(rows: list[dict], warehouse_id: str, sku_ids: dict[str, str] | None = None) -> dict:
    """The Create/Edit Product body for one product's rows (its variants). ``sku_ids``
    (item id -> TikTok SKU id): an edit must name every SKU it keeps, or TikTok deletes
    it and creates a new one."""
    first = rows[0]
    skus = []
    for row in rows:
        sku = {
            "external_sku_id": row["id"],
            "seller_sku": row["seller_sku"],
            "price": {"amount": row["price"], "currency": row["currency"]},
            "sales_attributes": row["sales_attributes"],
            "inventory": [{"warehouse_id": warehouse_id, "quantity": row["quantity"]}],
        }
        if sku_ids and sku_ids.get(row["id"]):
            sku = {"id": sku_ids[row["id"]], **sku}
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


def price_text(amount) -> str | None:
    """Prices compared as numbers: TikTok may answer "25" for "25.00"."""
    return None if amount in (None, "") else format(Decimal(str(amount)).normalize(), "f")


def listing_digest(row: dict) -> str:
    """Everything but stock and price: when it is unchanged, a push needs no edit."""
    rest = {k: v for k, v in row.items() if k not in VOLATILE}
    return hashlib.sha256(orjson.dumps(rest, option=orjson.OPT_SORT_KEYS)).hexdigest()


def summary(data: dict) -> dict:
    """Per SKU: what a shopper sees (compared with the shop's listing for drift), and the
    digest of the rest (never listed back; tells an edit from a stock or price update)."""
    return {
        "price": price_text(data.get("price")),
        "title": data.get("title"),
        "quantity": data.get("quantity"),
        "listing": listing_digest(data),
    }
