"""A market's prices: its price list first, else the converted price with the market's
ending (.99, .95)."""

from __future__ import annotations

from decimal import Decimal

from mercato.errors import FieldError, ValidationFailed
from mercato.money import MoneyError, exponent, to_minor


def check_ending(ending: str | None, currency: str) -> str | None:
    """``ending`` as stored ("0.99"), or ``ValidationFailed``: a fraction of the major
    unit the currency can hold (none for 0-decimal currencies such as JPY)."""
    if not ending:
        return None
    try:
        minor = to_minor(ending, currency)
    except MoneyError as exc:
        raise ValidationFailed(
            "This price ending does not fit the currency.",
            [FieldError(("price_ending",), str(exc))],
        ) from None
    if not 0 <= minor < 10 ** exponent(currency) or exponent(currency) == 0:
        raise ValidationFailed(
            "This price ending does not fit the currency.",
            [FieldError(("price_ending",), f"a fraction of one {currency}, such as 0.99")],
        )
    return str(Decimal(ending))


def with_ending(minor: int, currency: str, ending: str | None) -> int:
    """The smallest price at or above ``minor`` that ends in ``ending``: 12.34 -> 12.99,
    12.99 -> 12.99, 13.00 -> 13.99 (with "0.99")."""
    if not ending or exponent(currency) == 0:
        return minor
    unit = 10 ** exponent(currency)
    tail = to_minor(ending, currency)
    whole, rest = divmod(minor, unit)
    return whole * unit + tail if rest <= tail else (whole + 1) * unit + tail
