"""Variant item <-> Meta catalog item (feed attributes; the Batch API takes the same)."""

from __future__ import annotations

from mercato.channels.rules import identifiers, money
from mercato.channels.target import Target

# Feed columns, in order.
COLUMNS = (
    "id",
    "title",
    "description",
    "availability",
    "condition",
    "price",
    "sale_price",
    "link",
    "image_link",
    "additional_image_link",
    "brand",
    "gtin",
    "mpn",
    "inventory",
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
        "availability": "in stock" if item["in_stock"] else "out of stock",
        "condition": item["condition"],
        "price": money(item["price"], currency),
        "sale_price": money(item["sale_price"], currency),
        "link": item["link"],
        "image_link": item["image_link"],
        "additional_image_link": item["additional_image_link"],
        "brand": ids["brand"],
        "gtin": ids["gtin"],
        "mpn": ids["mpn"],
        "inventory": item["quantity"],
        "item_group_id": item["item_group_id"],
        "color": item.get("color"),
        "size": item.get("size"),
        "gender": item["gender"],
        "age_group": item["age_group"],
        "google_product_category": item["google_product_category"],
        "product_type": item["product_type"],
    }


def to_api(row: dict, target: Target) -> dict:
    """The ``data`` of an items_batch request: the row without empty fields."""
    return {key: value for key, value in row.items() if value not in (None, "", [])}


def summary(data: dict) -> dict:
    """What drift is judged on: the fields a shopper sees and buys by."""
    return {key: data.get(key) for key in ("title", "price", "sale_price", "availability")}


def _read_price(shown: str | None, currency: str | None) -> str | None:
    """A read-back price ("$1,234.50", currency "USD") in the pushed form ("1234.50 USD")."""
    if not shown:
        return None
    amount = "".join(c for c in str(shown) if c.isdigit() or c == ".")
    return f"{amount} {currency}" if amount else None


def read_summary(item: dict) -> dict:
    """``summary`` of an item as the Graph API reads it back: ``name`` for the title, and
    display-formatted prices with a separate currency (PLATFORMS.md §1.3)."""
    currency = item.get("currency")
    return {
        "title": item.get("name"),
        "price": _read_price(item.get("price"), currency),
        "sale_price": _read_price(item.get("sale_price"), currency),
        "availability": item.get("availability"),
    }
