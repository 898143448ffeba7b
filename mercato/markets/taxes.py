"""Which tax a sale carries: VAT/GST by the buyer's country with reduced rates by product
tax category, the EU's one-stop-shop (OSS) rule for cross-border sales to consumers,
reverse charge for businesses with a valid VAT number, and tax ids checked with
python-stdnum.

The default provider reads the built-in tables (the rates file, ``checkout.rates``); an
external tax engine plugs in as another ``TaxProvider``.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Protocol

from stdnum import get_cc_module
from stdnum.exceptions import ValidationError

from mercato.errors import FieldError, ValidationFailed

if TYPE_CHECKING:
    from mercato.checkout.rates import Rates

# The 27 member states (ISO 3166-1 alpha-2; Greece's VAT numbers are prefixed EL).
EU = frozenset(
    "AT BE BG CY CZ DE DK EE ES FI FR GR HR HU IE IT LT LU LV MT NL PL PT RO SE SI SK".split()
)
# Why a sale carries the tax it does.
DOMESTIC = "domestic"
OSS = "oss"  # B2C to another EU country above the threshold: the buyer's country's VAT
BELOW_OSS = "below-oss-threshold"  # the seller's own country's VAT
REVERSE_CHARGE = "reverse-charge"  # B2B across EU borders: the buyer accounts for it
IMPORT = "import"  # from outside: the buyer's country's VAT (IOSS or at the border)
LOCAL = "local"  # outside the EU: the buyer's country's (or region's) tax
NONE = "none"


@dataclass(frozen=True)
class TaxQuery:
    buyer_country: str | None
    region: str | None = None
    category: str | None = None  # the variant's "tax_category" (books, food, ...)
    tax_id: str | None = None  # the buyer's VAT number: a business
    included: bool | None = None  # the market's tax mode, when it has one


@dataclass(frozen=True)
class TaxDecision:
    """A tax as pricing applies it (``rate``, ``included``, ``name``), with whose it is
    and why."""

    country: str | None
    rate: Decimal
    included: bool
    name: str
    reason: str

    @property
    def charged(self) -> bool:
        return self.rate > 0


class TaxProvider(Protocol):
    def decide(self, query: TaxQuery) -> TaxDecision | None: ...


class BuiltInTables:
    """Taxes from the built-in tables (the rates file's ``[[tax]]`` and ``[seller]``)."""

    def __init__(self, table: Rates):
        self.table = table

    def decide(self, query: TaxQuery) -> TaxDecision | None:
        buyer = (query.buyer_country or "").upper() or None
        seller = self.table.seller_country
        if buyer is None:
            return None
        reason, country, region = LOCAL, buyer, query.region
        if buyer in EU:
            if seller in EU and buyer != seller:
                if query.tax_id and valid_tax_id(query.tax_id, buyer):
                    return TaxDecision(buyer, Decimal(0), False, "VAT", REVERSE_CHARGE)
                reason = OSS if self.table.oss_above_threshold else BELOW_OSS
                country = buyer if self.table.oss_above_threshold else seller
                region = None
            elif seller in EU:
                reason = DOMESTIC
            else:
                reason = IMPORT
        elif seller == buyer:
            reason = DOMESTIC
        found = self.table.tax_for(country, region)
        if found is None:
            return None
        found = found.for_category(query.category)
        included = found.included if query.included is None else query.included
        return TaxDecision(country, found.rate, included, found.name, reason)


def provider(table: Rates) -> TaxProvider:
    """The provider taxes are decided by: the built-in tables."""
    return BuiltInTables(table)


# ---------------------------------------------------------------- tax ids


def _module(country: str):
    return get_cc_module(country.lower(), "vat")


def normalise_tax_id(number: str, country: str) -> str:
    """The VAT number compacted, or ``ValidationFailed`` saying why it is not one of
    ``country`` (checked by format and check digits; not looked up in VIES)."""
    country = (country or "").upper()
    module = _module("eu") if country in EU else _module(country)
    if module is None:
        raise ValidationFailed(
            "Tax numbers of this country cannot be checked.",
            [FieldError(("tax_id",), f"no tax number check for {country or '(no country)'}")],
        )
    try:
        compact = module.validate(number)
    except ValidationError as exc:
        raise ValidationFailed(
            "This tax number is not valid.", [FieldError(("tax_id",), str(exc))]
        ) from None
    if country in EU:
        prefix = compact[:2].upper()
        if prefix != ("EL" if country == "GR" else country):
            raise ValidationFailed(
                "This tax number is not valid.",
                [FieldError(("tax_id",), f"is not a VAT number of {country}")],
            )
    return compact


def valid_tax_id(number: str, country: str) -> bool:
    try:
        normalise_tax_id(number, country)
    except ValidationFailed:
        return False
    return True
