"""Taxes, shipping, discounts and currencies from the rates file (pure functions)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from mercato.checkout import pricing, rates
from mercato.errors import ValidationFailed
from mercato.offers import pricing as offers

TABLE = rates.parse(rates.DEFAULTS.read_text(), "USD")


def test_vat_is_inside_the_price_where_the_law_says_so():
    de = TABLE.tax_for("DE", None)
    lines = [pricing.PricedLine(2300, 1)]
    totals = pricing.price(lines, "EUR", TABLE, tax=de, shipping=TABLE.shipping_rates("DE")[0])
    # 19% VAT inside 23.00 is 3.67; shipping 6.00; nothing is added for tax.
    assert (totals.tax_total, totals.taxes_included, totals.shipping_total) == (367, True, 600)
    assert totals.total == 2900 and totals.tax_name == "VAT"


def test_us_sales_tax_is_added_per_state():
    assert TABLE.tax_for("US", "OR") is None
    ca = TABLE.tax_for("US", "ca")
    totals = pricing.price([pricing.PricedLine(1000, 3)], "USD", TABLE, tax=ca)
    assert (totals.tax_total, totals.total) == (218, 3218)


def _offer(kind: str, value: int, lines, currency: str | None = None) -> pricing.Discount:
    """What an offer (``mercato.offers.pricing``) takes off these lines, as priced."""
    offered = [offers.Line(f"v{i}", None, ln.unit_price, ln.quantity) for i, ln in enumerate(lines)]
    done = offers.apply(offers.Terms(kind, value, currency), offered, "USD", TABLE.convert)
    return pricing.Discount(done.lines, done.free_shipping)


def test_discounts_come_off_before_tax_and_split_exactly():
    lines = [pricing.PricedLine(1000, 1), pricing.PricedLine(333, 2)]
    totals = pricing.price(
        lines,
        "USD",
        TABLE,
        tax=TABLE.tax_for("US", "NY"),
        discount=_offer("percentage", 15, lines),
    )
    assert totals.discount_total == 250 and sum(ln.discount for ln in lines) == 250
    assert totals.tax_total == sum(ln.tax for ln in lines)
    assert totals.total == 1666 - 250 + totals.tax_total
    one = [pricing.PricedLine(500, 1)]
    fixed = pricing.price(one, "USD", TABLE, discount=_offer("fixed", 900, one, "USD"))
    assert fixed.discount_total == 500 and fixed.total == 0


def test_a_free_shipping_offer_takes_the_shipping_off():
    lines = [pricing.PricedLine(1000, 1)]
    standard = TABLE.shipping_rates("US")[0]
    totals = pricing.price(
        lines, "USD", TABLE, shipping=standard, discount=_offer("free_shipping", 0, lines)
    )
    assert (totals.discount_total, totals.shipping_total, totals.total) == (0, 0, 1000)


def test_free_shipping_over_the_threshold_after_discount():
    standard = TABLE.shipping_rates("US")[0]
    assert pricing.shipping_amount(standard, 7500, "USD", TABLE) == 0
    assert pricing.shipping_amount(standard, 7499, "USD", TABLE) == 500
    # The same rate bought in another currency is converted, threshold too.
    assert pricing.shipping_amount(standard, 100, "EUR", TABLE) == 460


def test_currency_conversion_rounds_per_currency():
    assert TABLE.convert(2500, "USD", "EUR") == 2300
    assert TABLE.convert(2500, "USD", "JPY") == 3780  # 3775 yen, to the nearest 10
    assert TABLE.convert(2300, "EUR", "USD") == 2500
    assert TABLE.currency_for("fr") == "EUR" and TABLE.currency_for("BR") == "USD"
    with pytest.raises(ValidationFailed):
        TABLE.convert(100, "USD", "BRL")


def test_shipping_zones_fall_back_to_the_rest_of_the_world():
    assert [r.code for r in TABLE.shipping_rates("BR")] == ["intl"]
    assert TABLE.zone_for("GB").name == "Europe"


def test_a_broken_rates_file_says_where():
    with pytest.raises(ValidationFailed) as caught:
        rates.parse('[currencies.rates]\nXXX = "1"\n[[tax]]\ncountry = "DE"\n', "USD")
    assert {e.loc[0] for e in caught.value.errors} == {"currencies", "tax"}


def test_merchant_file_in_the_data_dir_wins(settings):
    settings.ensure_data_dir()
    (settings.data_dir / "rates.toml").write_text(
        '[currencies.rates]\nEUR = "0.5"\n[[tax]]\ncountry = "US"\nrate = "0.1"\nincluded = false\n'
    )
    table = rates.load()
    assert table.convert(1000, "USD", "EUR") == 500
    assert table.tax_for("US", "CA").rate == Decimal("0.1")
