"""Meta catalog item rules (PLATFORMS.md §1.1) as data, and validate()."""

from __future__ import annotations

from mercato.channels.rules import FieldRule, check_fields, check_gtin, check_variant_group, issue
from mercato.channels.target import Target

AVAILABILITY = (
    "in stock",
    "out of stock",
    "preorder",
    "available for order",
    "discontinued",
    "pending",
    "mark_as_sold",
    "mark_as_expired",
)
CONDITION = (
    "new",
    "refurbished",
    "used",
    "used_like_new",
    "used_good",
    "used_fair",
    "cpo",
    "open_box_new",
)

FIELDS = (
    FieldRule("id", required=True, max_len=100),
    FieldRule("title", required=True, max_len=200),
    FieldRule("description", required=True, max_len=9999),
    FieldRule("availability", required=True, enum=AVAILABILITY),
    FieldRule("condition", required=True, enum=CONDITION),
    FieldRule("price", required=True, format="price"),
    FieldRule("sale_price", format="price"),
    FieldRule("link", required=True, format="https"),
    FieldRule("image_link", required=True, format="https"),
    FieldRule("additional_image_link", format="https"),
    FieldRule("brand", max_len=100),
    FieldRule("mpn", max_len=100),
    FieldRule("item_group_id", max_len=100),
    FieldRule("gender", enum=("female", "male", "unisex")),
    FieldRule(
        "age_group", enum=("adult", "all ages", "teen", "kids", "toddler", "infant", "newborn")
    ),
)


def validate(row: dict, item: dict, target: Target) -> list[dict]:
    issues: list[dict] = []
    check_fields(row, FIELDS, target, issues)
    check_gtin(row, issues)
    if not row.get("gtin") and not (row.get("brand") and row.get("mpn")):
        issues.append(issue("gtin", "Meta needs either a GTIN, or an MPN plus a brand"))
    check_variant_group(item, issues, "Meta")
    return issues
