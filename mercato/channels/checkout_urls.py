"""The checkout URL a channel's platform sends buyers to, for the merchant to register
there: Meta's checkout URL (PLATFORMS.md §1.6: Meta appends ``products`` and ``coupon``)
and Google's checkout URL template (§2.6: Google replaces ``{id}`` with the offer id).
The storefront serves both at ``/shop/from/<channel id>``."""

from __future__ import annotations

from mercato.channels.items import storefront_url

TEMPLATES = {
    "meta": "{base}/shop/from/{channel}",
    "google": "{base}/shop/from/{channel}?item={{id}}",
}


def checkout_url(kind: str, channel_id: str) -> str | None:
    template = TEMPLATES.get(kind)
    return template.format(base=storefront_url(), channel=channel_id) if template else None
