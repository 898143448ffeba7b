"""Golden figures: VAT (inclusive, exclusive, reduced rates, OSS, reverse charge), duties
with de minimis thresholds, and rounding per currency, from the packaged tables
(``checkout/data/rates.toml``, ``markets/data/duties.toml``: each rate's source is
cited there and in docs/markets.md)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from mercato.checkout import pricing, rates
from mercato.errors import ValidationFailed
from mercato.markets import duties, fx, prices, taxes
from mercato.money import round_minor, to_minor
from mercato.storefront.pages import money

PACKAGED = rates.DEFAULTS.read_text(encoding="utf-8")


def table(seller: str | None = None, above: bool = True) -> rates.Rates:
    text = PACKAGED
    if seller:
        text += f'\n[seller]\ncountry = "{seller}"\noss_above_threshold = {str(above).lower()}\n'
    return rates.parse(text, "USD")


def vat(table, country, category=None, *, region=None, tax_id=None, included=None):
    return taxes.provider(table).decide(
        taxes.TaxQuery(country, region, category, tax_id, included=included)
    )


def tax_on(gross: int, decision) -> int:
    return pricing.line_tax(gross, decision)


# ---------------------------------------------------------------- VAT and sales tax


@pytest.mark.parametrize(
    ("country", "category", "gross", "expected_tax", "rate"),
    [
        ("NL", None, 2420, 420, "0.21"),  # EUR 24.20 incl. 21 % BTW: 4.20
        ("NL", "books", 1090, 90, "0.09"),  # reduced 9 %
        ("NL", "food", 1090, 90, "0.09"),
        ("NL", None, 1999, 347, "0.21"),  # 346.93... rounds to 347 cents
        ("DE", None, 1190, 190, "0.19"),
        ("DE", "books", 1070, 70, "0.07"),
        ("FR", "books", 1055, 55, "0.055"),
        ("IE", "books", 2000, 0, "0"),  # printed books zero-rated
        ("IE", "children_clothing", 2000, 0, "0"),
        ("IE", None, 12300, 2300, "0.23"),
        ("FI", None, 12550, 2550, "0.255"),
        ("GB", "food", 500, 0, "0"),
        ("GB", None, 1200, 200, "0.20"),
        ("DE", "unknown-category", 1190, 190, "0.19"),  # not reduced: standard rate
    ],
)
def test_vat_included_in_eu_and_uk_prices(country, category, gross, expected_tax, rate):
    decision = vat(table(), country, category)
    assert decision.included and decision.rate == Decimal(rate)
    assert tax_on(gross, decision) == expected_tax


@pytest.mark.parametrize(
    ("region", "net", "expected_tax"),
    [
        ("CA", 10000, 725),  # 7.25 % on $100.00
        ("TX", 6500, 406),  # 6.25 % of $65.00 = 4.0625 -> 4.06
        ("NY", 1999, 80),  # 4 % of 19.99 = 0.7996 -> 0.80
    ],
)
def test_us_sales_tax_is_added(region, net, expected_tax):
    decision = vat(table(), "US", region=region)
    assert not decision.included
    lines = [pricing.PricedLine(net, 1)]
    totals = pricing.price(lines, "USD", table(), tax=decision)
    assert (totals.tax_total, totals.total) == (expected_tax, net + expected_tax)


def test_a_market_in_exclusive_mode_adds_vat_and_in_inclusive_mode_takes_it_out():
    exclusive = vat(table(), "NL", included=False)
    inclusive = vat(table(), "NL", included=True)
    added = pricing.price([pricing.PricedLine(2000, 1)], "EUR", table(), tax=exclusive)
    inside = pricing.price([pricing.PricedLine(2420, 1)], "EUR", table(), tax=inclusive)
    assert (added.tax_total, added.total) == (420, 2420)
    assert (inside.tax_total, inside.total) == (420, 2420)


def test_reduced_rates_per_line_in_one_checkout():
    """A book (9 %) and a hoodie (21 %) in one Dutch checkout, a 10 % code spread."""
    standard, books = vat(table(), "NL"), vat(table(), "NL", "books")
    lines = [pricing.PricedLine(2420, 1), pricing.PricedLine(1090, 1, rate=books)]
    # 10 % off each line (the offer's shares: mercato.offers.pricing): 2.42 and 1.09; VAT
    # of 21.78 at 21 % and 9.81 at 9 %.
    code = pricing.Discount((242, 109))
    totals = pricing.price(lines, "EUR", table(), discount=code, tax=standard)
    assert [ln.discount for ln in lines] == [242, 109]
    assert [ln.tax for ln in lines] == [378, 81]
    assert (totals.tax_total, totals.total) == (459, 3159)


# ---------------------------------------------------------------- OSS and reverse charge


def test_oss_above_the_threshold_the_buyers_country_rate():
    decision = vat(table(seller="NL"), "DE")
    assert (decision.country, decision.rate, decision.reason) == ("DE", Decimal("0.19"), "oss")


def test_below_the_oss_threshold_the_sellers_own_rate():
    decision = vat(table(seller="NL", above=False), "DE")
    assert (decision.country, decision.rate, decision.reason) == (
        "NL",
        Decimal("0.21"),
        "below-oss-threshold",
    )
    # Reduced rates follow the country whose VAT applies.
    assert vat(table(seller="NL", above=False), "DE", "books").rate == Decimal("0.09")


def test_domestic_and_import_sales():
    assert vat(table(seller="NL"), "NL").reason == "domestic"
    imported = vat(table(seller="US"), "FR")
    assert (imported.rate, imported.reason) == (Decimal("0.20"), "import")
    assert vat(table(seller="US"), "US", region="CA").reason == "domestic"


def test_reverse_charge_for_a_business_with_a_valid_vat_number():
    business = vat(table(seller="NL"), "DE", tax_id="DE 136 695 976")
    assert (business.rate, business.reason) == (Decimal(0), "reverse-charge")
    # A number that fails its check digit is a consumer's sale.
    assert vat(table(seller="NL"), "DE", tax_id="DE136695977").reason == "oss"
    # At home there is no reverse charge.
    assert vat(table(seller="NL"), "NL", tax_id="NL004495445B01").reason == "domestic"


@pytest.mark.parametrize(
    ("number", "country", "compact"),
    [
        ("NL 0044.95.445.B01", "NL", "NL004495445B01"),
        ("DE136695976", "DE", "DE136695976"),
        ("EL094259216", "GR", "EL094259216"),
        ("GB980780684", "GB", "980780684"),
    ],
)
def test_vat_numbers_are_checked_and_compacted(number, country, compact):
    assert taxes.normalise_tax_id(number, country) == compact


@pytest.mark.parametrize(
    ("number", "country", "why"),
    [
        ("NL004495446B01", "NL", "checksum"),
        ("DE136695976", "NL", "is not a VAT number of NL"),
        ("12345", "FR", ""),
    ],
)
def test_bad_vat_numbers_are_refused(number, country, why):
    with pytest.raises(ValidationFailed) as refused:
        taxes.normalise_tax_id(number, country)
    assert refused.value.errors[0].loc == ("tax_id",)
    assert why in refused.value.errors[0].message


# ---------------------------------------------------------------- duties and de minimis


def landed(country, goods, currency="EUR", table_=None):
    t = table_ or table()
    return duties.landed_cost(
        duties.parse(duties.DEFAULTS.read_text()), country, goods, currency, t.convert
    )


def test_eu_below_150_euros_a_flat_3_euros_per_tariff_subheading():
    one = landed("NL", [duties.Goods(12000, "6109.10.00", "CN")])
    assert (one.duties, one.below_de_minimis, one.known) == (300, True, True)
    two_kinds = landed(
        "NL", [duties.Goods(4000, "6109.10", "CN"), duties.Goods(5000, "6110.20", "CN")]
    )
    assert two_kinds.duties == 600
    same_kind = landed(
        "NL", [duties.Goods(4000, "6109.10", "CN"), duties.Goods(5000, "610910", "CN")]
    )
    assert same_kind.duties == 300


def test_eu_from_150_euros_the_tariff_rate():
    found = landed("FR", [duties.Goods(20000, "6109.10", "CN")])
    assert (found.duties, found.below_de_minimis) == (2400, False)  # 12 % of EUR 200


def test_no_duties_inside_the_customs_union_or_of_unknown_origin():
    assert landed("NL", [duties.Goods(50000, "6109.10", "DE")]).duties == 0
    assert landed("NL", [duties.Goods(50000, "6109.10", None)]).duties == 0


def test_us_has_no_de_minimis_since_august_2025():
    found = landed("US", [duties.Goods(5000, "6109.10.0012", "CN")], currency="USD")
    assert (found.duties, found.below_de_minimis) == (825, False)  # 16.5 % of $50


def test_uk_relief_up_to_135_pounds():
    below = landed("GB", [duties.Goods(10000, "6109.10", "US")], currency="GBP")
    above = landed("GB", [duties.Goods(19750, "6109.10", "US")], currency="GBP")
    assert (below.duties, below.below_de_minimis) == (0, True)
    assert (above.duties, above.below_de_minimis) == (2370, False)


def test_an_unknown_tariff_code_is_not_a_zero():
    found = landed("DE", [duties.Goods(30000, None, "CN"), duties.Goods(30000, "6109", "CN")])
    assert (found.duties, found.known) == (3600, False)


def test_the_threshold_is_compared_in_the_destinations_currency():
    # $150 at 0.92 is EUR 138: under the threshold, the flat EUR 3 shown in dollars.
    found = landed("NL", [duties.Goods(15000, "6109.10", "CN")], currency="USD")
    assert (found.duties, found.below_de_minimis) == (326, True)


# ---------------------------------------------------------------- rounding per currency


def test_rounding_per_currency_exponent():
    t = table()
    assert t.convert(2500, "USD", "JPY") == 3780  # 3775 yen, to the nearest 10
    assert t.convert(2500, "USD", "EUR") == 2300
    assert to_minor("1.234", "KWD") == 1234
    assert round_minor(Decimal("1.2345"), "KWD") == 1234  # banker's rounding
    assert round_minor(Decimal("1.2355"), "KWD") == 1236
    with pytest.raises(ValueError):
        to_minor("12.5", "JPY")


@pytest.mark.parametrize(
    ("minor", "currency", "ending", "expected"),
    [
        (2300, "EUR", "0.99", 2399),
        (2399, "EUR", "0.99", 2399),
        (2400, "EUR", "0.99", 2499),
        (1296, "GBP", "0.95", 1395),
        (1290, "GBP", "0.95", 1295),
        (3780, "JPY", "0.99", 3780),  # no fractions of a yen
        (1234, "EUR", None, 1234),
    ],
)
def test_price_endings(minor, currency, ending, expected):
    assert prices.with_ending(minor, currency, ending) == expected


def test_an_ending_must_fit_the_currency():
    assert prices.check_ending("0.990", "EUR") == "0.990"
    with pytest.raises(ValidationFailed):
        prices.check_ending("0.99", "JPY")
    with pytest.raises(ValidationFailed):
        prices.check_ending("1.50", "EUR")


@pytest.mark.parametrize(
    ("minor", "currency", "locale", "shown"),
    [
        (2420, "EUR", "nl_NL", "€\xa024,20"),
        (10725, "USD", "en_US", "$107.25"),
        (3780, "JPY", "ja_JP", "￥3,780"),
        (22120, "GBP", "en_GB", "£221.20"),
    ],
)
def test_prices_are_shown_in_the_buyers_locale(minor, currency, locale, shown):
    assert money(minor, currency, locale) == shown


# ---------------------------------------------------------------- exchange rates


def test_rates_from_a_csv_file():
    found = fx.parse("currency,rate,date\nEUR,0.9150,2026-12-04\nJPY,155.2,2026-12-04\n", "USD")
    assert found["EUR"].rate == Decimal("0.9150") and str(found["JPY"].as_of) == "2026-12-04"


def test_ecb_rates_against_the_euro_are_rebased_on_the_store_currency():
    text = (
        '{"base": "EUR", "date": "2026-12-04",'
        ' "rates": {"USD": "1.0500", "GBP": "0.8400", "JPY": "163.00"}}'
    )
    found = fx.parse(text, "USD")
    assert found["EUR"].rate == Decimal("0.9523809524")
    assert found["GBP"].rate == Decimal("0.8")
    assert found["JPY"].rate == Decimal("155.2380952")
    assert "USD" not in found


def test_a_bad_rates_file_is_refused_by_row():
    with pytest.raises(ValidationFailed) as refused:
        fx.parse(
            "currency,rate,date\nEUR,0.92,2026-12-04\nXXX,1,2026-12-04\nGBP,-1,2026-12-04", "USD"
        )
    assert [e.loc for e in refused.value.errors] == [("row", 3), ("row", 4)]
