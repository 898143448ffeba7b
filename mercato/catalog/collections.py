"""Collections: products grouped under a title and a handle, for the shop and for offers.

A manual collection holds the products the merchant put in it, in their order. One with
rules ("product type is Shoes", "tag is summer") holds every product for which all hold,
kept up to date as products are saved (``refresh``, called by the catalog's writes).
Either way its members are rows of ``collection_products``, indexed by product: "which
collections hold these products" is one query (``of_products``), for offers that may be
scoped by collection.

Shopify's product CSV carries no collections (its import template has no such column):
collections are made here, by the API, the CLI or the dashboard.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from mercato import events
from mercato.catalog.models import Collection, CollectionProduct, Product
from mercato.catalog.schemas import CollectionCreate, CollectionMembers, CollectionUpdate
from mercato.catalog.text import handleize, is_valid_handle, safe_html
from mercato.db import insert_rows, utcnow
from mercato.errors import Conflict, FieldError, NotFound, ValidationFailed
from mercato.pagination import Page, keyset_page

CHUNK = 500


# ---------------------------------------------------------------- reading


def get_collection(session: Session, reference: str) -> Collection:
    """A collection by id or handle."""
    found = session.scalar(
        select(Collection).where(or_(Collection.id == reference, Collection.handle == reference))
    )
    if found is None:
        raise NotFound(f"No collection with id or handle {reference!r}.")
    return found


def list_collections(
    session: Session,
    product_id: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> Page[Collection]:
    """Collections in id order; with ``product_id``, those that hold that product."""
    query = select(Collection)
    if product_id:
        query = query.where(
            Collection.id.in_(
                select(CollectionProduct.collection_id).where(
                    CollectionProduct.product_id == product_id
                )
            )
        )
    return keyset_page(session, query, Collection.id, cursor, limit)


def counts(session: Session, collection_ids: Sequence[str]) -> dict[str, int]:
    """Collection id -> how many products it holds."""
    if not collection_ids:
        return {}
    return dict(
        session.execute(
            select(CollectionProduct.collection_id, func.count())
            .where(CollectionProduct.collection_id.in_(collection_ids))
            .group_by(CollectionProduct.collection_id)
        ).all()
    )


def of_products(session: Session, product_ids: Sequence[str]) -> dict[str, list[str]]:
    """Product id -> the ids of the collections that hold it (one indexed query)."""
    out: dict[str, list[str]] = {p: [] for p in product_ids}
    for start in range(0, len(product_ids), CHUNK):
        rows = session.execute(
            select(CollectionProduct.product_id, CollectionProduct.collection_id)
            .where(CollectionProduct.product_id.in_(product_ids[start : start + CHUNK]))
            .order_by(CollectionProduct.product_id, CollectionProduct.collection_id)
        )
        for product_id, collection_id in rows:
            out[product_id].append(collection_id)
    return out


def members(
    session: Session, reference: str, cursor: str | None = None, limit: int = 50
) -> Page[Product]:
    """The collection's products in id order (a page at a time)."""
    collection = get_collection(session, reference)
    query = select(Product).join(
        CollectionProduct,
        (CollectionProduct.product_id == Product.id)
        & (CollectionProduct.collection_id == collection.id),
    )
    return keyset_page(session, query, Product.id, cursor, limit)


def shown_products(session: Session, collection: Collection, limit: int = 250) -> list[Product]:
    """The collection's first products in its order (the dashboard's and shop's list)."""
    return list(
        session.scalars(
            select(Product)
            .join(CollectionProduct, CollectionProduct.product_id == Product.id)
            .where(CollectionProduct.collection_id == collection.id)
            .order_by(CollectionProduct.position, Product.id)
            .limit(limit)
        )
    )


def positions(session: Session, collection_id: str, product_ids: Iterable[str]) -> dict:
    ids = list(product_ids)
    return dict(
        session.execute(
            select(CollectionProduct.product_id, CollectionProduct.position).where(
                CollectionProduct.collection_id == collection_id,
                CollectionProduct.product_id.in_(ids),
            )
        ).all()
    )


# ---------------------------------------------------------------- writing


def create_collection(session: Session, data: CollectionCreate) -> Collection:
    handle = data.handle or handleize(data.title)
    errors = _check(session, handle, None, data.rules, data.product_ids)
    if errors:
        _refuse(errors)
    now = utcnow()
    collection = Collection(
        handle=handle,
        title=data.title,
        description_html=safe_html(data.description_html),
        rules=[r.model_dump() for r in data.rules],
        created_at=now,
        updated_at=now,
    )
    session.add(collection)
    session.flush()
    if collection.rules:
        refresh(session, None, [collection])
    else:
        _append(session, collection.id, data.product_ids)
    _record(session, "collection.created", collection)
    return collection


def update_collection(session: Session, reference: str, data: CollectionUpdate) -> Collection:
    collection = get_collection(session, reference)
    fields = data.model_fields_set
    handle = data.handle if "handle" in fields and data.handle else collection.handle
    rules = data.rules if "rules" in fields and data.rules is not None else None
    errors = _check(session, handle, collection, rules or [], [])
    if errors:
        _refuse(errors)
    collection.handle = handle
    if data.title is not None:
        collection.title = data.title
    if data.description_html is not None:
        collection.description_html = safe_html(data.description_html)
    if rules is not None:
        # Rules taken away: the products it holds stay, as a manual list.
        collection.rules = [r.model_dump() for r in rules]
        if collection.rules:
            refresh(session, None, [collection])
    collection.updated_at = utcnow()
    _record(session, "collection.updated", collection)
    session.flush()
    return collection


def delete_collection(session: Session, reference: str) -> None:
    collection = get_collection(session, reference)
    _record(session, "collection.deleted", collection)
    session.delete(collection)
    session.flush()


def add_products(session: Session, reference: str, data: CollectionMembers) -> Collection:
    """Add products last to a manual collection (those already in it stay where they are)."""
    collection = get_collection(session, reference)
    if collection.automatic:
        _refuse(
            [
                FieldError(
                    ("product_ids",),
                    "this collection picks its products by its rules; change the rules instead",
                )
            ]
        )
    errors = _unknown_products(session, data.product_ids)
    if errors:
        _refuse(errors)
    _append(session, collection.id, data.product_ids)
    collection.updated_at = utcnow()
    _record(session, "collection.updated", collection)
    return collection


def remove_product(session: Session, reference: str, product_id: str) -> None:
    collection = get_collection(session, reference)
    if collection.automatic:
        _refuse(
            [
                FieldError(
                    ("product_id",),
                    "this collection picks its products by its rules; change the rules instead",
                )
            ]
        )
    removed = session.execute(
        delete(CollectionProduct).where(
            CollectionProduct.collection_id == collection.id,
            CollectionProduct.product_id == product_id,
        )
    ).rowcount
    if not removed:
        raise NotFound(f"Product {product_id!r} is not in collection {collection.handle!r}.")
    collection.updated_at = utcnow()
    _record(session, "collection.updated", collection)


def move_product(session: Session, reference: str, product_id: str, position: int) -> None:
    """Put a product of a manual collection at ``position`` (1 is first)."""
    collection = get_collection(session, reference)
    rows = list(
        session.scalars(
            select(CollectionProduct)
            .where(CollectionProduct.collection_id == collection.id)
            .order_by(CollectionProduct.position, CollectionProduct.product_id)
        )
    )
    moving = next((r for r in rows if r.product_id == product_id), None)
    if moving is None:
        raise NotFound(f"Product {product_id!r} is not in collection {collection.handle!r}.")
    rows.remove(moving)
    rows.insert(max(0, min(position - 1, len(rows))), moving)
    for index, row in enumerate(rows, start=1):
        row.position = index
    collection.updated_at = utcnow()
    _record(session, "collection.updated", collection)


def set_product_collections(
    session: Session, product_id: str, collection_ids: Sequence[str]
) -> tuple[int, int]:
    """The product in exactly the manual collections of ``collection_ids`` (those with
    rules pick it themselves); returns (added to, removed from)."""
    if session.get(Product, product_id) is None:
        raise NotFound(f"No product with id {product_id!r}.")
    manual = {c.id: c for c in session.scalars(select(Collection)) if not c.rules}
    wrong = [c for c in collection_ids if c not in manual]
    if wrong:
        _refuse([FieldError(("collection_ids",), f"{c!r} is no manual collection") for c in wrong])
    held = {
        c
        for c in session.scalars(
            select(CollectionProduct.collection_id).where(
                CollectionProduct.product_id == product_id
            )
        )
        if c in manual
    }
    wanted = set(collection_ids)
    for collection_id in sorted(wanted - held):
        _append(session, collection_id, [product_id])
    gone = held - wanted
    if gone:
        session.execute(
            delete(CollectionProduct).where(
                CollectionProduct.product_id == product_id,
                CollectionProduct.collection_id.in_(gone),
            )
        )
    now = utcnow()
    for collection_id in sorted((wanted - held) | gone):
        manual[collection_id].updated_at = now
        _record(session, "collection.updated", manual[collection_id])
    return len(wanted - held), len(gone)


def refresh(
    session: Session,
    product_ids: Sequence[str] | None,
    collections: Sequence[Collection] | None = None,
) -> None:
    """Bring the members of collections with rules up to date for ``product_ids`` (None:
    every product), in the caller's transaction. Called by every catalog write."""
    if collections is None:
        collections = [c for c in session.scalars(select(Collection)) if c.rules]
    if not collections or (product_ids is not None and not product_ids):
        return
    query = select(Product.id, Product.product_type, Product.vendor, Product.tags)
    if product_ids is None:
        product_ids = list(session.scalars(select(Product.id).order_by(Product.id)))
    ids = list(dict.fromkeys(product_ids))
    for start in range(0, len(ids), CHUNK):
        products = list(session.execute(query.where(Product.id.in_(ids[start : start + CHUNK]))))
        for collection in collections:
            wanted = [p.id for p in products if matches(collection.rules, p)]
            held = set(positions(session, collection.id, [p.id for p in products]))
            gone = [p.id for p in products if p.id in held and p.id not in set(wanted)]
            if gone:
                session.execute(
                    delete(CollectionProduct).where(
                        CollectionProduct.collection_id == collection.id,
                        CollectionProduct.product_id.in_(gone),
                    )
                )
            _append(session, collection.id, [p for p in wanted if p not in held])


def matches(rules: list[dict], product) -> bool:
    """Whether every rule holds for ``product`` (case does not matter)."""
    for rule in rules:
        wanted = rule["value"].casefold()
        if rule["field"] == "tag":
            if wanted not in {t.casefold() for t in product.tags or []}:
                return False
        elif (getattr(product, rule["field"]) or "").casefold() != wanted:
            return False
    return True


def _append(session: Session, collection_id: str, product_ids: Sequence[str]) -> None:
    have = positions(session, collection_id, product_ids) if product_ids else {}
    new = [p for p in dict.fromkeys(product_ids) if p not in have]
    if not new:
        return
    last = session.scalar(
        select(func.coalesce(func.max(CollectionProduct.position), 0)).where(
            CollectionProduct.collection_id == collection_id
        )
    )
    insert_rows(
        session,
        CollectionProduct.__table__,
        (
            {"collection_id": collection_id, "product_id": product_id, "position": last + n}
            for n, product_id in enumerate(new, start=1)
        ),
    )


def _check(
    session: Session,
    handle: str,
    collection: Collection | None,
    rules: Sequence,
    product_ids: Sequence[str],
) -> list[FieldError]:
    errors = []
    if not is_valid_handle(handle):
        errors.append(
            FieldError(
                ("handle",),
                f"{handle!r} is not a valid handle: use lowercase letters, digits and hyphens",
            )
        )
    else:
        taken = session.scalar(select(Collection).where(Collection.handle == handle))
        if taken is not None and taken is not collection:
            errors.append(
                FieldError(
                    ("handle",), f"handle {handle!r} is already used by a collection", "taken"
                )
            )
    if rules and product_ids:
        errors.append(
            FieldError(
                ("product_ids",),
                "a collection with rules picks its own products: give rules or products",
            )
        )
    errors += _unknown_products(session, product_ids)
    return errors


def _unknown_products(session: Session, product_ids: Sequence[str]) -> list[FieldError]:
    wanted = list(dict.fromkeys(product_ids))
    found: set[str] = set()
    for start in range(0, len(wanted), CHUNK):
        found.update(
            session.scalars(select(Product.id).where(Product.id.in_(wanted[start : start + CHUNK])))
        )
    return [
        FieldError(("product_ids", index), f"no product {product_id!r}")
        for index, product_id in enumerate(product_ids)
        if product_id not in found
    ]


def _refuse(errors: list[FieldError]) -> None:
    error_class = Conflict if any(e.code == "taken" for e in errors) else ValidationFailed
    raise error_class(f"The collection cannot be saved: {len(errors)} problem(s).", errors)


def _record(session: Session, event_type: str, collection: Collection) -> None:
    events.record(
        session,
        event_type,
        {"collection_id": collection.id, "handle": collection.handle, "title": collection.title},
        collection.id,
    )
