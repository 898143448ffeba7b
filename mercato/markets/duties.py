"""Landed cost: import duties from each line's HS code and country of origin, with the
destination's de minimis threshold, as data (``data/duties.toml``, or
``<data dir>/duties.toml``). Shown before payment; charged at checkout when the market
delivers duties paid (DDP), else disclosed as payable on delivery (DAP).

Import VAT is the buyer's country's VAT, which the checkout already charges
(``markets.taxes``: reason "import").
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path

from mercato.config import get_settings
from mercato.errors import FieldError, ValidationFailed
from mercato.money import check_currency, to_decimal

DEFAULTS = Path(__file__).parent / "data" / "duties.toml"
FILE_NAME = "duties.toml"
BELOW = ("free", "flat_per_subheading")


@dataclass(frozen=True)
class Destination:
    zone: str
    currency: str
    countries: frozenset[str]
    customs_union: frozenset[str]
    de_minimis: int
    below_de_minimis: str = "free"
    flat_per_subheading: int = 0
    rates: dict[str, Decimal] = field(default_factory=dict, hash=False)

    def rate_for(self, hs_code: str) -> Decimal | None:
        """The rate of the longest prefix of ``hs_code`` in the table (dots ignored)."""
        digits = _digits(hs_code)
        best = None
        for prefix, rate in self.rates.items():
            p = _digits(prefix)
            if digits.startswith(p) and (best is None or len(p) > len(best[0])):
                best = (p, rate)
        return best[1] if best else None


@dataclass(frozen=True)
class Goods:
    """A line as customs sees it: its value in the checkout's currency (after discount)."""

    value: int
    hs_code: str | None
    origin: str | None


@dataclass(frozen=True)
class Landed:
    duties: int  # in the checkout's currency
    known: bool  # False: some line's duty could not be worked out (no HS code or rate)
    below_de_minimis: bool
    zone: str | None = None


NONE = Landed(0, True, False)


def _digits(code: str) -> str:
    return "".join(ch for ch in code or "" if ch.isdigit())


def landed_cost(
    destinations: Sequence[Destination],
    country: str | None,
    goods: Sequence[Goods],
    currency: str,
    convert: Callable[[int, str, str], int],
) -> Landed:
    """Duties on ``goods`` shipped to ``country``, in ``currency``. ``convert`` turns an
    amount from one currency to another (the checkout's exchange rates)."""
    country = (country or "").upper()
    where = next((d for d in destinations if country in d.countries), None)
    if where is None:
        return NONE
    # Goods of no known origin (no "origin" attribute, no seller country) are taken to
    # ship from inside the destination: nothing is charged for them.
    dutiable = [g for g in goods if g.origin and g.origin.upper() not in where.customs_union]
    if not dutiable:
        return Landed(0, True, False, where.zone)
    value = sum(g.value for g in goods)
    in_zone_currency = convert(value, currency, where.currency)
    if in_zone_currency < where.de_minimis:
        if where.below_de_minimis == "free":
            return Landed(0, True, True, where.zone)
        known = all(_digits(g.hs_code or "") for g in dutiable)
        subheadings = {_digits(g.hs_code or "")[:6] for g in dutiable if g.hs_code}
        flat = convert(where.flat_per_subheading * len(subheadings), where.currency, currency)
        return Landed(flat, known, True, where.zone)
    duties, known = 0, True
    for g in dutiable:
        rate = where.rate_for(g.hs_code) if g.hs_code else None
        if rate is None:
            known = False
            continue
        duties += int((Decimal(g.value) * rate).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))
    return Landed(duties, known, False, where.zone)


def parse(text: str) -> tuple[Destination, ...]:
    raw = tomllib.loads(text)
    found, errors = [], []
    for index, item in enumerate(raw.get("destination", [])):
        try:
            currency = check_currency(item["currency"])
            below = item.get("below_de_minimis", "free")
            if below not in BELOW:
                raise ValueError(f"below_de_minimis is one of {BELOW}")
            found.append(
                Destination(
                    item["zone"],
                    currency,
                    frozenset(c.upper() for c in item["countries"]),
                    frozenset(c.upper() for c in item.get("customs_union", item["countries"])),
                    int(item.get("de_minimis", 0)),
                    below,
                    int(item.get("flat_per_subheading", 0)),
                    {str(k): Decimal(str(v)) for k, v in item.get("rates", {}).items()},
                )
            )
        except (KeyError, ValueError, ArithmeticError) as exc:
            errors.append(FieldError(("destination", index), str(exc)))
    if errors:
        raise ValidationFailed("The duties file has mistakes.", errors)
    return tuple(found)


_cache: dict[tuple[str, float], tuple[Destination, ...]] = {}


def load() -> tuple[Destination, ...]:
    path = get_settings().data_dir / FILE_NAME
    if not path.exists():
        path = DEFAULTS
    key = (str(path), path.stat().st_mtime)
    if key not in _cache:
        _cache.clear()
        _cache[key] = parse(path.read_text(encoding="utf-8"))
    return _cache[key]


def describe(landed: Landed, currency: str) -> str:
    """For logs and the CLI: the duties as plain text."""
    return f"{to_decimal(landed.duties, currency)} {currency}" + ("" if landed.known else " (+?)")
