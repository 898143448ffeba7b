"""Catalog rules: products with their variants, media and translations.

Every write goes through one path, ``_plan`` then ``_apply``: the desired state of a
product is checked as a whole (and against the database) before anything is written,
so bad input never leaves half a product behind.

Why one module of ~750 lines: create, update, bulk upsert and the Shopify import all go
through that one plan-and-apply path and the reads it is made of; the checks stay next
to the writes they guard.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session, selectinload

from mercato import events
from mercato.catalog import collections, taxonomy
from mercato.catalog.models import Media, Product, ProductTranslation, Variant
from mercato.catalog.schemas import (
    MediaInput,
    ProductChanged,
    ProductCreate,
    ProductUpdate,
    TranslationInput,
    VariantInput,
)
from mercato.catalog.text import handleize, html_to_text, is_valid_handle, safe_html
from mercato.config import get_settings
from mercato.db import insert_rows, new_id, utcnow
from mercato.errors import Conflict, FieldError, NotFound, ValidationFailed, dotted
from mercato.money import CURRENCIES
from mercato.pagination import MAX_PAGE_SIZE as MAX_PAGE_SIZE
from mercato.pagination import Page, keyset_page

Loc = tuple[str | int, ...]
LOCALE_PATTERN = re.compile(r"^[a-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*$")
T = TypeVar("T")


def _with_children(query: Select) -> Select:
    return query.options(
        selectinload(Product.variants).selectinload(Variant.image),
        selectinload(Product.media),
        selectinload(Product.translations),
    )


def store_currency() -> str:
    return get_settings().currency


# ---------------------------------------------------------------- reading


def get_product(session: Session, product_id: str) -> Product:
    product = session.scalar(_with_children(select(Product)).where(Product.id == product_id))
    if product is None:
        raise NotFound(f"No product with id {product_id!r}.")
    return product


def get_product_by_handle(session: Session, handle: str) -> Product:
    product = session.scalar(_with_children(select(Product)).where(Product.handle == handle))
    if product is None:
        raise NotFound(f"No product with handle {handle!r}.")
    return product


def find_product(session: Session, reference: str) -> Product:
    """A product by handle, id or the SKU of one of its variants."""
    product = session.scalar(
        _with_children(select(Product))
        .where(
            or_(
                Product.handle == reference,
                Product.id == reference,
                Product.id.in_(select(Variant.product_id).where(Variant.sku == reference)),
            )
        )
        .limit(1)
    )
    if product is None:
        raise NotFound(f"No product with handle, id or SKU {reference!r}.")
    return product


def get_variant(session: Session, variant_id: str) -> Variant:
    variant = session.scalar(
        select(Variant).options(selectinload(Variant.image)).where(Variant.id == variant_id)
    )
    if variant is None:
        raise NotFound(f"No variant with id {variant_id!r}.")
    return variant


def get_variant_by_sku(session: Session, sku: str) -> Variant:
    variant = session.scalar(
        select(Variant).options(selectinload(Variant.image)).where(Variant.sku == sku)
    )
    if variant is None:
        raise NotFound(f"No variant with SKU {sku!r}.")
    return variant


def find_variants_by_sku(session: Session, sku: str) -> list[Variant]:
    return list(
        session.scalars(
            select(Variant).options(selectinload(Variant.image)).where(Variant.sku == sku)
        )
    )


def skus_of(session: Session, variant_ids: Sequence[str]) -> dict[str, str | None]:
    """Variant id -> SKU, for lists that show items by SKU."""
    if not variant_ids:
        return {}
    return dict(
        session.execute(
            select(Variant.id, Variant.sku).where(Variant.id.in_(set(variant_ids)))
        ).all()
    )


@dataclass
class ProductFilters:
    status: str | None = None
    q: str | None = None
    updated_since: datetime | None = None


def list_products(
    session: Session, filters: ProductFilters, cursor: str | None = None, limit: int = 50
) -> Page[Product]:
    query = _with_children(select(Product))
    if filters.status:
        query = query.where(Product.status == filters.status)
    if filters.updated_since:
        query = query.where(Product.updated_at >= filters.updated_since)
    if filters.q:
        pattern = f"%{filters.q.strip()}%"
        query = query.where(
            or_(
                Product.title.ilike(pattern),
                Product.handle.ilike(pattern),
                Product.id.in_(select(Variant.product_id).where(Variant.sku.ilike(pattern))),
            )
        )
    return keyset_page(session, query, Product.id, cursor, limit)


def iter_products(session: Session, batch_size: int = 500) -> Iterable[Product]:
    """Every product with its children, in id order, a batch at a time (bounded memory)."""
    last_id = ""
    while True:
        batch = list(
            session.scalars(
                _with_children(select(Product))
                .where(Product.id > last_id)
                .order_by(Product.id)
                .limit(batch_size)
            )
        )
        if not batch:
            return
        yield from batch
        last_id = batch[-1].id
        session.expunge_all()


# ---------------------------------------------------------------- writing


@dataclass
class UpsertResult:
    """Ids of the products created, updated and left unchanged."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    # (old handle, new handle) of products found by SKU under a new handle.
    renamed: list[tuple[str, str]] = field(default_factory=list)
    # Handle of each product created -> its variant ids in order: they have no stock yet.
    new_variants: dict[str, list[str]] = field(default_factory=dict)

    @property
    def ids(self) -> list[str]:
        return sorted(self.created + self.updated + self.unchanged)


def create_product(session: Session, data: ProductCreate) -> Product:
    [(product_id, _)] = _insert_new(
        session, _plan(session, [data], root=(), create_only=True)
    ).values()
    session.flush()
    collections.refresh(session, [product_id])
    return get_product(session, product_id)


def update_product(session: Session, product_id: str, data: ProductUpdate) -> Product:
    product = get_product(session, product_id)
    desired = _desired_state(product, data)
    plans = _plan(session, [desired], root=(), existing={0: product})
    _apply(session, plans[0])
    session.flush()
    collections.refresh(session, [product.id])
    return product


def delete_product(session: Session, product_id: str) -> None:
    product = get_product(session, product_id)
    _record(
        session,
        "product.deleted",
        product.id,
        product.handle,
        product.status,
        [(v.id, v.sku) for v in product.variants],
    )
    session.delete(product)
    session.flush()


def _changed_payload(
    product_id: str, handle: str, status: str, variants: list[tuple[str, str | None]]
) -> ProductChanged:
    return ProductChanged(
        product_id=product_id,
        handle=handle,
        status=status,
        variant_ids=[variant_id for variant_id, _ in variants],
        skus=[sku for _, sku in variants if sku],
    )


def _record(
    session: Session,
    event_type: str,
    product_id: str,
    handle: str,
    status: str,
    variants: list[tuple[str, str | None]],
) -> None:
    events.record(
        session, event_type, _changed_payload(product_id, handle, status, variants), key=product_id
    )


def upsert_products(
    session: Session, items: Sequence[ProductCreate], root: Loc = ("products",)
) -> UpsertResult:
    """Create or update many products at once, all or nothing.

    Each item is matched to an existing product by handle, then by any of its SKUs
    (so a renamed handle updates the product rather than duplicating it).
    """
    result = UpsertResult()
    plans = _plan(session, items, root=root)
    for plan in plans:
        if plan.product is None:
            continue
        if plan.product.handle != plan.handle:
            result.renamed.append((plan.product.handle, plan.handle))
        changed = _apply(session, plan)
        (result.updated if changed else result.unchanged).append(plan.product.id)
    created = _insert_new(session, [plan for plan in plans if plan.product is None])
    result.created = [product_id for product_id, _ in created.values()]
    result.new_variants = {handle: variant_ids for handle, (_, variant_ids) in created.items()}
    session.flush()
    collections.refresh(session, result.created + result.updated)
    return result


def get_products(session: Session, ids: Sequence[str]) -> list[Product]:
    query = _with_children(select(Product)).where(Product.id.in_(ids)).order_by(Product.id)
    return list(session.scalars(query))


@dataclass
class _Plan:
    data: ProductCreate
    product: Product | None
    handle: str
    category: tuple[int, str] | None
    loc: Loc


def _desired_state(product: Product, update: ProductUpdate) -> ProductCreate:
    """The full state a partial update asks for: current values overlaid with the update."""
    current = {
        "handle": product.handle,
        "title": product.title,
        "description_html": product.description_html,
        "vendor": product.vendor,
        "product_type": product.product_type,
        "tags": product.tags,
        "status": product.status,
        "google_category": product.google_category_id,
        "options": product.options,
        "seo_title": product.seo_title,
        "seo_description": product.seo_description,
        "gender": product.gender,
        "age_group": product.age_group,
        "attributes": product.attributes,
        "translations": {
            t.locale: TranslationInput(
                title=t.title,
                description_html=t.description_html,
                options=t.options,
                option_values=t.option_values,
            )
            for t in product.translations
        },
        "media": [MediaInput(url=m.url, alt=m.alt) for m in product.media],
        "variants": [variant_input(v) for v in product.variants],
    }
    current.update({name: getattr(update, name) for name in update.model_fields_set})
    return ProductCreate.model_construct(**current)


def variant_input(v: Variant) -> VariantInput:
    return VariantInput.model_construct(
        id=v.id,
        sku=v.sku,
        option_values=v.option_values,
        price=v.price,
        compare_at_price=v.compare_at_price,
        cost=v.cost,
        currency=v.currency,
        barcode=v.barcode,
        mpn=v.mpn,
        weight=v.weight,
        weight_unit=v.weight_unit,
        condition=v.condition,
        requires_shipping=v.requires_shipping,
        taxable=v.taxable,
        inventory_policy=v.inventory_policy,
        inventory_tracked=v.inventory_tracked,
        image_url=v.image_url,
        attributes=v.attributes,
    )


def _plan(
    session: Session,
    items: Sequence[ProductCreate],
    root: Loc,
    create_only: bool = False,
    existing: dict[int, Product] | None = None,
) -> list[_Plan]:
    """Match every item to its product and check it; raise every problem found at once."""
    errors: list[FieldError] = []
    handles = [item.handle or handleize(item.title) for item in items]
    skus = {v.sku for item in items for v in item.variants if v.sku}

    by_handle = {
        p.handle: p
        for p in session.scalars(_with_children(select(Product)).where(Product.handle.in_(handles)))
    }
    owner_of_sku: dict[str, Product] = {}
    rows = (
        session.execute(select(Variant.sku, Variant.product_id).where(Variant.sku.in_(skus))).all()
        if skus
        else []
    )
    if rows:
        owners = {
            p.id: p
            for p in session.scalars(
                _with_children(select(Product)).where(Product.id.in_({pid for _, pid in rows}))
            )
        }
        owner_of_sku = {sku: owners[pid] for sku, pid in rows}

    plans: list[_Plan] = []
    seen_handles: dict[str, Loc] = {}
    seen_skus: dict[str, Loc] = {}
    for index, (item, handle) in enumerate(zip(items, handles, strict=True)):
        loc = (*root, index) if root else ()
        product = (existing or {}).get(index)
        if product is None and not create_only:
            product = by_handle.get(handle) or _single_owner(item, owner_of_sku, loc, errors)

        if not is_valid_handle(handle):
            errors.append(
                FieldError(
                    (*loc, "handle"),
                    f"{handle!r} is not a valid handle: use lowercase letters, digits and hyphens",
                )
            )
        elif handle in seen_handles:
            errors.append(
                FieldError(
                    (*loc, "handle"),
                    f"handle {handle!r} appears twice (also at {_where(seen_handles[handle])})",
                    "duplicate",
                )
            )
        else:
            seen_handles[handle] = loc
            taken = by_handle.get(handle)
            if taken is not None and taken is not product:
                errors.append(
                    FieldError(
                        (*loc, "handle"),
                        f"handle {handle!r} is already used by product {taken.id}",
                        "taken",
                    )
                )

        for v_index, variant in enumerate(item.variants):
            v_loc = (*loc, "variants", v_index, "sku")
            if not variant.sku:
                continue
            if variant.sku in seen_skus:
                errors.append(
                    FieldError(
                        v_loc,
                        f"SKU {variant.sku!r} appears twice "
                        f"(also at {_where(seen_skus[variant.sku])})",
                        "duplicate",
                    )
                )
                continue
            seen_skus[variant.sku] = v_loc
            owner = owner_of_sku.get(variant.sku)
            if owner is not None and owner is not product:
                errors.append(
                    FieldError(
                        v_loc,
                        f"SKU {variant.sku!r} is already used by product {owner.handle!r}",
                        "taken",
                    )
                )

        category = _check_product(item, loc, errors)
        plans.append(_Plan(item, product, handle, category, loc))

    if errors:
        taken = any(e.code == "taken" for e in errors) and create_only
        error_class = Conflict if taken else ValidationFailed
        noun = "product" if len(items) == 1 else "products"
        raise error_class(f"The {noun} cannot be saved: {len(errors)} problem(s).", errors)
    return plans


def _where(loc: Loc) -> str:
    return dotted(loc) or "this product"


def _single_owner(
    item: ProductCreate, owner_of_sku: dict[str, Product], loc: Loc, errors: list[FieldError]
) -> Product | None:
    owners = {
        owner_of_sku[v.sku].id: owner_of_sku[v.sku] for v in item.variants if v.sku in owner_of_sku
    }
    if len(owners) > 1:
        handles = ", ".join(sorted(p.handle for p in owners.values()))
        errors.append(
            FieldError(
                (*loc, "variants"),
                f"these SKUs belong to different products: {handles}",
                "ambiguous",
            )
        )
        return None
    return next(iter(owners.values()), None)


def _check_product(item: ProductCreate, loc: Loc, errors: list[FieldError]):
    options = item.options or []
    if len(set(o.casefold() for o in options)) != len(options):
        errors.append(FieldError((*loc, "options"), "option names must be different"))
    if not options and len(item.variants) > 1:
        errors.append(
            FieldError(
                (*loc, "options"),
                "a product with several variants needs options (e.g. Size) that tell them apart",
            )
        )
    combos: dict[tuple[str, ...], int] = {}
    for v_index, variant in enumerate(item.variants):
        v_loc = (*loc, "variants", v_index)
        if len(variant.option_values) != len(options):
            errors.append(
                FieldError(
                    (*v_loc, "option_values"),
                    f"expected {len(options)} option "
                    f"value(s) for {options or 'no options'}, got "
                    f"{len(variant.option_values)}",
                )
            )
        combo = tuple(o.casefold() for o in variant.option_values)
        if options and combo in combos:
            errors.append(
                FieldError(
                    (*v_loc, "option_values"),
                    f"variant {v_index} repeats the "
                    f"options of variant {combos[combo]}: "
                    f"{' / '.join(variant.option_values)}",
                    "duplicate",
                )
            )
        combos.setdefault(combo, v_index)
        currency = (variant.currency or store_currency()).upper()
        if currency not in CURRENCIES:
            errors.append(
                FieldError((*v_loc, "currency"), f"{currency!r} is not an ISO 4217 currency code")
            )
        if variant.weight is not None and variant.weight < 0:
            errors.append(FieldError((*v_loc, "weight"), "weight cannot be negative"))
    values = {v for variant in item.variants for v in variant.option_values}
    for locale, translation in (item.translations or {}).items():
        if not LOCALE_PATTERN.match(locale):
            errors.append(
                FieldError(
                    (*loc, "translations", locale), f"{locale!r} is not a locale (e.g. fr, pt-BR)"
                )
            )
        t_loc = (*loc, "translations", locale)
        if translation.options and len(translation.options) > len(item.options or []):
            errors.append(
                FieldError(
                    (*t_loc, "options"),
                    f"the product has {len(item.options or [])} options, "
                    f"not {len(translation.options)}",
                )
            )
        for value in translation.option_values or {}:
            if value not in values:
                errors.append(
                    FieldError(
                        (*t_loc, "option_values", value),
                        f"{value!r} is not an option value of this product",
                    )
                )
    if item.google_category in (None, ""):
        return None
    category = taxonomy.resolve(item.google_category)
    if category is None:
        errors.append(
            FieldError(
                (*loc, "google_category"),
                f"{item.google_category!r} is not a Google product category id or path",
            )
        )
    return category


def _product_values(plan: _Plan) -> dict:
    data = plan.data
    description_html = safe_html(data.description_html)
    category_id, category_path = plan.category or (None, None)
    return {
        "handle": plan.handle,
        "title": data.title,
        "description_html": description_html,
        "description_text": html_to_text(description_html),
        "vendor": data.vendor,
        "product_type": data.product_type,
        "tags": list(data.tags or []),
        "status": data.status,
        "google_category_id": category_id,
        "google_category_path": category_path,
        "options": list(data.options or []),
        "seo_title": data.seo_title,
        "seo_description": data.seo_description,
        "gender": data.gender,
        "age_group": data.age_group,
        "attributes": dict(data.attributes or {}),
    }


def _wanted_media(data: ProductCreate) -> dict[str, str | None]:
    """Media URL -> alt in the given order, then variant images not listed (as Shopify does)."""
    wanted: dict[str, str | None] = {m.url: m.alt for m in data.media or []}
    for variant in data.variants:
        if variant.image_url and variant.image_url not in wanted:
            wanted[variant.image_url] = None
    return wanted


def _variant_values(item: VariantInput, position: int, default_currency: str) -> dict:
    values = list(item.option_values) + [None] * (3 - len(item.option_values))
    return {
        "position": position,
        "sku": item.sku or None,
        "option1": values[0],
        "option2": values[1],
        "option3": values[2],
        "currency": (item.currency or default_currency).upper(),
        "price": item.price,
        "compare_at_price": item.compare_at_price,
        "cost": item.cost,
        "barcode": item.barcode or None,
        "mpn": item.mpn or None,
        "weight": item.weight,
        "weight_unit": item.weight_unit,
        "condition": item.condition,
        "requires_shipping": item.requires_shipping,
        "taxable": item.taxable,
        "inventory_policy": item.inventory_policy,
        "inventory_tracked": item.inventory_tracked,
        "attributes": dict(item.attributes or {}),
    }


def _insert_new(session: Session, plans: list[_Plan]) -> dict[str, tuple[str, list[str]]]:
    """Create products with one multi-row INSERT per table: imports create thousands.
    Returns handle -> (product id, variant ids in order), in the order given.

    The rows of products and variants (their HTML cleaned, their values gathered) and the
    events' payloads are made as they are written: on PostgreSQL the server stores the
    rows sent before while the next are made (``insert_rows``).
    """
    now, default_currency = utcnow(), store_currency()
    ids: dict[str, tuple[str, list[str]]] = {}
    media: list[dict] = []
    images: list[dict[str, str]] = []
    for plan in plans:
        product_id = new_id("prod")
        media_ids = {}
        for position, (url, alt) in enumerate(_wanted_media(plan.data).items(), start=1):
            media_ids[url] = new_id("med")
            media.append(
                {
                    "id": media_ids[url],
                    "product_id": product_id,
                    "url": url,
                    "alt": alt,
                    "position": position,
                }
            )
        images.append(media_ids)
        ids[plan.handle] = (product_id, [new_id("var") for _ in plan.data.variants])
    created = [ids[plan.handle] for plan in plans]

    products = (
        {"id": product_id, **_product_values(plan), "created_at": now, "updated_at": now}
        for plan, (product_id, _) in zip(plans, created, strict=True)
    )
    variants = (
        {
            "id": variant_id,
            "product_id": product_id,
            **_variant_values(item, position, default_currency),
            "image_id": media_ids.get(item.image_url),
            "created_at": now,
            "updated_at": now,
        }
        for plan, (product_id, variant_ids), media_ids in zip(plans, created, images, strict=True)
        for position, (item, variant_id) in enumerate(
            zip(plan.data.variants, variant_ids, strict=True), start=1
        )
    )
    translations = (
        {
            "product_id": product_id,
            "locale": locale,
            "title": t.title,
            "description_html": safe_html(t.description_html) if t.description_html else None,
            "options": t.options,
            "option_values": t.option_values,
        }
        for plan, (product_id, _) in zip(plans, created, strict=True)
        for locale, t in (plan.data.translations or {}).items()
    )
    # In this order: variants point at their product and image.
    insert_rows(session, Product.__table__, products)
    insert_rows(session, Media.__table__, media)
    insert_rows(session, Variant.__table__, variants)
    insert_rows(session, ProductTranslation.__table__, translations)
    events.record_many(
        session,
        (
            (
                "product.created",
                _changed_payload(
                    product_id,
                    plan.handle,
                    plan.data.status,
                    [
                        (variant_id, item.sku or None)
                        for variant_id, item in zip(variant_ids, plan.data.variants, strict=True)
                    ],
                ),
                product_id,
            )
            for plan, (product_id, variant_ids) in zip(plans, created, strict=True)
        ),
    )
    return ids


def _apply(session: Session, plan: _Plan) -> bool:
    """Write a checked plan onto its existing product; returns whether anything changed."""
    data, product = plan.data, plan.product
    _set(product, **_product_values(plan))
    changed = _sync_translations(product, data.translations or {})
    media_by_url, media_changed = _sync_media(product, data)
    changed |= media_changed
    changed |= _sync_variants(session, product, data.variants, media_by_url)
    changed = changed or any(
        session.is_modified(obj)
        for obj in (product, *product.variants, *product.media, *product.translations)
    )
    if changed:
        now = utcnow()
        product.updated_at = now
        for variant in product.variants:
            if session.is_modified(variant):
                variant.updated_at = now
        _record(
            session,
            "product.updated",
            product.id,
            product.handle,
            product.status,
            [(v.id, v.sku) for v in product.variants],
        )
    return changed


def _sync_translations(product: Product, wanted: dict[str, TranslationInput]) -> bool:
    current = {t.locale: t for t in product.translations}
    changed = set(current) != set(wanted)
    product.translations = [
        _set(
            current.get(locale) or ProductTranslation(locale=locale),
            title=t.title,
            description_html=safe_html(t.description_html) if t.description_html else None,
            options=t.options or None,
            option_values=t.option_values or None,
        )
        for locale, t in sorted(wanted.items())
    ]
    return changed


def _sync_media(product: Product, data: ProductCreate) -> tuple[dict[str, Media], bool]:
    wanted = _wanted_media(data)
    current = {m.url: m for m in product.media}
    changed = list(current) != list(wanted)
    product.media = [
        _set(current.get(url) or Media(id=new_id("med"), url=url), alt=alt, position=position)
        for position, (url, alt) in enumerate(wanted.items(), start=1)
    ]
    return {m.url: m for m in product.media}, changed


def _sync_variants(
    session: Session, product: Product, wanted: list[VariantInput], media_by_url: dict[str, Media]
) -> bool:
    """Match wanted variants to existing ones (id, then SKU, then options) so ids survive."""
    by_id = {v.id: v for v in product.variants}
    by_sku = {v.sku: v for v in product.variants if v.sku}
    by_options = {tuple(v.option_values): v for v in product.variants}
    used: set[str] = set()
    matches: list[Variant | None] = []
    for item in wanted:
        variant = (
            (by_id.get(item.id) if item.id else None)
            or by_sku.get(item.sku)
            or by_options.get(tuple(item.option_values))
        )
        if variant is not None and variant.id not in used:
            used.add(variant.id)
            matches.append(variant)
        else:
            matches.append(None)
    changed = len(used) != len(product.variants) or len(wanted) != len(product.variants)
    if len(used) < len(product.variants):
        # Delete removed variants first: a new variant may take over one's SKU.
        product.variants = [v for v in product.variants if v.id in used]
        session.flush()

    default_currency = store_currency()
    product.variants = [
        _set(
            match or Variant(id=new_id("var")),
            **_variant_values(item, position, default_currency),
            image=media_by_url.get(item.image_url) if item.image_url else None,
        )
        for position, (item, match) in enumerate(zip(wanted, matches, strict=True), start=1)
    ]
    return changed


def _set(obj: T, **values) -> T:
    for name, value in values.items():
        setattr(obj, name, value)
    return obj
