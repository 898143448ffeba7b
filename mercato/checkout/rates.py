"""The rates file (taxes, shipping zones, exchange rates): ``mercato.markets.rates``, where
checkouts and channels both read it."""

from mercato.markets.rates import (  # noqa: F401
    DEFAULTS,
    FILE_NAME,
    Rates,
    ShippingRate,
    ShippingZone,
    TaxRate,
    load,
    parse,
    with_fx,
)
