"""Serving: a precomputed list read from the newest ready version, with what cannot be
bought taken out (not active, sold out), then the merchant's rules applied. No model
runs here.

A product is shown when it is active and one of its variants can be sold now (stock
available, or a variant that may oversell, as the checkout's guard sees it). Rules:
"exclude" takes a product out, "boost" multiplies its score, "pin" puts it first when it
can be bought (in the order the pins were made), whether or not the model listed it.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from mercato.catalog.models import Media, Product, Variant
from mercato.customers import consent
from mercato.customers.models import Customer
from mercato.errors import FieldError, NotFound, ValidationFailed
from mercato.inventory import availability
from mercato.recommendations.models import LISTS, Recommendation, Rule, Version

# Candidates read per list, so that enough are left after stock and rule filters.
OVERFETCH = 3


@dataclass
class Shown:
    product_id: str
    handle: str
    title: str
    variant: Variant
    image: str | None
    score: float
    reason: str


def current_version():
    return (
        select(Version.id)
        .where(Version.status == "ready")
        .order_by(Version.finished_at.desc(), Version.id.desc())
        .limit(1)
        .scalar_subquery()
    )


def listed(session: Session, name: str, subject: str, limit: int) -> list[Shown]:
    """The list ``name`` for ``subject``, at most ``limit`` products that can be bought."""
    if name not in LISTS:
        raise ValidationFailed(
            "Not a list of recommendations.", [FieldError(("list",), f"one of {', '.join(LISTS)}")]
        )
    rules = session.execute(
        select(Rule.product_id, Rule.action, Rule.weight)
        .where(or_(Rule.list == "", Rule.list == name))
        .order_by(Rule.created_at, Rule.id)
    ).all()
    excluded = {r.product_id for r in rules if r.action == "exclude"} | {subject}
    boost = {r.product_id: r.weight for r in rules if r.action == "boost"}
    pins = [r.product_id for r in rules if r.action == "pin" and r.product_id not in excluded]
    rows = session.execute(
        select(Recommendation.product_id, Recommendation.score, Recommendation.reason)
        .where(
            Recommendation.version_id == current_version(),
            Recommendation.list == name,
            Recommendation.subject == subject,
        )
        .order_by(Recommendation.rank)
        .limit(limit * OVERFETCH + len(excluded))
    ).all()
    scored = {
        r.product_id: (r.score * boost.get(r.product_id, 1.0), r.reason)
        for r in rows
        if r.product_id not in excluded
    }
    for product_id in pins:
        scored[product_id] = (float("inf"), "chosen by the shop")
    order = sorted(scored, key=lambda p: (-scored[p][0], pins.index(p) if p in pins else 0))
    buyable = _buyable(session, order)
    shown = []
    for product_id in order:
        if product_id in buyable and len(shown) < limit:
            handle, title, variant, image = buyable[product_id]
            score, reason = scored[product_id]
            shown.append(Shown(product_id, handle, title, variant, image, score, reason))
    return shown


def _buyable(session: Session, product_ids: list[str]) -> dict[str, tuple]:
    """Active products among ``product_ids`` with their first variant that can be sold."""
    if not product_ids:
        return {}
    rows = session.execute(
        select(Product.id, Product.handle, Product.title, Variant)
        .join(Variant, Variant.product_id == Product.id)
        .where(Product.id.in_(product_ids), Product.status == "active")
        .order_by(Product.id, Variant.position)
    ).all()
    stock = availability.read_stock(session, variant_ids=[r.Variant.id for r in rows])
    found: dict[str, tuple] = {}
    for product_id, handle, title, variant in rows:
        level = stock.get(variant.id)
        if product_id not in found and level and (level.oversells or level.available > 0):
            found[product_id] = (handle, title, variant, None)
    images = session.execute(
        select(Media.product_id, Media.url)
        .where(Media.product_id.in_(list(found)))
        .order_by(Media.product_id, Media.position.desc())
    )
    for product_id, url in images:  # the last written is the lowest position
        handle, title, variant, _ = found[product_id]
        found[product_id] = (handle, title, variant, url)
    return found


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
