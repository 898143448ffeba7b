"""Checking what an offer names when it is made: a bundle's items and its price, the
collections and markets it is limited to. Each refusal names its field."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from mercato.catalog.models import Collection, Product, Variant
from mercato.errors import FieldError, ValidationFailed
from mercato.markets import rates
from mercato.markets.models import Market
from mercato.money import format_plain
from mercato.offers.schemas import BundleItem


def price_in(variant: Variant, currency: str, table: rates.Rates) -> int:
    """The variant's price in ``currency`` as a checkout in that currency shows it before
    any market's price list: its own price there (attributes "prices"), else converted."""
    if variant.currency == currency:
        return variant.price
    own = (variant.attributes or {}).get("prices", {}).get(currency)
    if isinstance(own, int) and own >= 0:
        return own
    return table.convert(variant.price, variant.currency, currency)


def check_bundle(
    session: Session, items: Sequence[BundleItem], price: int, currency: str | None
) -> list[FieldError]:
    """A bundle names items that exist (a variant, or a product: its cheapest variant
    counts), and costs less than they do together in the offer's currency."""
    errors: list[FieldError] = []
    if not items:
        return [FieldError(("bundle",), "a bundle needs its items")]
    if not currency:
        errors.append(FieldError(("currency",), "a bundle's price needs its currency"))
    if price <= 0:
        errors.append(FieldError(("value",), "a bundle's price is more than 0"))
    variant_ids = [i.variant_id for i in items if i.variant_id]
    product_ids = [i.product_id for i in items if i.product_id]
    variants = {
        v.id: v for v in session.scalars(select(Variant).where(Variant.id.in_(variant_ids)))
    }
    by_product: dict[str, list[Variant]] = {}
    for v in session.scalars(select(Variant).where(Variant.product_id.in_(product_ids))):
        by_product.setdefault(v.product_id, []).append(v)
    known_products = set(session.scalars(select(Product.id).where(Product.id.in_(product_ids))))
    worth: int | None = 0
    table = rates.load()
    for n, item in enumerate(items):
        if bool(item.variant_id) == bool(item.product_id):
            errors.append(FieldError(("bundle", n), "give a variant_id or a product_id"))
            worth = None
            continue
        if item.variant_id:
            found = [variants[item.variant_id]] if item.variant_id in variants else []
            if not found:
                errors.append(FieldError(("bundle", n, "variant_id"), "no such variant", "unknown"))
        else:
            found = by_product.get(item.product_id or "", [])
            if item.product_id not in known_products:
                errors.append(FieldError(("bundle", n, "product_id"), "no such product", "unknown"))
            elif not found:
                errors.append(FieldError(("bundle", n, "product_id"), "has no variants"))
        if not found or worth is None or not currency:
            worth = None
            continue
        try:
            cheapest = min(price_in(v, currency.upper(), table) for v in found)
        except ValidationFailed:
            errors.append(FieldError(("currency",), f"{currency.upper()} is not sold in"))
            worth = None
            continue
        worth += cheapest * item.quantity
    if worth is not None and currency and price > 0 and price >= worth:
        errors.append(
            FieldError(
                ("value",),
                f"the bundle's price must be below its items' price together "
                f"({format_plain(worth, currency.upper())} {currency.upper()})",
            )
        )
    return errors


def collection_ids(
    session: Session, references: Sequence[str]
) -> tuple[list[str], list[FieldError]]:
    """The collections named (by id or handle) as ids, in the order given; unknown ones
    refused by position."""
    if not references:
        return [], []
    rows = session.execute(
        select(Collection.id, Collection.handle).where(
            or_(Collection.id.in_(references), Collection.handle.in_(references))
        )
    ).all()
    by_ref = {**{h: i for i, h in rows}, **{i: i for i, _ in rows}}
    ids: list[str] = []
    errors = []
    for n, ref in enumerate(references):
        if ref not in by_ref:
            errors.append(FieldError(("collection_ids", n), "no such collection", "unknown"))
        elif by_ref[ref] not in ids:
            ids.append(by_ref[ref])
    return ids, errors


def market_codes(session: Session, codes: Sequence[str]) -> tuple[list[str], list[FieldError]]:
    """The markets named, by code (any case); unknown ones refused by position."""
    if not codes:
        return [], []
    codes = [c.strip().lower() for c in codes]
    known = set(session.scalars(select(Market.code).where(Market.code.in_(codes))))
    out: list[str] = []
    errors = []
    for n, code in enumerate(codes):
        if code not in known:
            errors.append(FieldError(("markets", n), "no such market", "unknown"))
        elif code not in out:
            out.append(code)
    return out, errors
