"""Variant item <-> Pinterest catalog item (feed row and items/batch attributes)."""

from __future__ import annotations

from mercato.channels.rules import identifiers, money
from mercato.channels.target import Target

COLUMNS = (
    "id",
    "title",
    "description",
    "link",
    "image_link",
    "additional_image_link",
    "price",
    "sale_price",
    "availability",
    "condition",
    "brand",
    "gtin",
    "mpn",
    "item_group_id",
    "color",
    "size",
    "gender",
    "age_group",
    "google_product_category",
    "product_type",
)


def to_row(item: dict, target: Target) -> dict:
    ids = identifiers(item)
    currency = item["currency"]
    return {
        "id": item["id"],
        "title": item["title"],
        "description": item["description"],
        "link": item["link"],
        "image_link": item["image_link"],
        "additional_image_link": item["additional_image_link"],
        "price": money(item["price"], currency),
        "sale_price": money(item["sale_price"], currency),
        "availability": "in stock" if item["in_stock"] else "out of stock",
        "condition": item["condition"],
        "brand": ids["brand"],
        "gtin": ids["gtin"],
        "mpn": ids["mpn"],
        "item_group_id": item["item_group_id"],
        "color": item.get("color"),
        "size": item.get("size"),
        "gender": item["gender"],
        "age_group": item["age_group"],
        "google_product_category": item["google_product_category_path"],
        "product_type": item["product_type"],
    }


def to_api(row: dict, target: Target) -> dict:
    """One ``items[]`` entry of an items/batch UPSERT, without its operation; the item is
    named by ``item_id`` (the ``id`` attribute is deprecated)."""
    attributes = {k: v for k, v in row.items() if k != "id" and v not in (None, "", [])}
    return {"item_id": row["id"], "attributes": attributes}


def _price(value) -> str | None:
    """ "24.99 USD", "24.99USD" and "24.99" (USD assumed) all read "24.99 USD"."""
    if value in (None, ""):
        return None
    text = str(value).replace(" ", "")
    amount = text.rstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    return f"{amount} {text[len(amount) :] or 'USD'}"


def read_summary(attributes: dict) -> dict:
    """What drift is judged on, in one form whichever way Pinterest writes it back."""
    return {
        "title": attributes.get("title"),
        "price": _price(attributes.get("price")),
        "sale_price": _price(attributes.get("sale_price")),
        "availability": (attributes.get("availability") or "").lower() or None,
    }


def summary(data: dict) -> dict:
    return read_summary(data.get("attributes", {}))
