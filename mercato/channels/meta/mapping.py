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


# What a localized catalog takes per language and per country (docs/platforms/meta.md
# "Localized catalog"): prices only in a country's override, never in a language's.
LANGUAGE_FIELDS = ("title", "description", "color", "size")
COUNTRY_FIELDS = ("price", "sale_price", "link")


def to_api(row: dict, target: Target) -> dict:
    """The ``data`` of an items_batch request: the row without empty fields. For a
    localized channel, the item's overrides instead: one for the market's language and
    one per country of the market (``localized_items_batch`` requests)."""
    if target.localized:
        return {"id": row["id"], "overrides": overrides(row, target)}
    return {key: value for key, value in row.items() if value not in (None, "", [])}


# A localized channel's feeds: a language override feed and a country override feed,
# each keyed by ``id`` with the ``override`` column naming the language or country.
OVERRIDE_COLUMNS = {
    "language": ("id", "override", *LANGUAGE_FIELDS),
    "country": ("id", "override", *COUNTRY_FIELDS),
}


def override_rows(row: dict, target: Target, kind: str) -> list[dict]:
    """The item's rows in the ``kind`` ("language" or "country") override feed."""
    wanted = kind.upper()
    return [
        {**o["data"], "override": o["localization"]["value"]}
        for o in overrides(row, target)
        if o["localization"]["type"] == wanted
    ]


def language_code(locale: str) -> str:
    """Meta's code for a language override: "nl" -> "nl_XX" (any country)."""
    return f"{locale.replace('-', '_').split('_')[0].lower()}_XX"


def overrides(row: dict, target: Target) -> list[dict]:
    def data(fields):
        return {
            "id": row["id"],
            **{key: row[key] for key in fields if row.get(key) not in (None, "", [])},
        }

    out = [
        {
            "localization": {"type": "LANGUAGE", "value": language_code(target.locale)},
            "data": data(LANGUAGE_FIELDS),
        }
    ]
    for country in target.settings.get("countries") or [target.country]:
        out.append(
            {"localization": {"type": "COUNTRY", "value": country}, "data": data(COUNTRY_FIELDS)}
        )
    return out


def summary(data: dict) -> dict:
    """What drift is judged on: the fields a shopper sees and buys by."""
    if "overrides" in data:
        merged = {}
        for override in data["overrides"]:
            merged.update(override["data"])
        data = merged
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
