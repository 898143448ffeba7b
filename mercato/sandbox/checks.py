"""Field checks the simulators apply on their side, written from the platforms' public
specs independently of Mercato's validators (so contract tests catch mapping mistakes)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from mercato.catalog.text import is_valid_gtin

PRICE = re.compile(r"^\d+(\.\d+)? ?[A-Z]{3}$")
# The simulators run beside a local storefront: loopback http links are let through.
LOOPBACK = ("127.0.0.1", "localhost")


def link_ok(url: str | None) -> bool:
    if not url:
        return False
    parts = urlsplit(url)
    return bool(parts.netloc) and (
        parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in LOOPBACK)
    )


def common_errors(
    data: dict, required: tuple[str, ...], availability: tuple[str, ...]
) -> list[tuple[str, str]]:
    """(attribute, message) pairs for a flat feed-style item."""
    errors = []
    for name in required:
        if data.get(name) in (None, "", []):
            errors.append((name, f"Missing required field: {name}"))
    if data.get("price") and not PRICE.match(str(data["price"])):
        errors.append(("price", f"Invalid price format: {data['price']}"))
    for name in ("link", "image_link"):
        if data.get(name) and not link_ok(data[name]):
            errors.append((name, f"Invalid URL: {name} must be an absolute https URL"))
    if data.get("gtin") and not is_valid_gtin(str(data["gtin"])):
        errors.append(("gtin", f"Invalid GTIN: {data['gtin']} has a wrong check digit or length"))
    if data.get("availability") and data["availability"] not in availability:
        errors.append(("availability", f"Invalid availability: {data['availability']}"))
    return errors
