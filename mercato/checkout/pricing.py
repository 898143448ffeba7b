"""Totals of a checkout: pure functions over integer minor units.

Prices are what buyers see. Where the tax is included by law (VAT), it is taken out of
the price; elsewhere (US sales tax) it is added. Discounts come off before tax.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

from mercato.checkout.rates import Rates, ShippingRate, TaxRate
from mercato.errors import FieldError, ValidationFailed
from mercato.money import MAX_AMOUNT


@dataclass(frozen=True)
class Discount:
    """What an offer takes off (``mercato.offers.pricing``): each line's share, in the
    checkout's currency, and whether shipping is free."""

    lines: tuple[int, ...]
    free_shipping: bool = False


@dataclass
class PricedLine:
    unit_price: int
    quantity: int
    discount: int = 0
    tax: int = 0
    # This line's own tax (a reduced rate for its category), else the checkout's.
    rate: TaxRate | None = None

    @property
    def gross(self) -> int:
        return self.unit_price * self.quantity


@dataclass(frozen=True)
class Totals:
    subtotal: int
    discount_total: int
    shipping_total: int
    tax_total: int
    taxes_included: bool
    total: int
    tax_name: str | None = None


def shipping_amount(rate: ShippingRate | None, goods: int, currency: str, rates: Rates) -> int:
    """The rate's price in ``currency``; free when the goods (after discount) reach its
    ``free_over`` threshold."""
    if rate is None:
        return 0
    if rate.free_over is not None and goods >= rates.convert(
        rate.free_over, rate.currency, currency
    ):
        return 0
    return rates.convert(rate.price, rate.currency, currency)


def line_tax(net: int, tax: TaxRate | None) -> int:
    if tax is None or net <= 0:
        return 0
    if tax.included:
        return _whole(Decimal(net) * tax.rate / (1 + tax.rate))
    return _whole(Decimal(net) * tax.rate)


def _whole(minor: Decimal) -> int:
    """Round a fractional amount of minor units (banker's rounding, as money.round_minor)."""
    return int(minor.quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def price(
    lines: list[PricedLine],
    currency: str,
    rates: Rates,
    *,
    discount: Discount | None = None,
    shipping: ShippingRate | None = None,
    tax: TaxRate | None = None,
) -> Totals:
    """Fill each line's discount and tax and return the totals."""
    subtotal = sum(line.gross for line in lines)
    shares = (
        [min(s, ln.gross) for s, ln in zip(discount.lines, lines, strict=True)]
        if discount
        else [0] * len(lines)
    )
    discount_total = sum(shares)
    for line, share in zip(lines, shares, strict=True):
        line.discount = share
        line.tax = line_tax(line.gross - share, line.rate or tax)
    goods = subtotal - discount_total
    free = discount is not None and discount.free_shipping
    shipping_total = 0 if free else shipping_amount(shipping, goods, currency, rates)
    tax_total = sum(line.tax for line in lines)
    included = bool(tax and tax.included)
    if subtotal + shipping_total + tax_total > MAX_AMOUNT:
        raise ValidationFailed(
            "The checkout cannot be priced.",
            [FieldError(("lines",), "the total exceeds the largest amount stored")],
        )
    total = goods + shipping_total + (0 if included else tax_total)
    return Totals(
        subtotal,
        discount_total,
        shipping_total,
        tax_total,
        included,
        total,
        tax.name if tax else None,
    )
