"""Taxes, shipping zones and currency rates as data: a TOML file the merchant edits.

The file is ``<data dir>/rates.toml`` when present, else the packaged defaults
(``checkout/data/rates.toml``). It is read once per change of its modification time. It
lives with the markets (below the channels) so that a channel's items are priced in a
market exactly as its checkouts are.
Exchange rates imported from a file (``mercato markets fx-import``, ``markets.fx``)
override its ``[currencies.rates]`` and carry their date.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from pathlib import Path

from mercato.config import get_settings
from mercato.errors import FieldError, ValidationFailed
from mercato.markets import fx
from mercato.money import check_currency, round_minor, to_decimal

DEFAULTS = Path(__file__).parent.parent / "checkout" / "data" / "rates.toml"
FILE_NAME = "rates.toml"


@dataclass(frozen=True)
class TaxRate:
    country: str
    region: str | None
    rate: Decimal
    included: bool
    name: str
    # Reduced rates by product tax category (a variant's attributes "tax_category").
    reduced: dict[str, Decimal] = field(default_factory=dict, hash=False, compare=False)

    def for_category(self, category: str | None) -> TaxRate:
        """This tax at the rate of ``category`` (its standard rate when not reduced)."""
        if category and category in self.reduced:
            return replace(self, rate=self.reduced[category], reduced={})
        return self


@dataclass(frozen=True)
class ShippingRate:
    code: str
    name: str
    days: str
    price: int
    currency: str
    free_over: int | None = None


@dataclass(frozen=True)
class ShippingZone:
    name: str
    countries: tuple[str, ...]
    rates: tuple[ShippingRate, ...]


@dataclass(frozen=True)
class Rates:
    base_currency: str
    currency_rates: dict[str, Decimal] = field(default_factory=dict)
    round_to: dict[str, int] = field(default_factory=dict)
    currency_by_country: dict[str, str] = field(default_factory=dict)
    taxes: tuple[TaxRate, ...] = ()
    zones: tuple[ShippingZone, ...] = ()
    # The date of each imported exchange rate (none: the rates file's own rates).
    rate_dates: dict[str, date] = field(default_factory=dict)
    # Where the seller is established, and whether its EU cross-border sales to consumers
    # pass the one-stop-shop threshold (then the buyer's country's VAT applies).
    seller_country: str | None = None
    oss_above_threshold: bool = True

    # ------------------------------------------------------------ currencies

    @property
    def currencies(self) -> list[str]:
        return sorted({self.base_currency, *self.currency_rates})

    def currency_for(self, country: str | None) -> str:
        return self.currency_by_country.get((country or "").upper(), self.base_currency)

    def convert(self, minor: int, source: str, target: str) -> int:
        """Convert through the base currency, rounded per currency (and its step)."""
        if source == target:
            return minor
        amount = to_decimal(minor, source)
        if source != self.base_currency:
            amount = amount / self._rate(source)
        converted = round_minor(amount * self._rate(target), target)
        step = self.round_to.get(target)
        if step and step > 1:
            converted = int((Decimal(converted) / step).quantize(Decimal(1)) * step)
        return converted

    def _rate(self, currency: str) -> Decimal:
        if currency == self.base_currency:
            return Decimal(1)
        rate = self.currency_rates.get(currency)
        if rate is None:
            raise ValidationFailed(
                f"No exchange rate for {currency} is configured.",
                [FieldError(("currency",), f"{currency} is not sold in")],
            )
        return rate

    # ------------------------------------------------------------ taxes and shipping

    def tax_for(self, country: str | None, region: str | None) -> TaxRate | None:
        country, region = (country or "").upper(), (region or "").upper() or None
        by_region = [t for t in self.taxes if t.country == country and t.region == region]
        by_country = [t for t in self.taxes if t.country == country and t.region is None]
        return (by_region or by_country or [None])[0]

    def zone_for(self, country: str | None) -> ShippingZone | None:
        country = (country or "").upper()
        for zone in self.zones:
            if country in zone.countries:
                return zone
        return next((z for z in self.zones if "*" in z.countries), None)

    def shipping_rates(self, country: str | None) -> list[ShippingRate]:
        zone = self.zone_for(country)
        return list(zone.rates) if zone else []


def parse(text: str, base_currency: str) -> Rates:
    """Rates from TOML text; mistakes are reported by where they are."""
    raw = tomllib.loads(text)
    errors: list[FieldError] = []
    currencies = raw.get("currencies", {})
    currency_rates = {}
    for code, value in currencies.get("rates", {}).items():
        try:
            currency_rates[check_currency(code)] = Decimal(str(value))
        except Exception as exc:
            errors.append(FieldError(("currencies", "rates", code), str(exc)))
    taxes = []
    for index, item in enumerate(raw.get("tax", [])):
        try:
            taxes.append(
                TaxRate(
                    item["country"].upper(),
                    (item.get("region") or "").upper() or None,
                    Decimal(str(item["rate"])),
                    bool(item["included"]),
                    item.get("name", "Tax"),
                    {k: Decimal(str(v)) for k, v in item.get("reduced", {}).items()},
                )
            )
        except (KeyError, ArithmeticError, AttributeError) as exc:
            errors.append(FieldError(("tax", index), f"needs country, rate, included ({exc})"))
    zones = []
    for index, item in enumerate(raw.get("shipping", [])):
        try:
            zone_rates = tuple(
                ShippingRate(
                    r["code"],
                    r["name"],
                    r.get("days", ""),
                    int(r["price"]),
                    check_currency(r.get("currency", base_currency)),
                    r.get("free_over"),
                )
                for r in item["rates"]
            )
            zones.append(
                ShippingZone(item["zone"], tuple(c.upper() for c in item["countries"]), zone_rates)
            )
        except (KeyError, ValueError) as exc:
            errors.append(
                FieldError(
                    ("shipping", index),
                    f"needs zone, countries and rates with code, name, price ({exc})",
                )
            )
    if errors:
        raise ValidationFailed("The rates file has mistakes.", errors)
    seller = raw.get("seller", {})
    return Rates(
        base_currency,
        currency_rates,
        {check_currency(k): int(v) for k, v in currencies.get("round_to", {}).items()},
        {k.upper(): check_currency(v) for k, v in currencies.get("by_country", {}).items()},
        tuple(taxes),
        tuple(zones),
        seller_country=(seller.get("country") or "").upper() or None,
        oss_above_threshold=bool(seller.get("oss_above_threshold", True)),
    )


def with_fx(table: Rates, text: str) -> Rates:
    """``table`` with the imported exchange rates (``fx.dump``'s file) over its own."""
    base, _, imported = fx.load_normalised(text)
    if base != table.base_currency:
        return table  # imported for another base currency: stale, ignored
    return replace(
        table,
        currency_rates={**table.currency_rates, **{c: r.rate for c, r in imported.items()}},
        rate_dates={c: r.as_of for c, r in imported.items()},
    )


_cache: dict[tuple[str, float, float, str], Rates] = {}


def load() -> Rates:
    settings = get_settings()
    path = settings.data_dir / FILE_NAME
    if not path.exists():
        path = DEFAULTS
    imported = settings.data_dir / fx.FILE_NAME
    fx_mtime = imported.stat().st_mtime if imported.exists() else 0.0
    key = (str(path), path.stat().st_mtime, fx_mtime, settings.currency)
    if key not in _cache:
        _cache.clear()
        table = parse(path.read_text(encoding="utf-8"), settings.currency)
        if fx_mtime:
            table = with_fx(table, imported.read_text(encoding="utf-8"))
        _cache[key] = table
    return _cache[key]
