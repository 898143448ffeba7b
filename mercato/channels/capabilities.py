"""What each platform can do, as data: the rest of Mercato asks here, never hard-codes."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Capabilities:
    in_app_checkout: bool
    # The platform sends orders (Meta and Pinterest have none, PLATFORMS.md §0: their buyers
    # check out on the storefront through the checkout URL).
    order_api: bool
    # Where a refund is issued: "platform" (in its seller centre/API) or "merchant".
    refunds_on: str
    # Catalog push through an API (else feeds only).
    catalog_api: bool
    batch_size: int
    # Batch calls a minute we allow ourselves (the platform's limit, with headroom).
    calls_per_minute: int
    feed_formats: tuple[str, ...]
    # Hours after a customer's last message during which a free-form reply is allowed.
    message_reply_window_hours: int | None
    # Item granularity on the platform: "variant" (one item a variant) or "product".
    item_level: str = "variant"
    # Requires https product links and images.
    https_only: bool = True


_DEFAULTS: dict[str, Capabilities] = {
    # Meta ended in-app checkout on Facebook/Instagram Shops in September 2025.
    "meta": Capabilities(
        in_app_checkout=False,
        order_api=False,
        refunds_on="merchant",
        catalog_api=True,
        batch_size=3000,
        calls_per_minute=8,
        feed_formats=("csv", "xml"),
        message_reply_window_hours=24,
    ),
    "google": Capabilities(
        in_app_checkout=False,
        order_api=False,
        refunds_on="merchant",
        catalog_api=True,
        batch_size=1000,
        calls_per_minute=600,
        feed_formats=("xml",),
        message_reply_window_hours=None,
    ),
    "tiktok": Capabilities(
        in_app_checkout=True,
        order_api=True,
        refunds_on="platform",
        catalog_api=True,
        batch_size=100,
        calls_per_minute=300,
        feed_formats=(),
        message_reply_window_hours=48,
        item_level="product",
    ),
    "pinterest": Capabilities(
        in_app_checkout=False,
        order_api=False,
        refunds_on="merchant",
        catalog_api=True,
        batch_size=1000,
        calls_per_minute=60,
        feed_formats=("tsv",),
        message_reply_window_hours=None,
    ),
    "snapchat": Capabilities(
        in_app_checkout=False,
        order_api=False,
        refunds_on="merchant",
        catalog_api=False,
        batch_size=0,
        calls_per_minute=0,
        feed_formats=("csv",),
        message_reply_window_hours=None,
    ),
}


def capabilities(kind: str) -> Capabilities:
    return _DEFAULTS[kind]


# The kinds whose platform sends orders (an order API): the rest sell through the storefront.
ORDER_KINDS = tuple(kind for kind, caps in _DEFAULTS.items() if caps.order_api)

TITLES = {
    "meta": "Meta",
    "google": "Google",
    "tiktok": "TikTok Shop",
    "pinterest": "Pinterest",
    "snapchat": "Snapchat",
}


def orders_note(kind: str) -> str | None:
    """One line for someone who asks for a channel's orders when its platform sends none."""
    if capabilities(kind).order_api:
        return None
    return (
        f"{TITLES[kind]} sends no orders: buyers check out on your storefront (through the "
        "checkout URL), so those orders are listed as storefront orders."
    )


def feed_format(kind: str) -> str:
    """The format of a kind's feed pull URL: the first it offers (csv for a kind that
    takes its catalog by API only)."""
    return (capabilities(kind).feed_formats or ("csv",))[0]


def as_dict(caps: Capabilities) -> dict:
    return {name: getattr(caps, name) for name in caps.__dataclass_fields__}
