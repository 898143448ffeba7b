"""Pinterest catalog item rules (PLATFORMS.md §4) as data, and validate()."""

from __future__ import annotations

from mercato.channels.rules import FieldRule, check_fields, check_gtin, check_variant_group, issue
from mercato.channels.target import Target

FIELDS = (
    FieldRule("id", required=True, max_len=127),
    FieldRule("title", required=True, max_len=500),
    FieldRule("description", required=True, max_len=10000),
    FieldRule("link", required=True, max_len=511, format="https"),
    FieldRule("image_link", required=True, max_len=2000, format="https"),
    FieldRule("additional_image_link", max_len=2000, format="https"),
    FieldRule("price", required=True, format="price"),
    FieldRule("sale_price", format="price"),
    FieldRule("availability", required=True, enum=("in stock", "out of stock", "preorder")),
    FieldRule("condition", enum=("new", "used", "refurbished")),
    FieldRule("item_group_id", max_len=127),
    FieldRule("gender", enum=("male", "female", "unisex")),
    FieldRule("age_group", enum=("newborn", "infant", "toddler", "kids", "adult")),
)
MAX_ADDITIONAL_IMAGES = 10
# Pinterest's CatalogsLocale values (spec 5.23.0), preferred over a bare ISO 639-1 code.
LOCALES = frozenset(
    (
        "af-ZA ar-SA bg-BG bn-IN cs-CZ da-DK de el-GR en-AU en-CA en-GB en-IN en-US es-419 "
        "es-AR es-ES es-MX fi-FI fr fr-CA he-IL hi-IN hr-HR hu-HU id-ID it ja ko-KR ms-MY "
        "nb-NO nl pl-PL pt-BR pt-PT ro-RO ru-RU sk-SK sv-SE te-IN th-TH tl-PH tr uk-UA vi-VN "
        "zh-CN zh-TW"
    ).split()
)


def locale(target: Target) -> str:
    """The batch's ``language``: the channel's locale when Pinterest has it, else the
    language alone, else its ISO 639-1 code (PLATFORMS.md §4.2)."""
    language = target.language.split("-")[0].lower()
    for candidate in (f"{language}-{target.country.upper()}", language):
        if candidate in LOCALES:
            return candidate
    return language.upper()


def validate(row: dict, item: dict, target: Target) -> list[dict]:
    issues: list[dict] = []
    check_fields(row, FIELDS, target, issues)
    check_gtin(row, issues)
    if len(row.get("additional_image_link") or []) > MAX_ADDITIONAL_IMAGES:
        issues.append(
            issue("additional_image_link", f"at most {MAX_ADDITIONAL_IMAGES} additional images")
        )
    check_variant_group(item, issues, "Pinterest")
    return issues
