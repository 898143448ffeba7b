"""The small functions every platform's spec and mapping are made of: field rules as data, checked
against a platform-shaped row. An issue is a dict: field, message, severity, source and,
where the check knows it, rule (the rule broken, in words without the item's values: what
the channel's to-do list groups by)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from mercato.catalog.text import is_valid_gtin
from mercato.channels.target import HTTPS_URL, Target, is_https_url
from mercato.money import format_plain

PRICE = re.compile(r"^\d+(\.\d+)? [A-Z]{3}$")


@dataclass(frozen=True)
class FieldRule:
    name: str
    required: bool = False
    max_len: int | None = None
    min_len: int = 0
    enum: tuple[str, ...] | None = None
    # "https": an absolute https URL; "price": "<amount> <ISO 4217>".
    format: str | None = None
    # Over max_len: the platform truncates (a warning) instead of rejecting (an error).
    truncates: bool = False


def issue(
    field: str,
    message: str,
    severity: str = "error",
    source: str = "local",
    rule: str | None = None,
) -> dict:
    found = {"field": field, "message": message, "severity": severity, "source": source}
    if rule:
        found["rule"] = rule
    return found


_VALUES = re.compile(r"'[^']*'|\"[^\"]*\"|\d+")


def cause(found: dict) -> str:
    """The rule an issue says was broken: its ``rule``, else its message with the item's
    own values (quoted text, numbers) left out."""
    return found.get("rule") or _VALUES.sub("…", found.get("message", "")).strip()


def check_fields(
    row: dict[str, Any], rules: tuple[FieldRule, ...], target: Target, issues: list[dict]
) -> None:
    get = row.get
    for name, rule, max_len, min_len, enum, pattern in _compiled(rules, target.links_are_https):
        value = get(name)
        if value.__class__ is str:
            if not value:
                if rule.required:
                    issues.append(issue(name, f"{name} is required", rule="required"))
            # One cheap test for the usual, valid value; _check_value says what is wrong.
            elif (
                (max_len is not None and len(value) > max_len)
                or len(value) < min_len
                or (enum is not None and value not in enum)
                or (pattern is not None and pattern.match(value) is None)
            ):
                _check_value(rule, value, target, issues)
        elif value is None or value == []:
            if rule.required:
                issues.append(issue(name, f"{name} is required", rule="required"))
        else:
            for one in value if isinstance(value, list) else (value,):
                text = str(one)
                if (
                    (max_len is not None and len(text) > max_len)
                    or len(text) < min_len
                    or (enum is not None and text not in enum)
                    or (pattern is not None and pattern.match(text) is None)
                ):
                    _check_value(rule, text, target, issues)


_COMPILED: dict[tuple[int, bool], tuple] = {}


def _compiled(rules: tuple[FieldRule, ...], links_are_https: bool) -> tuple:
    """Each rule with what its quick test needs (feeds check millions of values)."""
    key = (id(rules), links_are_https)
    found = _COMPILED.get(key)
    if found is None or found[0] is not rules:
        out = []
        for rule in rules:
            pattern = {"https": HTTPS_URL, "price": PRICE}.get(rule.format or "")
            if rule.format == "https" and not links_are_https:
                pattern = None  # see _check_value
            out.append((rule.name, rule, rule.max_len, rule.min_len, rule.enum, pattern))
        found = _COMPILED[key] = (rules, tuple(out))
    return found[1]


def _check_value(rule: FieldRule, text: str, target: Target, issues: list[dict]) -> None:
    if rule.max_len is not None and len(text) > rule.max_len:
        if rule.truncates:
            issues.append(
                issue(
                    rule.name,
                    f"{len(text)} characters; the platform keeps the first {rule.max_len}",
                    "warning",
                    rule=f"truncated after {rule.max_len} characters",
                )
            )
        else:
            issues.append(
                issue(
                    rule.name,
                    f"{len(text)} characters, at most {rule.max_len}",
                    rule=f"longer than {rule.max_len} characters",
                )
            )
    if len(text) < rule.min_len:
        issues.append(
            issue(
                rule.name,
                f"{len(text)} characters, at least {rule.min_len}",
                rule=f"shorter than {rule.min_len} characters",
            )
        )
    if rule.enum is not None and text not in rule.enum:
        issues.append(
            issue(
                rule.name,
                f"{text!r} is not one of: {', '.join(rule.enum)}",
                rule="not an allowed value",
            )
        )
    if rule.format == "https" and not is_https_url(text):
        # Product links, and images uploaded to the shop, point at our storefront: with a
        # non-https MERCATO_BASE_URL (local development) they are reported once per
        # check, not once per item.
        if not target.links_are_https and (
            rule.name == "link" or (target.base_url and text.startswith(target.base_url + "/"))
        ):
            return
        issues.append(
            issue(
                rule.name,
                f"{text[:80]!r} is not an absolute https URL",
                rule="not an absolute https URL",
            )
        )
    elif rule.format == "price" and not PRICE.match(text):
        issues.append(
            issue(
                rule.name,
                f"{text!r} is not '<amount> <ISO 4217 currency>'",
                rule="not '<amount> <currency>'",
            )
        )


def gtin_problem(code: str) -> tuple[str, str] | None:
    """Why ``code`` is not a GTIN: (the rule broken, in words); None when it is one."""
    if is_valid_gtin(code):
        return None
    if not code.isdigit():
        return "not only digits", (
            f"{code!r} is not a valid GTIN: it contains characters other than digits"
        )
    if len(code) not in (8, 12, 13, 14):
        return "wrong length", (
            f"{code!r} is not a valid GTIN: {len(code)} digits; GTINs have 8, 12, 13 or 14"
        )
    body = [int(c) for c in code[:-1]]
    total = sum(d * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    expected = (10 - total % 10) % 10
    return "invalid check digit", (
        f"{code!r} is not a valid GTIN: its check digit is {code[-1]}, the digits before "
        f"it call for {expected}"
    )


def check_gtin(row: dict[str, Any], issues: list[dict], field: str = "gtin") -> None:
    code = row.get(field)
    if code:
        problem = gtin_problem(str(code))
        if problem:
            rule, words = problem
            issues.append(
                issue(
                    field,
                    words + " (correct the barcode, or remove it: "
                    "brand + MPN or identifier_exists=no is "
                    "sent instead)",
                    rule=rule,
                )
            )


@lru_cache(maxsize=4096)
def money(minor: int | None, currency: str) -> str | None:
    """A price as the platforms' feeds write it: "1234.50 USD" (None stays None)."""
    return None if minor is None else f"{format_plain(minor, currency)} {currency}"


def identifiers(item: dict[str, Any]) -> dict[str, Any]:
    """GTIN whenever one is given, else brand + MPN, else identifier_exists=no.

    A given barcode is always passed on (and validated): silently dropping a bad GTIN
    would hide the merchant's data error.
    """
    gtin = (item.get("gtin") or "").strip() or None
    brand = (item.get("brand") or "").strip() or None
    mpn = (item.get("mpn") or "").strip() or None
    exists = bool(gtin or (brand and mpn))
    return {"gtin": gtin, "brand": brand, "mpn": mpn, "identifier_exists": None if exists else "no"}


def check_variant_group(item: dict[str, Any], issues: list[dict], platform: str) -> None:
    """Every variant in a group carries the attributes it varies by, and those attributes
    are ones the platform can show."""
    if not item.get("item_group_id"):
        return
    for name, attribute, value in item["varying"]:
        if attribute is None:
            issues.append(
                issue(
                    "item_group_id",
                    f"variants differ by {name!r}, which {platform} "
                    "has no attribute for; name the option Color, "
                    "Size, Material or Pattern",
                    "warning",
                )
            )
        elif not value:
            issues.append(
                issue(
                    attribute,
                    f"variants in a group must each give their {attribute} ({name!r} is empty)",
                )
            )


@lru_cache(maxsize=4096)
def apparel_level(path: str | None) -> str | None:
    """ "apparel", "clothing" (Clothing or Shoes, which also need a size) or None."""
    parts = [p.strip() for p in (path or "").split(">")]
    if parts[0] != "Apparel & Accessories":
        return None
    return "clothing" if len(parts) > 1 and parts[1] in ("Clothing", "Shoes") else "apparel"
