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
# A shop's region -> the currency its SKU prices are in (Create Product, ``skus[].price.
# currency``: "Currencies are different in different regions"; PLATFORMS.md §3.2 [S+]).
# Regions not listed there (TikTok Shop opened more since) are not checked [I].
REGION_CURRENCY = {
    "US": "USD",
    "GB": "GBP",
    "ID": "IDR",
    "TH": "THB",
    "MY": "MYR",
    "PH": "PHP",
    "VN": "VND",
    "SG": "SGD",
}
# (seller type, region) -> the price range Create Product states for it [S+].
REGION_PRICE_RANGE = {
    ("LOCAL", "US"): (Decimal("0.01"), Decimal("7600")),
    ("LOCAL", "GB"): (Decimal("0.01"), Decimal("5600")),
    ("LOCAL", "ID"): (Decimal("100"), Decimal("100000000")),
    ("LOCAL", "TH"): (Decimal("30"), Decimal("260000")),
    ("LOCAL", "MY"): (Decimal("0.01"), Decimal("320000")),
    ("LOCAL", "VN"): (Decimal("1"), Decimal("180000000")),
    ("LOCAL", "PH"): (Decimal("0.01"), Decimal("400000")),
    ("LOCAL", "SG"): (Decimal("0.01"), Decimal("10000")),
    ("CROSS_BORDER", "GB"): (Decimal("0.01"), Decimal("134.5")),
    ("CROSS_BORDER", "TH"): (Decimal("0.01"), Decimal("260000")),
    ("CROSS_BORDER", "MY"): (Decimal("0.01"), Decimal("320000")),
    ("CROSS_BORDER", "VN"): (Decimal("1"), Decimal("1000000")),
    ("CROSS_BORDER", "PH"): (Decimal("0.01"), Decimal("400000")),
    ("CROSS_BORDER", "SG"): (Decimal("0.01"), Decimal("400")),
}


def price_range(region: str | None, seller_type: str | None, currency: str):
    """(low, high) of a SKU's price in the shop's region, else by currency (US dollars)."""
    if region:
        found = REGION_PRICE_RANGE.get((seller_type or "LOCAL", region))
        if found and REGION_CURRENCY.get(region) == currency:
            return found
    return PRICE_RANGE.get(currency)


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
    settings = target.settings or {}
    region = settings.get("shop_region")
    low_high = price_range(region, settings.get("shop_seller_type"), row["currency"])
    expected = REGION_CURRENCY.get(region or "")
    if expected and row["currency"] != expected:
        issues.append(
            issue("price", f"in {row['currency']}; the TikTok shop in {region} sells in {expected}")
        )
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
