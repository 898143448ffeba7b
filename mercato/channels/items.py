"""Variants as channel items: the catalog read in bounded batches and turned into one
neutral item per variant, which each platform's mapping then shapes.

Items are plain dicts (the hot path of feeds over a million variants); their keys are the
shared feed attribute names (``title``, ``gtin``, ``item_group_id`` ...).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, bindparam, exists, func, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session, aliased

from mercato.catalog.models import Media, Product, ProductTranslation, Variant
from mercato.catalog.text import html_to_text
from mercato.catalog.translations import fallback_chain, locale_key, pick
from mercato.channels.models import Exclusion, Listing
from mercato.channels.target import Target, product_link, storefront_url
from mercato.inventory import availability as inventory

# Option names (any case) that carry a platform variant attribute.
OPTION_ATTRIBUTES = {
    "color": "color",
    "colour": "color",
    "couleur": "color",
    "farbe": "color",
    "size": "size",
    "taille": "size",
    "größe": "size",
    "groesse": "size",
    "material": "material",
    "pattern": "pattern",
    "gender": "gender",
    "age group": "age_group",
}
BATCH_SIZE = 2000


# ---------------------------------------------------------------- reading


_variant_image = aliased(Media)
# One page of variants (keyset on the id): only the variant's own columns. Product columns
# are read once per product of the page (_products), not once per variant.
_VARIANTS = (
    select(
        Variant.id,
        Variant.product_id,
        Variant.sku,
        Variant.option1,
        Variant.option2,
        Variant.option3,
        Variant.currency,
        Variant.price,
        Variant.compare_at_price,
        Variant.barcode,
        Variant.mpn,
        Variant.weight,
        Variant.weight_unit,
        Variant.condition,
        Variant.inventory_policy,
        Variant.inventory_tracked,
        _variant_image.url.label("variant_image"),
        Listing.item_id,
    )
    .join(Product, Product.id == Variant.product_id)
    .outerjoin(_variant_image, _variant_image.id == Variant.image_id)
    .outerjoin(
        Listing,
        and_(Listing.variant_id == Variant.id, Listing.channel_id == bindparam("channel_id")),
    )
    .where(Variant.id > bindparam("after"))
    # Variants the merchant keeps off this channel are none of its items.
    .where(
        ~exists().where(
            Exclusion.channel_id == bindparam("channel_id"), Exclusion.variant_id == Variant.id
        )
    )
    .order_by(Variant.id)
)
_PRODUCTS = select(
    Product.id,
    Product.handle,
    Product.title,
    Product.description_html,
    Product.description_text,
    Product.vendor,
    Product.product_type,
    Product.status,
    Product.google_category_id,
    Product.google_category_path,
    Product.options,
    Product.gender,
    Product.age_group,
    Product.attributes,
    select(func.count())
    .where(Variant.product_id == Product.id)
    .scalar_subquery()
    .label("variant_count"),
).where(Product.id.in_(bindparam("ids", expanding=True)))
# A market's items also need the variants' own prices per currency (attributes "prices").
_VARIANTS_IN_MARKET = _VARIANTS.add_columns(Variant.attributes.label("variant_attributes"))
_TRANSLATIONS = select(
    ProductTranslation.product_id,
    ProductTranslation.locale,
    ProductTranslation.title,
    ProductTranslation.description_html,
    ProductTranslation.options,
    ProductTranslation.option_values,
).where(ProductTranslation.product_id.in_(bindparam("ids", expanding=True)))
_IMAGES = (
    select(Media.product_id, Media.url)
    .where(Media.product_id.in_(bindparam("ids", expanding=True)))
    .order_by(Media.product_id, Media.position)
)


def iter_items(
    session: Session,
    target: Target,
    statuses: tuple[str, ...] | None = ("active",),
    variant_ids: list[str] | None = None,
    batch_size: int = BATCH_SIZE,
) -> Iterator[dict[str, Any]]:
    """Every variant of products in ``statuses`` (None: all) as a neutral item, in variant id
    order, ``batch_size`` rows at a time: memory stays flat with catalog size."""
    query = (_VARIANTS_IN_MARKET if target.market else _VARIANTS).limit(batch_size)
    if statuses:
        query = query.where(Product.status.in_(statuses))
    if variant_ids is not None:
        query = query.where(Variant.id.in_(variant_ids))
    base_url = target.base_url or storefront_url()
    # A check against a bare kind has no channel, hence no listing and no channel rule ("").
    channel = target.channel_id or ""
    # Core rows straight from the connection: no ORM row processing on the hot path.
    connection = session.connection()
    last_id = ""
    while True:
        rows = connection.execute(query, {"after": last_id, "channel_id": target.channel_id}).all()
        if not rows:
            return
        last_id = rows[-1].id
        products = _products(
            connection, {row.product_id for row in rows}, base_url, target.locale, target.market
        )
        units = inventory.available_for_many(session, channel, [row.id for row in rows])
        for row in rows:
            yield _item(row, products[row.product_id], units.get(row.id))


@dataclass(slots=True)
class _ProductPart:
    """What every variant of a product shares, worked out once per page."""

    # An item with the product's fields filled in and the variant's left empty (same keys,
    # same order as every item): each variant copies it and fills in its own.
    template: dict[str, Any]
    link_prefix: str
    images: list[str]
    # Per option position: (option name, platform attribute or None).
    options: list[tuple[str, str | None]]
    extras: dict[str, Any]
    # Option values in the channel's locale: base value -> translated.
    values: dict[str, str]
    # After the variant id in its link (the market, so the buyer lands in it).
    link_suffix: str
    # Variant image -> (image link, additional image links) with that image first.
    image_lists: dict[str | None, tuple[str | None, list[str]]] = field(default_factory=dict)

    def images_for(self, variant_image: str | None) -> tuple[str | None, list[str]]:
        found = self.image_lists.get(variant_image)
        if found is None:
            images = [variant_image] if variant_image else []
            images += [url for url in self.images if url != variant_image]
            found = self.image_lists[variant_image] = (images[0] if images else None, images[1:11])
        return found


def _products(
    connection: Connection,
    product_ids: set[str],
    base_url: str,
    locale: str | None = None,
    market: str | None = None,
) -> dict[str, _ProductPart]:
    ids = sorted(product_ids)
    images: dict[str, list[str]] = {}
    for product_id, url in connection.execute(_IMAGES, {"ids": ids}).all():
        images.setdefault(product_id, []).append(url)
    # Only the translations of the locale's fallback chain ("nl_BE": nl-BE, then nl).
    chain = set(fallback_chain(locale))
    translated: dict[str, list] = {}
    if chain:
        for row in connection.execute(_TRANSLATIONS, {"ids": ids}).all():
            if locale_key(row.locale) in chain:
                translated.setdefault(row.product_id, []).append(row)
    link_suffix = f"&market={market}" if market else ""
    out = {}
    for product in connection.execute(_PRODUCTS, {"ids": ids}).all():
        found = translated.get(product.id)
        texts = (
            pick(
                product.title,
                product.description_html or "",
                list(product.options or []),
                found,
                locale,
            )
            if found
            else None
        )
        template = {
            "id": None,
            "variant_id": None,
            "product_id": product.id,
            "sku": None,
            "handle": product.handle,
            "status": product.status,
            "title": texts.title if texts else product.title,
            "description": (
                html_to_text(texts.description_html)
                if texts and texts.sources.get("description_html")
                else product.description_text or ""
            ),
            "description_html": texts.description_html if texts else product.description_html or "",
            "link": None,
            "image_link": None,
            "additional_image_link": None,
            "price": None,
            "sale_price": None,
            "currency": None,
            "in_stock": None,
            "quantity": None,
            "condition": None,
            "brand": product.vendor,
            "gtin": None,
            "mpn": None,
            "item_group_id": product.id if product.variant_count > 1 else None,
            "google_product_category": product.google_category_id,
            "google_product_category_path": product.google_category_path,
            "product_type": product.product_type,
            "gender": product.gender,
            "age_group": product.age_group,
            "weight": None,
            "weight_unit": None,
            "varying": None,
            # The variant's own prices per currency (read for a market's items only).
            "own_prices": None,
        }
        attributes = product.attributes
        extras = {
            key: attributes[key]
            for key in ("tiktok_category_id", "material", "pattern")
            if attributes and attributes.get(key)
        }
        options = product.options or []
        names = texts.options if texts else options
        out[product.id] = _ProductPart(
            template,
            product_link(base_url, product.handle, ""),
            images.get(product.id, []),
            # The platform attribute comes from the base name ("Color"), the name shown
            # from the locale's ("Kleur").
            [
                (shown, OPTION_ATTRIBUTES.get(name.strip().casefold()))
                for shown, name in zip(names, options, strict=False)
            ][:3],
            extras,
            texts.values if texts else {},
            link_suffix,
        )
    return out


def _item(row, product: _ProductPart, units) -> dict[str, Any]:
    variant_id, price, compare_at = row.id, row.price, row.compare_at_price
    item = product.template.copy()
    item["id"] = row.item_id or variant_id
    item["variant_id"] = variant_id
    item["sku"] = row.sku
    item["link"] = product.link_prefix + variant_id + product.link_suffix
    item["image_link"], additional = product.images_for(row.variant_image)
    # A copy: a caller may change one item's list without touching its siblings'.
    item["additional_image_link"] = list(additional)
    if compare_at is not None and compare_at > price:
        item["price"], item["sale_price"] = compare_at, price
    else:
        item["price"] = price
    item["currency"] = row.currency
    if units is not None:
        item["in_stock"] = units > 0
        # Untracked or "continue" variants publish as unlimited: no count is sent.
        if row.inventory_tracked and row.inventory_policy == "deny":
            item["quantity"] = int(units)
    else:
        item["in_stock"] = True
    item["condition"] = row.condition
    item["gtin"] = row.barcode
    item["mpn"] = row.mpn
    item["weight"] = row.weight
    item["weight_unit"] = row.weight_unit
    item["varying"] = varying = []
    for (name, attribute), value in zip(
        product.options, (row.option1, row.option2, row.option3), strict=False
    ):
        if value is not None and product.values:
            value = product.values.get(value, value)
        if attribute:
            item[attribute] = value
        varying.append((name, attribute, value))
    for key, value in product.extras.items():
        if not item.get(key):
            item[key] = value
    if product.link_suffix:  # a market's item: its query read the variant's attributes
        item["own_prices"] = (row.variant_attributes or {}).get("prices")
    return item
