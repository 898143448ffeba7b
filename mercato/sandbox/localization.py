"""What the platforms refuse of localized catalog data (docs/platforms/meta.md "Localized
catalog", docs/platforms/google.md "Feed labels and content languages"): language and
country codes they do not know, and prices where a language override cannot hold them."""

from __future__ import annotations

import re

import pycountry

from mercato.sandbox.contracts import meta as contract

# Meta: a language override's code is "<ISO 639-1>_XX" ("fr_XX"), a country's is ISO
# 3166-1 alpha-2 ("AE"); price, sale_price, unit_price, base_price, status (visibility)
# and availability belong in a country override only.
TYPES = ("LANGUAGE", "COUNTRY", "LANGUAGE_AND_COUNTRY")
COUNTRY_ONLY = ("price", "sale_price", "unit_price", "base_price", "status", "visibility")
COUNTRY_ONLY += ("availability",)
_META_LANGUAGE = re.compile(r"^([a-z]{2})_([A-Z]{2})$")
# Google: feedLabel is at most 20 of A-Z, 0-9, "-" and "_"; contentLanguage ISO 639-1.
FEED_LABEL = re.compile(r"^[A-Z0-9_-]{1,20}$")


def is_language(code: str | None) -> bool:
    return bool(code) and pycountry.languages.get(alpha_2=code) is not None


def is_country(code: str | None) -> bool:
    return bool(code) and len(code) == 2 and pycountry.countries.get(alpha_2=code) is not None


def meta_language(value: str) -> bool:
    found = _META_LANGUAGE.match(value or "")
    return bool(found) and is_language(found[1]) and (found[2] == "XX" or is_country(found[2]))


def request_errors(request: dict) -> list[str]:
    """One entry of a localized_items_batch ``requests``: its shape and data fields."""
    extra = set(request) - {"method", "data", "localization"}
    if extra:
        return [f"(#100) Unknown keys in a request: {sorted(extra)}"]
    if request.get("method") not in ("UPDATE", "DELETE"):
        return ["(#100) method must be one of UPDATE, DELETE"]
    where = request.get("localization")
    if not isinstance(where, dict) or where.get("type") not in TYPES or not where.get("value"):
        return [f"(#100) localization needs a type ({', '.join(TYPES)}) and a value"]
    data = request.get("data")
    if not isinstance(data, dict) or not data.get("id"):
        return ["(#100) data.id (the retailer id) is required"]
    return contract.item_errors(data)


def override_errors(where: dict, data: dict, item_exists: bool) -> list[str]:
    """What the catalog refuses of one override, item by item."""
    errors = []
    if not item_exists:
        errors.append("This endpoint does not create items: no item with this id")
    kind, value = where["type"], where["value"]
    language, _, country = value.partition("|") if kind == "LANGUAGE_AND_COUNTRY" else ("", "", "")
    if kind == "LANGUAGE":
        language = value
    elif kind == "COUNTRY":
        country = value
    if kind != "COUNTRY" and not meta_language(language):
        errors.append(f"Unsupported language override {language!r} (e.g. fr_XX)")
    if kind != "LANGUAGE" and not is_country(country):
        errors.append(f"Unsupported country override {country!r} (e.g. FR)")
    if kind == "LANGUAGE":
        errors += [
            f"{name} can only be overridden for a country, not a language"
            for name in COUNTRY_ONLY
            if name in data
        ]
    return errors


def google_errors(content_language: str | None, feed_label: str | None) -> list[str]:
    errors = []
    if not is_language(content_language):
        errors.append(f"contentLanguage {content_language!r} is not an ISO 639-1 language code")
    if not FEED_LABEL.match(feed_label or ""):
        errors.append(
            f"feedLabel {feed_label!r} must be 1-20 characters of A-Z, 0-9, hyphen and underscore"
        )
    return errors
