"""Variants as channel items: the catalog read in bounded batches and turned into one
neutral item per variant, which each platform's mapping then shapes.

Items are plain dicts (the hot path of feeds over a million variants); their keys are the
shared feed attribute names (``title``, ``gtin``, ``item_group_id`` ...).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from sqlalchemy import and_, select
from sqlalchemy.orm import Session, aliased

from mercato.catalog.models import Media, Product, Variant
from mercato.channels.models import Channel, Listing
from mercato.config import get_settings

# Option names (any case) that carry a platform variant attribute.
OPTION_ATTRIBUTES = {
    "color": "color", "colour": "color", "couleur": "color", "farbe": "color",
    "size": "size", "taille": "size", "größe": "size", "groesse": "size",
    "material": "material", "pattern": "pattern", "gender": "gender",
    "age group": "age_group",
}
BATCH_SIZE = 2000


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

    @classmethod
    def of(cls, channel: Channel) -> Target:
        return cls(kind=channel.kind, country=channel.country, language=channel.language,
                   currency=channel.currency, channel_id=channel.id,
                   settings=dict(channel.settings or {}), base_url=storefront_url())

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


# ---------------------------------------------------------------- reading


def _stock_lookup():
    """What each channel may publish, from the inventory service, if that domain is installed.

    Returns ``lookup(session, channel, variant_ids) -> {variant_id: units}``. The inventory
    domain owns stock; channels never compute it. Without that domain nothing is known about
    stock: every variant counts as available and no quantity is sent.
    """
    try:
        from mercato.inventory import service as inventory
    except ImportError:
        return None
    if hasattr(inventory, "available_for_many"):
        return inventory.available_for_many
    if hasattr(inventory, "read_stock") and hasattr(inventory, "publishable"):
        from mercato.inventory.models import ChannelRule

        # available_for(), a batch at a time: one stock query per batch instead of per
        # variant (what makes a million-variant feed possible).
        def batched(session, channel, variant_ids):
            rule = session.get(ChannelRule, channel) if channel else None
            stocks = inventory.read_stock(session, variant_ids=variant_ids)
            return {v: inventory.publishable(s, rule) for v, s in stocks.items()}
        return batched

    def one_by_one(session, channel, variant_ids):
        return {v: inventory.available_for(session, channel, v) for v in variant_ids}
    return one_by_one


def iter_items(session: Session, target: Target, statuses: tuple[str, ...] | None = ("active",),
               variant_ids: list[str] | None = None,
               batch_size: int = BATCH_SIZE) -> Iterator[dict[str, Any]]:
    """Every variant of products in ``statuses`` (None: all) as a neutral item, in variant id
    order, ``batch_size`` rows at a time: memory stays flat with catalog size."""
    image = aliased(Media)
    listing_join = and_(Listing.variant_id == Variant.id, Listing.channel_id == target.channel_id)
    query = (
        select(Variant.id, Variant.sku, Variant.option1, Variant.option2, Variant.option3,
               Variant.currency, Variant.price, Variant.compare_at_price, Variant.barcode,
               Variant.mpn, Variant.weight, Variant.weight_unit, Variant.condition,
               Variant.inventory_policy, Variant.inventory_tracked, image.url,
               Product.id, Product.handle, Product.title, Product.description_html,
               Product.description_text, Product.vendor, Product.product_type,
               Product.status, Product.google_category_id, Product.google_category_path,
               Product.options, Product.gender, Product.age_group, Product.attributes,
               Listing.item_id)
        .join(Product, Product.id == Variant.product_id)
        .outerjoin(image, image.id == Variant.image_id)
        .outerjoin(Listing, listing_join)
        .order_by(Variant.id)
    )
    if statuses:
        query = query.where(Product.status.in_(statuses))
    if variant_ids is not None:
        query = query.where(Variant.id.in_(variant_ids))
    stock = _stock_lookup()
    base_url = target.base_url or storefront_url()
    last_id = ""
    while True:
        rows = session.execute(query.where(Variant.id > last_id).limit(batch_size)).all()
        if not rows:
            return
        last_id = rows[-1][0]
        images = _product_images(session, {row[16] for row in rows})
        counts = _variant_counts(session, {row[16] for row in rows})
        # A check against a bare kind has no channel, hence no channel rule ("").
        units = stock(session, target.channel_id or "", [row[0] for row in rows]) \
            if stock else {}
        for row in rows:
            yield _item(row, images.get(row[16], []), counts[row[16]], units.get(row[0]),
                        base_url)


def _product_images(session: Session, product_ids: set[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for product_id, url in session.execute(
            select(Media.product_id, Media.url).where(Media.product_id.in_(product_ids))
            .order_by(Media.product_id, Media.position)):
        out.setdefault(product_id, []).append(url)
    return out


def _variant_counts(session: Session, product_ids: set[str]) -> dict[str, int]:
    from sqlalchemy import func

    return dict(session.execute(
        select(Variant.product_id, func.count()).where(Variant.product_id.in_(product_ids))
        .group_by(Variant.product_id)).all())


def _item(row, product_images, variant_count, units, base_url):
    (variant_id, sku, o1, o2, o3, currency, price, compare_at, barcode, mpn, weight,
     weight_unit, condition, policy, tracked, variant_image, product_id, handle, title,
     description_html, description_text, vendor, product_type, status, category_id,
     category_path, option_names, gender, age_group, attributes, item_id) = row
    images = [variant_image] if variant_image else []
    images += [url for url in product_images if url != variant_image]
    quantity = None
    if units is not None:
        in_stock = units > 0
        # Untracked or "continue" variants publish as unlimited: no count is sent.
        quantity = int(units) if tracked and policy == "deny" else None
    else:
        in_stock = True
    if compare_at is not None and compare_at > price:
        regular, sale = compare_at, price
    else:
        regular, sale = price, None
    item: dict[str, Any] = {
        "id": item_id or variant_id, "variant_id": variant_id, "product_id": product_id,
        "sku": sku, "handle": handle, "status": status, "title": title,
        "description": description_text or "", "description_html": description_html or "",
        "link": product_link(base_url, handle, variant_id),
        "image_link": images[0] if images else None, "additional_image_link": images[1:11],
        "price": regular, "sale_price": sale, "currency": currency,
        "in_stock": in_stock, "quantity": quantity, "condition": condition,
        "brand": vendor, "gtin": barcode, "mpn": mpn,
        "item_group_id": product_id if variant_count > 1 else None,
        "google_product_category": category_id, "google_product_category_path": category_path,
        "product_type": product_type, "gender": gender, "age_group": age_group,
        "weight": weight, "weight_unit": weight_unit, "varying": [],
    }
    for name, value in zip(option_names or [], (o1, o2, o3), strict=False):
        attribute = OPTION_ATTRIBUTES.get(name.strip().casefold())
        if attribute:
            item[attribute] = value
        item["varying"].append((name, attribute, value))
    if attributes:
        for key in ("tiktok_category_id", "material", "pattern"):
            if attributes.get(key) and not item.get(key):
                item[key] = attributes[key]
    return item
