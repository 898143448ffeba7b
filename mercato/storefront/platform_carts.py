"""Carts a platform sends its buyers with, to check out on the storefront:

- Meta's checkout URL (PLATFORMS.md §1.6): ``products=<content id>:<qty>,…`` (commas and
  colons arrive percent-encoded, so the query is decoded once, split on ``,``, each entry
  at its last ``:``), an optional ``coupon``, and tracking parameters (``utm_*``,
  ``fbclid``, ``cart_origin``) kept for attribution;
- Google's checkout URL template (§2.6): ``{id}`` is replaced by the offer id, sent here
  as ``item=<offer id>`` (one unit).

The content id (offer id) is the item id Mercato pushed for the variant on that channel
(the permanent id map, ``channel_listings.item_id``). Nothing here needs the buyer to be
known or changes anything: the page shows the cart, its subtotal and the coupon applied,
and tells the buyer plainly about ids it does not know or that are sold out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from mercato.catalog.models import Variant
from mercato.channels import checkout_urls
from mercato.channels.models import Channel, Listing
from mercato.checkout import discounts, rates
from mercato.checkout import service as checkout
from mercato.errors import NotFound
from mercato.inventory import availability as stock
from mercato.offers.pricing import Line as OfferLine
from mercato.storefront.service import MAX_CART_LINES, CartLine

MAX_QUANTITY = 100
# Parameters kept from the platform's link for attribution (besides ``ch``).
TRACKING = (*checkout.UTM_KEYS, *checkout.CLICK_KEYS)


@dataclass
class Wanted:
    content_id: str
    quantity: int


@dataclass
class Unavailable:
    content_id: str
    why: str
    title: str | None = None


@dataclass
class PlatformCart:
    channel_id: str
    source: str
    currency: str
    lines: list[CartLine] = field(default_factory=list)
    unavailable: list[Unavailable] = field(default_factory=list)
    coupon: str | None = None
    discount: int = 0
    coupon_problem: str | None = None
    tracking: dict[str, str] = field(default_factory=dict)

    @property
    def subtotal(self) -> int:
        return sum(line.price * line.quantity for line in self.lines)

    @property
    def total(self) -> int:
        return self.subtotal - self.discount

    def checkout_lines(self) -> list[dict]:
        return [{"variant_id": ln.variant.id, "quantity": ln.quantity} for ln in self.lines]


def wanted(query: Mapping[str, str]) -> tuple[list[Wanted], list[Unavailable]]:
    """The ids and quantities a link asks for (duplicates added up), and its entries that
    cannot be read."""
    found: dict[str, int] = {}
    unreadable = []
    entries = [e.strip() for e in (query.get("products") or "").split(",") if e.strip()]
    entries += [f"{item.strip()}:1" for item in [query.get("item") or ""] if item.strip()]
    for entry in entries:
        content_id, _, quantity = entry.rpartition(":")
        if not content_id or not quantity.isdigit() or int(quantity) < 1:
            unreadable.append(Unavailable(entry, "could not be read (expected id:quantity)"))
            continue
        found[content_id] = min(found.get(content_id, 0) + int(quantity), MAX_QUANTITY)
    return [Wanted(c, q) for c, q in found.items()][:MAX_CART_LINES], unreadable


def _variants(session: Session, channel_id: str, ids: list[str]) -> dict[str, Variant]:
    """Content id -> variant: through the channel's id map, else the variant id itself
    (the item id Mercato uses when none was mapped)."""
    mapped = dict(
        session.execute(
            select(Listing.item_id, Listing.variant_id).where(
                Listing.channel_id == channel_id, Listing.item_id.in_(ids)
            )
        ).all()
    )
    wanted_ids = {mapped.get(i, i) for i in ids}
    variants = {
        v.id: v
        for v in session.scalars(
            select(Variant).where(Variant.id.in_(wanted_ids)).options(selectinload(Variant.product))
        )
    }
    return {i: variants[mapped.get(i, i)] for i in ids if mapped.get(i, i) in variants}


def _name(variant: Variant) -> str:
    options = " / ".join(variant.option_values or [])
    return f"{variant.product.title} ({options})" if options else variant.product.title


def platform_cart(session: Session, channel_id: str, query: Mapping[str, str]) -> PlatformCart:
    """The cart a platform's link asks for, in the channel's currency (the prices the buyer
    saw there): what can be bought, with the coupon applied, and what cannot (unknown, no
    longer for sale, sold out)."""
    channel = session.get(Channel, channel_id)
    if channel is None or channel.kind not in checkout_urls.TEMPLATES:
        raise NotFound("This link does not lead to a cart.")
    currency = channel.currency
    cart = PlatformCart(channel.id, channel.kind, currency)
    cart.tracking = {k: query[k][:255] for k in TRACKING if query.get(k)}
    asked, cart.unavailable = wanted(query)
    variants = _variants(session, channel.id, [w.content_id for w in asked])
    levels = stock.read_stock(session, variant_ids=[v.id for v in variants.values()])
    table = rates.load()
    for want in asked:
        variant = variants.get(want.content_id)
        if variant is None or variant.product.status != "active":
            title = _name(variant) if variant is not None else None
            cart.unavailable.append(Unavailable(want.content_id, "is no longer for sale", title))
            continue
        level = levels.get(variant.id)
        available = stock.publishable(level, None) if level else 0
        if available < 1:
            cart.unavailable.append(Unavailable(want.content_id, "is sold out", _name(variant)))
            continue
        quantity = min(want.quantity, available)
        price = checkout.unit_price(variant, currency, table)
        cart.lines.append(CartLine(variant, quantity, price, available))
        if quantity < want.quantity:
            why = f"has only {available} left: {quantity} in your cart"
            cart.unavailable.append(Unavailable(want.content_id, why, _name(variant)))
    coupon = (query.get("coupon") or "").strip()[:100]
    if coupon:
        cart.coupon = coupon
        cart.discount, cart.coupon_problem = discounts.discount_preview(
            session,
            coupon,
            currency,
            [
                OfferLine(ln.variant.id, ln.variant.product_id, ln.price, ln.quantity)
                for ln in cart.lines
            ],
        )
    return cart
