"""Who a channel's items are for (``Target``) and the storefront links they carry: plain
data the platform adapters take, with no database behind it."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from mercato.config import get_settings

if TYPE_CHECKING:
    from mercato.channels.models import Channel


@dataclass
class Target:
    """Who the items are for: one channel (or a kind's defaults when no channel exists)."""

    kind: str
    country: str = "US"
    language: str = "en"
    currency: str = "USD"
    channel_id: str | None = None
    settings: dict[str, Any] = field(default_factory=dict)
    base_url: str = ""
    # The channel's feed rules (channels.feed_rules), applied to each item in order.
    feed_rules: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def of(cls, channel: Channel) -> Target:
        return cls(
            kind=channel.kind,
            country=channel.country,
            language=channel.language,
            currency=channel.currency,
            channel_id=channel.id,
            settings=dict(channel.settings or {}),
            base_url=storefront_url(),
            feed_rules=list(channel.feed_rules or []),
        )

    @property
    def market(self) -> str | None:
        """The market the channel sells in (``channels.markets``), if any."""
        return self.settings.get("market")

    @property
    def locale(self) -> str:
        """The locale its texts are in: its market's language ("nl_BE"), else its own."""
        return self.settings.get("locale") or self.language

    @property
    def localized(self) -> bool:
        """A channel of a market that overrides the items of a catalog another channel
        fills (Meta's localized catalog), rather than filling one of its own."""
        return bool(self.market and self.settings.get("localized"))

    @property
    def links_are_https(self) -> bool:
        return self.base_url.startswith("https://")


def storefront_url() -> str:
    return get_settings().base_url.rstrip("/")


def product_link(base_url: str, handle: str, variant_id: str) -> str:
    return f"{base_url}/shop/p/{quote(handle)}?variant={variant_id}"


HTTPS_URL = re.compile(r"^https://[^\s/?#@]+(?:[/?#]\S*)?$")


def is_https_url(url: str | None) -> bool:
    return bool(url) and HTTPS_URL.match(url) is not None
