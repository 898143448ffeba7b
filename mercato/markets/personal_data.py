"""The personal data of markets (see ``mercato.personal``): none."""

from mercato.personal import NotPersonal

TABLES = (
    NotPersonal(
        "markets",
        "the merchant's markets: countries, currency, languages",
        ("name", "countries", "languages"),
    ),
    NotPersonal("market_prices", "the merchant's price lists", ()),
)
