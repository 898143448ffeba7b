"""Channels per market (``mercato.markets``): a channel set to a market sells in its
country, language and currency; its items carry the texts of the market's language
(catalog translations, with fallbacks), prices from the market's price list or converted
as its checkouts convert them, and links that land the buyer in the market. Each market's
items are checked by its channel's platform rules, and the verdicts are shown per market.

A price list's new prices, a market's new price ending and imported exchange rates reach
the market's channels through their change log (``price_changes``): exactly the variants
whose price there changed, so the next ordinary publish sends them.

How each platform takes a market (docs/markets-channels.md): Google, a product input per
feed label and content language (one channel per market on the same data source); Meta,
either a catalog of its own or, with the ``localized`` setting, language and country
overrides of the items another channel fills (``localized_items_batch``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import httpx
from sqlalchemy import exists, select
from sqlalchemy.orm import Session, sessionmaker

from mercato.catalog.models import Variant
from mercato.channels import http as channel_http
from mercato.channels import service, tokens
from mercato.channels.adapter import adapter_for
from mercato.channels.models import Channel
from mercato.channels.target import Target
from mercato.channels.tiktok import spec as tiktok_spec
from mercato.db import Sessions, transaction
from mercato.errors import FieldError, MercatoError, ValidationFailed
from mercato.markets import fx, prices, rates
from mercato.markets import service as markets
from mercato.markets.models import Market, MarketPrice
from mercato.money import MoneyError


def set_market(
    session: Session,
    reference: str,
    code: str | None,
    shop: dict | None = None,
    localized: bool | None = None,
) -> Channel:
    """Point a channel at a market (None: at none): its country, language and currency
    become the market's, and its next publish compares every item again.

    A TikTok channel sells in its shop's region (``shop``, as Get Authorized Shops lists
    it; else the region found the last time): the market must sell to that country, in
    that region's currency, else nothing changes and the field is named. ``localized``
    (Meta): override the items another channel fills."""
    channel = service.find_channel(session, reference)
    settings = dict(channel.settings or {})
    if localized is not None:
        settings["localized"] = localized
    if code is None:
        for key in ("market", "locale", "countries"):
            settings.pop(key, None)
        channel.settings = settings
        return channel
    market = markets.get_market(session, code.strip().lower())
    if not market.active:
        raise ValidationFailed(
            f"Market {market.code} is not active.", [FieldError(("market",), "is not active")]
        )
    country = market.countries[0]
    if channel.kind == "tiktok":
        country = _tiktok_region(channel, market, shop, settings)
    locale = market.languages[0]
    channel.country = country
    channel.language = locale.split("_")[0]
    channel.currency = market.currency
    settings.update(market=market.code, locale=locale, countries=list(market.countries))
    channel.settings = settings
    return channel


def _tiktok_region(channel: Channel, market: Market, shop: dict | None, settings: dict) -> str:
    """The TikTok shop's region the market sells in (its facts kept in ``settings``), or
    ValidationFailed naming the market's field that does not fit."""
    if shop is not None:
        region = str(shop.get("region") or "").upper()
        name = shop.get("name") or shop.get("id")
        if not region:
            raise ValidationFailed(
                f"The TikTok shop {name} has no region yet.",
                [
                    FieldError(
                        ("market",),
                        "TikTok lists no region for the shop (a cross-border shop's region "
                        "is empty until TikTok approves it)",
                    )
                ],
            )
    else:
        region, name = settings.get("shop_region"), settings.get("shop_id")
        if not region:
            raise ValidationFailed(
                "The TikTok shop's region is not known yet.",
                [
                    FieldError(
                        ("market",),
                        "ask TikTok for the shop's region first: `mercato channels market` "
                        "or PUT /api/v1/channels/{id}/market",
                    )
                ],
            )
    errors = []
    if region not in market.countries:
        errors.append(
            FieldError(
                ("market", "countries"),
                f"market {market.code} sells to {', '.join(market.countries)}, not to "
                f"{region}, where the TikTok shop {name} sells",
            )
        )
    expected = tiktok_spec.REGION_CURRENCY.get(region)
    if expected and market.currency != expected:
        errors.append(
            FieldError(
                ("market", "currency"),
                f"market {market.code} sells in {market.currency}; the TikTok shop {name} "
                f"in {region} sells in {expected}",
            )
        )
    if errors:
        raise ValidationFailed(
            f"Market {market.code} does not fit the TikTok shop {name} ({region}).", errors
        )
    if shop is not None:
        settings.update(
            shop_region=region,
            shop_id=str(shop.get("id") or ""),
            shop_cipher=shop.get("cipher") or settings.get("shop_cipher"),
            shop_seller_type=shop.get("seller_type") or "LOCAL",
        )
    return region


def set_market_asking(
    sessions: Sessions | sessionmaker[Session],
    reference: str,
    code: str | None,
    localized: bool | None = None,
    http: httpx.Client | None = None,
) -> Channel:
    """``set_market``, after asking the platform what it must know first (no transaction
    open meanwhile): a TikTok channel's shop and its region (Get Authorized Shops)."""
    sessions = Sessions.of(sessions)
    with sessions.read() as session:
        channel = service.find_channel(session, reference)
    shop = None
    if code is not None and channel.kind == "tiktok":
        shop = _tiktok_shop(sessions, channel, http)
    with transaction(sessions.write) as session:
        return set_market(session, channel.id, code, shop, localized)


def _tiktok_shop(sessions: Sessions, channel: Channel, http: httpx.Client | None) -> dict:
    client = http or channel_http.open_client(channel.base_url)
    try:
        adapter = tokens.for_channel(
            sessions,
            channel.id,
            channel.kind,
            lambda credentials: adapter_for(channel.kind, Target.of(channel), credentials, client),
            service.credentials(channel),
            client,
        )
        return adapter.shop()
    except channel_http.PlatformError as exc:
        raise ValidationFailed(
            f"TikTok Shop did not say which region the shop sells in: {exc}",
            [FieldError(("market",), str(exc), "refused")],
        ) from None
    finally:
        if http is None:
            client.close()


@dataclass
class InMarket:
    """A market's prices for one run over a channel's items."""

    market: Market
    listed: dict[str, int]
    table: rates.Rates

    def price(self, item: dict, amount: int) -> int:
        """``amount`` (of the item's currency) in the market: its price list's, else the
        variant's own price there, else converted with the market's ending."""
        currency = self.market.currency
        if item["currency"] == currency:
            return amount
        own = (item.get("own_prices") or {}).get(currency)
        if isinstance(own, int) and own >= 0:
            return own
        converted = self.table.convert(amount, item["currency"], currency)
        return prices.with_ending(converted, currency, self.market.price_ending)

    def apply(self, item: dict) -> dict | None:
        """The item priced in the market (its price list wins over its own sale price);
        an issue when it cannot be priced there."""
        currency = self.market.currency
        on_sale = item["sale_price"] is not None
        actual = item["sale_price"] if on_sale else item["price"]
        compare = item["price"] if on_sale else None
        try:
            if item["variant_id"] in self.listed:
                now = self.listed[item["variant_id"]]
            else:
                now = self.price(item, actual)
            was = self.price(item, compare) if compare is not None else None
        except (ValidationFailed, MoneyError) as exc:
            return {
                "field": "price",
                "message": f"cannot be priced in {currency} for market {self.market.code}: "
                f"{exc.detail if isinstance(exc, MercatoError) else exc}",
                "severity": "error",
                "source": "local",
            }
        if was is not None and was > now:
            item["price"], item["sale_price"] = was, now
        else:
            item["price"], item["sale_price"] = now, None
        item["currency"] = currency
        return None


def in_market(
    session: Session, target: Target, variant_ids: list[str] | None = None
) -> tuple[InMarket | None, dict | None]:
    """The target's market for pricing its items, or an issue every item gets when the
    market is gone or sells in another currency than the channel now."""
    if not target.market:
        return None, None
    market = session.get(Market, target.market)
    if market is None or not market.active:
        return None, _channel_issue(f"market {target.market} is gone or inactive")
    region = (target.settings or {}).get("shop_region")
    if target.kind == "tiktok" and region and region not in market.countries:
        return None, _channel_issue(
            f"market {market.code} no longer sells to {region}, the TikTok shop's region: "
            "set the channel's market again"
        )
    if market.currency != target.currency:
        return None, _channel_issue(
            f"market {market.code} sells in {market.currency}, the channel in "
            f"{target.currency}: set the channel's market again"
        )
    return InMarket(
        market, markets.price_list(session, market.code, variant_ids), rates.load()
    ), None


def _channel_issue(message: str) -> dict:
    return {"field": "price", "message": message, "severity": "error", "source": "local"}


# Events that change market channels' prices.
PRICE_EVENTS = (markets.PRICES_CHANGED, fx.RATES_CHANGED)


def price_changes(
    session: Session, events: Iterable, followed: Iterable[str]
) -> list[tuple[list[str], dict[str, None]]]:
    """(channel ids, changed variant ids) of the market channels among ``followed`` whose
    items' prices the events changed: a price list's entries for the market's channels;
    the converted prices of a market whose ending changed; and, after an exchange rates
    import, the converted prices into or out of each currency whose rate changed."""
    listed: dict[str, set[str]] = {}
    # Market code -> currencies of the converted variants to send again (None: all).
    converted: dict[str, set[str] | None] = {}
    rates_changed: set[str] = set()
    for event in events:
        if event.type == markets.PRICES_CHANGED:
            code = event.payload["market"]
            if event.payload.get("converted"):
                converted[code] = None
            listed.setdefault(code, set()).update(event.payload.get("variant_ids") or ())
        elif event.type == fx.RATES_CHANGED:
            rates_changed.update(event.payload.get("currencies") or ())
    if not (listed or converted or rates_changed):
        return []
    followed = set(followed)
    channels: dict[str, list[str]] = {}
    for channel in service.list_channels(session):
        code = (channel.settings or {}).get("market")
        if code and channel.id in followed:
            channels.setdefault(code, []).append(channel.id)
    if rates_changed:
        for market in session.scalars(select(Market).where(Market.code.in_(list(channels)))):
            if market.code in converted and converted[market.code] is None:
                continue
            if market.currency in rates_changed:
                converted[market.code] = None
            else:
                converted[market.code] = set(rates_changed)
    out = []
    for code, channel_ids in sorted(channels.items()):
        variant_ids = set(listed.get(code, ()))
        if code in converted:
            market = session.get(Market, code)
            if market is not None:
                variant_ids.update(_converted(session, market, converted[code]))
        if variant_ids:
            out.append((sorted(channel_ids), dict.fromkeys(sorted(variant_ids))))
    return out


def _converted(session: Session, market: Market, currencies: set[str] | None) -> list[str]:
    """The variants whose price in the market is converted (not in its price list, no own
    price in its currency), of ``currencies`` only when given."""
    query = select(Variant.id, Variant.attributes).where(
        Variant.currency != market.currency,
        ~exists().where(
            MarketPrice.market_code == market.code, MarketPrice.variant_id == Variant.id
        ),
    )
    if currencies is not None:
        query = query.where(Variant.currency.in_(sorted(currencies)))
    found = []
    for variant_id, attributes in session.execute(query.execution_options(yield_per=1000)):
        own = ((attributes or {}).get("prices") or {}).get(market.currency)
        if not (isinstance(own, int) and own >= 0):
            found.append(variant_id)
    return found
