"""Snapchat catalog feed rules (PLATFORMS.md §5) as data, and validate()."""

from __future__ import annotations

from urllib.parse import urlsplit

from mercato.channels.rules import FieldRule, check_fields, check_gtin, issue
from mercato.channels.target import Target

FIELDS = (
    FieldRule("id", required=True, max_len=128),
    FieldRule("title", required=True, max_len=375),
    FieldRule("description", required=True, max_len=5000),
    FieldRule("link", required=True, max_len=2000, format="https"),
    FieldRule("image_link", required=True, format="https"),
    FieldRule(
        "availability",
        required=True,
        enum=("in stock", "out of stock", "preorder", "discontinued", "available for order"),
    ),
    FieldRule("price", required=True, format="price"),
    FieldRule("sale_price", format="price"),
    FieldRule("condition", enum=("new", "refurbished", "used")),
    FieldRule("brand", max_len=70),
)
IMAGE_TYPES = (".jpg", ".jpeg", ".png")


def validate(row: dict, item: dict, target: Target) -> list[dict]:
    issues: list[dict] = []
    check_fields(row, FIELDS, target, issues)
    check_gtin(row, issues)
    if not (row.get("brand") or row.get("gtin") or row.get("mpn")):
        issues.append(issue("brand", "Snapchat needs a brand, a GTIN or an MPN"))
    path = urlsplit(row.get("image_link") or "").path.lower()
    # Only a visible extension can be judged without fetching the image.
    if "." in path.rsplit("/", 1)[-1] and not path.endswith(IMAGE_TYPES):
        issues.append(issue("image_link", "Snapchat takes JPEG or PNG images only"))
    return issues
