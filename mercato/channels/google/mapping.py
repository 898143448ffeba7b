"""Variant item <-> Google product (feed attributes, and the Merchant API ProductInput)."""

from __future__ import annotations

import re

from mercato.channels.rules import identifiers, money
from mercato.channels.target import Target
from mercato.money import exponent, to_minor

COLUMNS = (
    "id",
    "title",
    "description",
    "link",
    "image_link",
    "additional_image_link",
    "availability",
    "condition",
    "price",
    "sale_price",
    "brand",
    "gtin",
    "mpn",
    "identifier_exists",
    "item_group_id",
    "color",
    "size",
    "material",
    "pattern",
    "gender",
    "age_group",
    "google_product_category",
    "product_type",
)
# Snake-case feed attribute -> camelCase ProductAttributes field.
_CAMEL = re.compile(r"_([a-z])")


def to_row(item: dict, target: Target) -> dict:
    ids = identifiers(item)
    currency = item["currency"]
    return {
        "id": item["id"],
        "title": item["title"],
        "description": item["description"][:5000],
        "link": item["link"],
        "image_link": item["image_link"],
        "additional_image_link": item["additional_image_link"],
        "availability": "in_stock" if item["in_stock"] else "out_of_stock",
        "condition": item["condition"],
        "price": money(item["price"], currency),
        "sale_price": money(item["sale_price"], currency),
        "brand": ids["brand"],
        "gtin": ids["gtin"],
        "mpn": ids["mpn"],
        "identifier_exists": ids["identifier_exists"],
        "item_group_id": item["item_group_id"],
        "color": item.get("color"),
        "size": item.get("size"),
        "material": item.get("material"),
        "pattern": item.get("pattern"),
        "gender": item["gender"],
        "age_group": item["age_group"],
        "google_product_category": item["google_product_category"],
        "product_type": item["product_type"],
    }


def _price(text: str | None) -> dict | None:
    if not text:
        return None
    amount, currency = text.split(" ")
    micros = to_minor(amount, currency) * 10 ** (6 - exponent(currency))
    return {"amountMicros": str(micros), "currencyCode": currency}


def to_api(row: dict, target: Target) -> dict:
    """A Merchant API ProductInput (PLATFORMS.md §2.3)."""
    attributes: dict = {}
    for key, value in row.items():
        if key == "id" or value in (None, "", []):
            continue
        if key in ("price", "sale_price"):
            value = _price(value)
        elif key in ("availability", "condition"):
            value = value.upper()
        elif key == "identifier_exists":
            value = False
        elif key == "gtin":
            key, value = "gtins", [value]
        elif key == "additional_image_link":
            key = "additionalImageLinks"
        elif key in ("age_group", "gender"):
            value = value.upper()
        elif key == "google_product_category":
            value = str(value)
        elif key == "product_type":
            key, value = "productTypes", [value]
        attributes[_CAMEL.sub(lambda m: m.group(1).upper(), key)] = value
    return {
        "offerId": row["id"],
        "contentLanguage": target.language,
        "feedLabel": feed_label(target),
        "productAttributes": attributes,
    }


def feed_label(target: Target) -> str:
    """The channel's feed label: its ``feed_label`` setting, else its country."""
    return target.settings.get("feed_label") or target.country


def summary(data: dict) -> dict:
    attributes = data.get("productAttributes", {})
    return {
        "title": attributes.get("title"),
        "price": attributes.get("price"),
        "salePrice": attributes.get("salePrice"),
        "availability": attributes.get("availability"),
    }
