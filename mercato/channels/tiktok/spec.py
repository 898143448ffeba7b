"""TikTok Shop product rules (PLATFORMS.md §3.2) as data, and validate()."""

from __future__ import annotations

from decimal import Decimal

from mercato.channels.rules import FieldRule, check_fields, check_gtin, issue
from mercato.channels.target import Target

FIELDS = (
    FieldRule("id", required=True, max_len=50),
    FieldRule("title", required=True, max_len=255),
    FieldRule("description", required=True, max_len=10000),
    FieldRule("category_id", required=True),
    FieldRule("main_images", required=True, format="https"),
    FieldRule("seller_sku", max_len=50),
    FieldRule("price", required=True),
)
SHORT_TITLE_COUNTRIES = ("US", "GB")
MIN_TITLE_ELSEWHERE = 25
MAX_IMAGES = 9
MAX_QUANTITY = 999_999
MAX_SALES_ATTRIBUTES = 3
# Allowed price range per currency, where documented.
PRICE_RANGE = {"USD": (Decimal("0.01"), Decimal("7600"))}


def validate(row: dict, item: dict, target: Target) -> list[dict]:
    issues: list[dict] = []
    check_fields(row, FIELDS, target, issues)
    check_gtin(row, issues, "identifier_code")
    short = len(row["title"] or "") < MIN_TITLE_ELSEWHERE
    if target.country not in SHORT_TITLE_COUNTRIES and short:
        issues.append(
            issue("title", f"at least {MIN_TITLE_ELSEWHERE} characters outside the US and UK")
        )
    if len(row["main_images"]) > MAX_IMAGES:
        issues.append(
            issue(
                "main_images",
                f"{len(row['main_images'])} images; TikTok keeps the first {MAX_IMAGES}",
                "warning",
            )
        )
    if not row.get("package_weight"):
        issues.append(
            issue("package_weight", "package weight is required (set the variant's weight)")
        )
    low_high = PRICE_RANGE.get(row["currency"])
    if low_high and row["price"] and not low_high[0] <= Decimal(row["price"]) <= low_high[1]:
        issues.append(
            issue(
                "price", f"{row['price']} {row['currency']} is outside {low_high[0]}–{low_high[1]}"
            )
        )
    if row["quantity"] is not None and row["quantity"] > MAX_QUANTITY:
        issues.append(issue("inventory", f"at most {MAX_QUANTITY} units"))
    if len(row["sales_attributes"]) > MAX_SALES_ATTRIBUTES:
        issues.append(issue("sales_attributes", "at most 3 sales attributes"))
    return issues
