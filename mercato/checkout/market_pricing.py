"""A checkout in a market (``mercato.markets``): its prices (price list, else converted with
the recorded exchange rate and the market's ending), its taxes (the tax provider: OSS,
reduced rates by category, reverse charge, the market's tax mode) and its landed cost
(duties: in the total when the market delivers duties paid, else disclosed).

A checkout with no market is priced as before, from ``rates`` alone.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from mercato.catalog.models import Variant
from mercato.checkout import pricing, rates
from mercato.checkout.models import Checkout
from mercato.markets import duties, taxes
from mercato.markets import service as markets
from mercato.markets.models import Market


def market_for(
    session: Session,
    requested: str | None,
    country: str | None,
    active_markets: list[Market] | None = None,
) -> Market | None:
    """The market a new checkout is in: the one asked for (unknown: refused), else the
    buyer's country's; None without markets."""
    return markets.resolve(
        session, requested=requested, country=country, active_markets=active_markets
    )


def converted(variant, currency: str) -> bool:
    """Is the variant's price in ``currency`` a conversion (no own price there)?"""
    if variant.currency == currency:
        return False
    own = (variant.attributes or {}).get("prices", {}).get(currency)
    return not (isinstance(own, int) and own >= 0)


def prices_in(
    session: Session, market: Market, variants: list, found: dict[str, int]
) -> dict[str, int]:
    """Each variant's price in the market: its price list's, else ``found`` (its price in
    the currency, converted or its own) with the market's ending when converted."""
    listed = markets.pricing(session, market, [v.id for v in variants])
    return {v.id: listed.price(v.id, found[v.id], converted(v, market.currency)) for v in variants}


def record_rate(checkout: Checkout, table: rates.Rates) -> None:
    """The exchange rate the checkout's currency is converted with, and its date."""
    if checkout.currency == table.base_currency:
        checkout.fx_rate = checkout.fx_date = None
        return
    checkout.fx_rate = table.currency_rates.get(checkout.currency)
    checkout.fx_date = table.rate_dates.get(checkout.currency)


@dataclass(frozen=True)
class InMarket:
    """A checkout's taxes in its market, and what its lines declare to customs."""

    market: Market
    tax: taxes.TaxDecision | None
    line_rates: list[taxes.TaxDecision | None]
    attributes: dict[str, dict]

    def landed(
        self,
        checkout: Checkout,
        priced: list[pricing.PricedLine],
        table: rates.Rates,
        country: str | None,
    ) -> duties.Landed:
        goods = [
            duties.Goods(
                p.gross - p.discount,
                self.attributes.get(ln.variant_id, {}).get("hs_code"),
                self.attributes.get(ln.variant_id, {}).get("origin") or table.seller_country,
            )
            for ln, p in zip(checkout.lines, priced, strict=True)
        ]
        return duties.landed_cost(duties.load(), country, goods, checkout.currency, table.convert)


def in_market(
    session: Session, checkout: Checkout, table: rates.Rates, country: str | None
) -> InMarket | None:
    market = session.get(Market, checkout.market) if checkout.market else None
    if market is None:
        return None
    attributes = {
        vid: attrs or {}
        for vid, attrs in session.execute(
            select(Variant.id, Variant.attributes).where(
                Variant.id.in_({ln.variant_id for ln in checkout.lines})
            )
        )
    }
    provider = taxes.provider(table)
    region = (checkout.shipping_address or {}).get("region")
    included = market.tax_mode == "inclusive"

    def decide(category: str | None) -> taxes.TaxDecision | None:
        return provider.decide(
            taxes.TaxQuery(country, region, category, checkout.tax_id, included=included)
        )

    categories = [attributes.get(ln.variant_id, {}).get("tax_category") for ln in checkout.lines]
    return InMarket(
        market, decide(None), [decide(c) if c else None for c in categories], attributes
    )
