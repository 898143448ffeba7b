"""Serving: a precomputed list read from the newest ready version, with what cannot be
bought taken out (not active, sold out), then the merchant's rules applied. No model
runs here, and the whole list is one statement (``LISTED``).

A product is shown when it is active and one of its variants can be sold now: units on
hand not reserved, or a variant that may oversell (untracked, or "continue"). Units
still held by lapsed holds count again once the sweep frees them (within a minute).
Rules: "exclude" takes a product out, "boost" multiplies its score, "pin" puts it first
when it can be bought (pins in the order they were made), whether or not the model
listed it.

``bench/recommendations.py``, Instacart sample as a shop (14k products, 15k orders), 2-core
machine under load: the product page's row adds 0.4-0.5 ms median on SQLite and 1.6 ms
on PostgreSQL (four ORM queries before: 5.9 and 7.9 ms).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Float, bindparam, cast, exists, func, literal, null, or_, select, union_all
from sqlalchemy.orm import Session

from mercato.catalog.models import Media, Product, Variant
from mercato.customers import consent
from mercato.customers.models import Customer
from mercato.db import UTCDateTime
from mercato.errors import FieldError, NotFound, ValidationFailed
from mercato.inventory.models import StockLevel
from mercato.recommendations.models import LISTS, Recommendation, Rule, Version

# Candidates read per list, so that enough are left after stock and rule filters.
OVERFETCH = 3
PINNED = 1e300  # a pin's score: above anything a model gives


@dataclass
class Shown:
    product_id: str
    handle: str
    title: str
    variant: Offer
    image: str | None
    score: float
    reason: str


@dataclass(frozen=True)
class Offer:
    """The variant a recommendation sells: what ``checkout.unit_price`` prices."""

    id: str
    sku: str | None
    price: int
    currency: str
    attributes: dict


def current_version():
    return (
        select(Version.id)
        .where(Version.status == "ready")
        .order_by(Version.finished_at.desc(), Version.id.desc())
        .limit(1)
        .scalar_subquery()
    )


def _for_list(name):
    return or_(Rule.list == "", Rule.list == name)


_LIST, _SUBJECT, _LIMIT = bindparam("list"), bindparam("subject"), bindparam("limit")
_MODEL = (
    select(
        Recommendation.product_id,
        Recommendation.score,
        Recommendation.reason,
        Recommendation.rank,
        cast(null(), UTCDateTime()).label("pinned_at"),
    )
    .where(
        Recommendation.version_id == current_version(),
        Recommendation.list == _LIST,
        Recommendation.subject == _SUBJECT,
    )
    .order_by(Recommendation.rank)
    .limit(_LIMIT)
    .subquery()
)
_PINS = select(
    Rule.product_id,
    literal(PINNED, Float).label("score"),
    literal("chosen by the shop").label("reason"),
    literal(0).label("rank"),
    Rule.created_at.label("pinned_at"),
).where(Rule.action == "pin", _for_list(_LIST))
_CANDIDATES = union_all(select(_MODEL), _PINS).subquery()
_AVAILABLE = (  # units free now (held units of lapsed holds count once swept)
    select(func.coalesce(func.sum(StockLevel.on_hand - StockLevel.reserved), 0))
    .where(StockLevel.variant_id == Variant.id)
    .correlate(Variant)
    .scalar_subquery()
)
_IMAGE = (
    select(Media.url)
    .where(Media.product_id == Product.id)
    .order_by(Media.position)
    .limit(1)
    .correlate(Product)
    .scalar_subquery()
)
_BOOST = (
    select(func.max(Rule.weight))
    .where(Rule.product_id == Product.id, Rule.action == "boost", _for_list(_LIST))
    .correlate(Product)
    .scalar_subquery()
)
_EXCLUDED = exists(
    select(Rule.id).where(Rule.product_id == Product.id, Rule.action == "exclude", _for_list(_LIST))
).correlate(Product)
# One statement: the list's entries and the pins, those that can be bought now, with
# what a page shows of them; ordered by product then variant position.
LISTED = (
    select(
        _CANDIDATES.c.product_id,
        _CANDIDATES.c.score,
        _CANDIDATES.c.reason,
        _CANDIDATES.c.pinned_at,
        Product.handle,
        Product.title,
        Variant.id,
        Variant.sku,
        Variant.price,
        Variant.currency,
        Variant.attributes,
        _IMAGE,
        _BOOST,
    )
    .join(Product, Product.id == _CANDIDATES.c.product_id)
    .join(Variant, Variant.product_id == Product.id)
    .where(
        Product.status == "active",
        Product.id != _SUBJECT,
        ~_EXCLUDED,
        or_(
            Variant.inventory_policy == "continue",
            Variant.inventory_tracked.is_(False),
            _AVAILABLE > 0,
        ),
    )
    .order_by(_CANDIDATES.c.product_id, _CANDIDATES.c.rank, Variant.position)
)


def listed(session: Session, name: str, subject: str, limit: int) -> list[Shown]:
    """The list ``name`` for ``subject``, at most ``limit`` products that can be bought."""
    if name not in LISTS:
        raise ValidationFailed(
            "Not a list of recommendations.", [FieldError(("list",), f"one of {', '.join(LISTS)}")]
        )
    rows = session.execute(
        LISTED, {"list": name, "subject": subject, "limit": limit * OVERFETCH}
    ).all()
    found: dict[str, Shown] = {}
    pinned: dict[str, str] = {}
    for pid, score, reason, pinned_at, handle, title, *variant, image, boost in rows:
        if pid not in found:  # its first variant that can be sold
            vid, sku, price, currency, attributes = variant
            offer = Offer(vid, sku, price, currency, attributes or {})
            found[pid] = Shown(pid, handle, title, offer, image, score * (boost or 1.0), reason)
        if pinned_at is not None:
            pinned[pid] = min(pinned.get(pid, pinned_at), pinned_at)
    first = {p: k for k, p in enumerate(sorted(pinned, key=pinned.__getitem__))}
    order = sorted(
        found.values(), key=lambda s: (-s.score, first.get(s.product_id, 0), s.product_id)
    )
    return order[:limit]


def for_product(
    session: Session, product_id: str, limit: int = 4, name: str | None = None
) -> tuple[str, list[Shown]]:
    """What a product page shows: often bought with it, else similar products (or the
    list ``name``)."""
    if session.get(Product, product_id) is None:
        raise NotFound(f"No product {product_id!r}.")
    if name is not None:
        return name, listed(session, name, product_id, limit)
    together = listed(session, "fbt", product_id, limit)
    if together:
        return "fbt", together
    return "similar", listed(session, "similar", product_id, limit)


# What a product page's row can show; an A/B experiment (experiments.py) compares
# two of them on live traffic. "together" is what the page shows outside experiments.
STRATEGIES = {
    "together": "often bought with it, else similar",
    "similar": "similar products",
    "popular": "the shop's best sellers",
    "none": "no row (a holdout)",
}


def for_strategy(
    session: Session, product_id: str, strategy: str, limit: int = 4
) -> tuple[str, list[Shown]]:
    """The product page's row filled as ``strategy`` says (the list's name says which)."""
    if strategy == "similar":
        return for_product(session, product_id, limit, name="similar")
    if strategy == "popular":
        if session.get(Product, product_id) is None:
            raise NotFound(f"No product {product_id!r}.")
        best = listed(session, "popular", "", limit + 1)
        return "popular", [s for s in best if s.product_id != product_id][:limit]
    if strategy == "none":
        return "none", []
    return for_product(session, product_id, limit)


# A cart's "complete the look" reads the lists of its first few products only.
CART_PRODUCTS = 3


def with_products(session: Session, product_ids: list[str], limit: int = 4) -> list[Shown]:
    """What goes with a cart or an order: often bought with its first products, less
    what it already holds, the most confident first."""
    merged: dict[str, Shown] = {}
    for product_id in dict.fromkeys(product_ids[:CART_PRODUCTS]):
        for shown in listed(session, "fbt", product_id, limit):
            if shown.product_id not in product_ids and (
                shown.product_id not in merged or merged[shown.product_id].score < shown.score
            ):
                merged[shown.product_id] = shown
    return sorted(merged.values(), key=lambda s: (-s.score, s.product_id))[:limit]


def for_customer(
    session: Session, customer_id: str | None, channel: str = "", limit: int = 10
) -> tuple[str, list[Shown]]:
    """A buyer's own list when they agreed to personalisation, else what sells on their
    channel, else what sells."""
    customer = session.get(Customer, customer_id) if customer_id else None
    if customer_id and customer is None:
        raise NotFound(f"No customer {customer_id!r}.")
    if customer is not None and consent.allows(
        session, customer.id, consent.Need("personalisation")
    ):
        mine = listed(session, "personal", customer.profile_id, limit)
        if mine:
            return "personal", mine
    if channel:
        on_channel = listed(session, "popular", f"channel:{channel}", limit)
        if on_channel:
            return "popular", on_channel
    return "popular", listed(session, "popular", "", limit)
