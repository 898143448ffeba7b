"""The personal data of markets (see ``mercato.personal``): none."""

from mercato.personal import NotPersonal

TABLES = (
    NotPersonal(
        "markets",
        "the merchant's markets: countries, currency, languages, the payment method types "
        "offered (card, ideal: kinds, never a buyer's method)",
        ("name", "countries", "languages", "payment_methods"),
    ),
    NotPersonal("market_prices", "the merchant's price lists", ()),
)
