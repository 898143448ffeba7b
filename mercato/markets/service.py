"""Markets: define them, find the one a buyer shops in, and price in it.

A buyer's market comes from the link (``?market=nl``), else their own choice (a cookie),
else their country; with no market defined the shop sells as before (the rates file's
currency by country).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import pycountry
from babel.core import Locale, UnknownLocaleError
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from mercato.catalog.models import Variant
from mercato.db import utcnow
from mercato.errors import Conflict, FieldError, NotFound, ValidationFailed
from mercato.events import service as events
from mercato.markets import prices
from mercato.markets.models import Market, MarketPrice
from mercato.markets.schemas import MarketCreate, MarketUpdate, PriceSet
from mercato.money import MoneyError, check_currency, to_minor
from mercato.payments import methods

# Events that tell the market's channels which of their items' prices changed (consumed
# by ``channels.tasks``): a price list's entries, or every converted price of a market.
PRICES_CHANGED = "market.prices_changed"
# Variant ids per event.
EVENT_CHUNK = 500


def prices_changed(session: Session, code: str, variant_ids: Iterable[str]) -> None:
    """Record that these variants' prices in the market changed (their channels send them
    again on the next ordinary publish)."""
    ids = sorted(variant_ids)
    for start in range(0, len(ids), EVENT_CHUNK):
        events.record(
            session,
            PRICES_CHANGED,
            {"market": code, "variant_ids": ids[start : start + EVENT_CHUNK], "converted": False},
            key=f"market:{code}",
        )


def converted_prices_changed(session: Session, code: str) -> None:
    """Record that every converted price of the market changed (its ending did)."""
    events.record(
        session,
        PRICES_CHANGED,
        {"market": code, "variant_ids": [], "converted": True},
        key=f"market:{code}",
    )


# ---------------------------------------------------------------- defining


def _countries(codes: list[str]) -> list[str]:
    found, errors = [], []
    for index, code in enumerate(codes):
        code = code.strip().upper()
        if pycountry.countries.get(alpha_2=code) is None:
            errors.append(FieldError(("countries", index), f"{code!r} is not a country code"))
        elif code not in found:
            found.append(code)
    if errors:
        raise ValidationFailed("Some countries are not known.", errors)
    return found


def _languages(codes: list[str]) -> list[str]:
    found, errors = [], []
    for index, code in enumerate(codes):
        try:
            tag = str(Locale.parse(code.strip().replace("-", "_")))
        except (ValueError, UnknownLocaleError):
            errors.append(FieldError(("languages", index), f"{code!r} is not a language"))
            continue
        if tag not in found:
            found.append(tag)
    if errors:
        raise ValidationFailed("Some languages are not known.", errors)
    return found


def _currency(code: str) -> str:
    try:
        return check_currency(code)
    except MoneyError as exc:
        raise ValidationFailed("Unknown currency.", [FieldError(("currency",), str(exc))]) from None


def _no_overlap(session: Session, market: Market) -> None:
    """A country belongs to one active market: the buyer's country picks it."""
    if not market.active:
        return
    others = session.scalars(
        select(Market).where(Market.active.is_(True), Market.code != market.code)
    )
    taken = {c: m.code for m in others for c in m.countries}
    clash = [
        FieldError(("countries", i), f"{c} is already in market {taken[c]!r}")
        for i, c in enumerate(market.countries)
        if c in taken
    ]
    if clash:
        raise ValidationFailed("A country can be in one active market only.", clash)


def create_market(session: Session, data: MarketCreate) -> Market:
    if session.get(Market, data.code) is not None:
        raise Conflict(f"A market {data.code!r} exists already.")
    currency = _currency(data.currency)
    market = Market(
        code=data.code,
        name=data.name,
        countries=_countries(data.countries),
        currency=currency,
        languages=_languages(data.languages),
        tax_mode=data.tax_mode,
        duties=data.duties,
        price_ending=prices.check_ending(data.price_ending, currency),
        active=data.active,
    )
    market.payment_methods = methods.check(data.payment_methods, currency, market.countries)
    _no_overlap(session, market)
    session.add(market)
    session.flush()
    return market


def update_market(session: Session, code: str, data: MarketUpdate) -> Market:
    market = get_market(session, code)
    currency_before = market.currency
    fields = data.model_fields_set
    if data.name is not None:
        market.name = data.name
    if data.countries is not None:
        market.countries = _countries(data.countries)
    if data.currency is not None:
        market.currency = _currency(data.currency)
    if data.languages is not None:
        market.languages = _languages(data.languages)
    if data.tax_mode is not None:
        market.tax_mode = data.tax_mode
    if data.duties is not None:
        market.duties = data.duties
    if "price_ending" in fields or data.currency is not None:
        ending = data.price_ending if "price_ending" in fields else market.price_ending
        before = market.price_ending
        market.price_ending = prices.check_ending(ending, market.currency)
        if market.price_ending != before and market.currency == currency_before:
            # A new currency makes its channels compare everything once set again.
            converted_prices_changed(session, market.code)
    if data.active is not None:
        market.active = data.active
    # Checked again when the currency or countries change: iDEAL goes with EUR only.
    market.payment_methods = methods.check(
        data.payment_methods if data.payment_methods is not None else market.payment_methods,
        market.currency,
        market.countries,
    )
    _no_overlap(session, market)
    market.updated_at = utcnow()
    session.flush()
    return market


def delete_market(session: Session, code: str) -> None:
    session.delete(get_market(session, code))
    session.flush()


def get_market(session: Session, code: str) -> Market:
    market = session.get(Market, (code or "").lower())
    if market is None:
        raise NotFound(f"No market {code!r}.")
    return market


def payment_methods(session: Session, code: str | None) -> list[str] | None:
    """The payment method types a market's buyers are offered; None with no market (the
    provider's own choice applies)."""
    if not code:
        return None
    market = session.get(Market, code)
    return list(market.payment_methods or methods.DEFAULT) if market is not None else None


def list_markets(session: Session, *, active_only: bool = False) -> list[Market]:
    query = select(Market).order_by(Market.code)
    if active_only:
        query = query.where(Market.active.is_(True))
    return list(session.scalars(query))


# ---------------------------------------------------------------- the buyer's market


def resolve(
    session: Session,
    *,
    requested: str | None = None,
    chosen: str | None = None,
    country: str | None = None,
    active_markets: list[Market] | None = None,
) -> Market | None:
    """The market a buyer shops in: the link's (``requested``; an unknown one is refused),
    else their own choice (``chosen``, ignored when no longer active), else their
    country's; None when no market is defined for them. ``active_markets``: as read by
    the caller for many buyers at once."""
    if active_markets is None:
        active_markets = list_markets(session, active_only=True)
    active = {m.code: m for m in active_markets}
    if requested:
        market = active.get(requested.strip().lower())
        if market is None:
            raise ValidationFailed(
                f"No market {requested!r}.", [FieldError(("market",), f"one of {sorted(active)}")]
            )
        return market
    if chosen and chosen.lower() in active:
        return active[chosen.lower()]
    country = (country or "").upper()
    return next((m for m in active.values() if country in m.countries), None)


def language_for(market: Market, wanted: str | None) -> str:
    """The market's language the buyer reads: theirs if the market has it, else its first."""
    wanted = (wanted or "").replace("-", "_")
    for language in market.languages:
        if language == wanted or language.split("_")[0] == wanted.split("_")[0]:
            return language
    return market.languages[0]


# ---------------------------------------------------------------- price lists


def set_prices(session: Session, code: str, items: Iterable[PriceSet]) -> int:
    """Put prices in the market's price list (by SKU, in the market's currency); all or
    none: any unknown SKU or bad price refuses the whole list."""
    market = get_market(session, code)
    items = list(items)
    variants = {
        v.sku: v
        for v in session.scalars(select(Variant).where(Variant.sku.in_({i.sku for i in items})))
    }
    errors, amounts = [], {}
    for index, item in enumerate(items):
        variant = variants.get(item.sku)
        if variant is None:
            errors.append(FieldError(("prices", index, "sku"), f"no variant {item.sku!r}"))
            continue
        try:
            amount = to_minor(item.price, market.currency)
        except MoneyError as exc:
            errors.append(FieldError(("prices", index, "price"), str(exc)))
            continue
        if amount < 0:
            errors.append(FieldError(("prices", index, "price"), "is negative"))
            continue
        amounts[variant.id] = amount
    if errors:
        raise ValidationFailed("The price list has mistakes.", errors)
    if amounts:
        before = price_list(session, market.code, amounts)
        prices_changed(session, market.code, (v for v, a in amounts.items() if before.get(v) != a))
        session.execute(
            delete(MarketPrice).where(
                MarketPrice.market_code == market.code, MarketPrice.variant_id.in_(amounts)
            )
        )
        session.add_all(
            MarketPrice(market_code=market.code, variant_id=v, amount=a) for v, a in amounts.items()
        )
    market.updated_at = utcnow()
    session.flush()
    return len(amounts)


def price_list(session: Session, code: str, variant_ids: Iterable[str] | None = None) -> dict:
    """The market's listed prices by variant id (only of ``variant_ids`` when given)."""
    query = select(MarketPrice.variant_id, MarketPrice.amount).where(
        MarketPrice.market_code == code
    )
    if variant_ids is not None:
        query = query.where(MarketPrice.variant_id.in_(set(variant_ids)))
    return dict(session.execute(query).all())


def listed_prices(session: Session, code: str) -> list[tuple[str | None, str, int]]:
    """(sku, variant id, amount) of the market's price list, by SKU."""
    get_market(session, code)
    return list(
        session.execute(
            select(Variant.sku, Variant.id, MarketPrice.amount)
            .join(Variant, Variant.id == MarketPrice.variant_id)
            .where(MarketPrice.market_code == code)
            .order_by(Variant.sku, Variant.id)
        ).all()
    )


@dataclass(frozen=True)
class MarketPricing:
    """How a market prices: its price list (by variant id) and its ending."""

    market: Market
    listed: dict[str, int]

    def price(self, variant_id: str, converted: int, was_converted: bool) -> int:
        if variant_id in self.listed:
            return self.listed[variant_id]
        if was_converted:
            return prices.with_ending(converted, self.market.currency, self.market.price_ending)
        return converted


def pricing(session: Session, market: Market, variant_ids: Iterable[str]) -> MarketPricing:
    return MarketPricing(market, price_list(session, market.code, variant_ids))


def price_count(session: Session, code: str) -> int:
    """How many variants the market's price list prices."""
    return session.scalar(
        select(func.count()).select_from(MarketPrice).where(MarketPrice.market_code == code)
    )
