"""Google Merchant Center product data rules (PLATFORMS.md §2.1) as data, and validate()."""

from __future__ import annotations

from mercato.channels.rules import (
    FieldRule,
    apparel_level,
    check_fields,
    check_gtin,
    check_variant_group,
    issue,
)
from mercato.channels.target import Target

FIELDS = (
    FieldRule("id", required=True, max_len=50),
    FieldRule("title", required=True, max_len=150),
    FieldRule("description", required=True, max_len=5000, truncates=True),
    FieldRule("link", required=True, max_len=2000, format="https"),
    FieldRule("image_link", required=True, max_len=2000, format="https"),
    FieldRule("additional_image_link", max_len=2000, format="https"),
    FieldRule(
        "availability", required=True, enum=("in_stock", "out_of_stock", "preorder", "backorder")
    ),
    FieldRule("condition", enum=("new", "refurbished", "used")),
    FieldRule("price", required=True, format="price"),
    FieldRule("sale_price", format="price"),
    FieldRule("brand", max_len=70),
    FieldRule("mpn", max_len=70),
    FieldRule("item_group_id", max_len=50),
    FieldRule("gender", enum=("male", "female", "unisex")),
    FieldRule("age_group", enum=("newborn", "infant", "toddler", "kids", "adult")),
    FieldRule("identifier_exists", enum=("no",)),
)


def validate(row: dict, item: dict, target: Target) -> list[dict]:
    issues: list[dict] = []
    check_fields(row, FIELDS, target, issues)
    check_gtin(row, issues)
    level = apparel_level(item.get("google_product_category_path"))
    if level:
        needed = ("color", "gender", "age_group") + (("size",) if level == "clothing" else ())
        for name in needed:
            if not row.get(name):
                issues.append(
                    issue(
                        name,
                        f"{name} is required for Apparel & Accessories "
                        f"products in {target.country}",
                    )
                )
    check_variant_group(item, issues, "Google")
    return issues
