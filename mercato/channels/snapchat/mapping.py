"""Variant item -> Snapchat catalog feed row (feeds only: Snapchat fetches a URL)."""

from __future__ import annotations

from mercato.channels.rules import identifiers, money
from mercato.channels.target import Target

COLUMNS = (
    "id",
    "title",
    "description",
    "link",
    "image_link",
    "availability",
    "price",
    "sale_price",
    "condition",
    "brand",
    "gtin",
    "mpn",
    "item_group_id",
    "color",
    "size",
    "google_product_category",
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
        "availability": "in stock" if item["in_stock"] else "out of stock",
        "price": money(item["price"], currency),
        "sale_price": money(item["sale_price"], currency),
        "condition": item["condition"],
        "brand": ids["brand"],
        "gtin": ids["gtin"],
        "mpn": ids["mpn"],
        "item_group_id": item["item_group_id"],
        "color": item.get("color"),
        "size": item.get("size"),
        "google_product_category": item["google_product_category"],
    }
