"""A code's own page, to print or keep on a phone: the offer's title, its terms in words,
its validity in the store's time zone, the code in large type and its QR. Its address
carries a signature of the code (``page_key``), so a single-use code's page cannot be
found by trying addresses; the merchant hands it out with the code (the codes' CSV lists
it). A batch of bulk codes prints as sheets of ``SHEET_SIZE`` codes at a time."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mercato.catalog.models import Collection, Product, Variant
from mercato.config import get_settings
from mercato.crypto import derived_key
from mercato.errors import NotFound
from mercato.money import format_plain
from mercato.offers import combining, rules
from mercato.offers.models import Offer, OfferCode

CONTEXT = b"offer-code-page"
KEY_LENGTH = 32  # hex characters: 128 bits
SHEET_SIZE = 60  # codes on one printable sheet (a page of the dashboard)


def page_key(code: str, key: bytes | None = None) -> str:
    message = rules.normalize(code).encode()
    return hmac.new(key or derived_key(CONTEXT), message, hashlib.sha256).hexdigest()[:KEY_LENGTH]


def page_path(code: str, key: bytes | None = None) -> str:
    normal = rules.normalize(code)
    return f"/shop/codes/{normal}/{page_key(normal, key)}"


def page_url(code: str) -> str:
    return get_settings().base_url.rstrip("/") + page_path(code)


def page_urls() -> Callable[[str], str]:
    """``page_url`` for many codes (an export): the key derived once."""
    key, base = derived_key(CONTEXT), get_settings().base_url.rstrip("/")
    return lambda code: base + page_path(code, key)


def by_page_key(session: Session, code: str, key: str) -> tuple[Offer, OfferCode]:
    """The code and its offer if ``key`` is its page's; else not found (the same answer
    for a wrong key and an unknown code)."""
    normal = rules.normalize(code)
    if not hmac.compare_digest(page_key(normal), key or ""):
        raise NotFound("No such code page.")
    row = session.execute(
        select(Offer, OfferCode)
        .join(OfferCode, OfferCode.offer_id == Offer.id)
        .where(OfferCode.code == normal)
    ).first()
    if row is None:
        raise NotFound("No such code page.")
    return row[0], row[1]


@dataclass(frozen=True)
class Shown:
    """The offer as its code's page says it."""

    title: str
    headline: str
    terms: list[str]
    starts: str | None
    ends: str | None
    zone: str


def _when(value: datetime | None, zone: ZoneInfo) -> str | None:
    if value is None:
        return None
    local = value.astimezone(zone)
    return local.strftime("%-d %B %Y, %H:%M ") + (local.tzname() or "")


def _money(minor: int, currency: str | None) -> str:
    return f"{format_plain(minor, currency)} {currency}" if currency else str(minor)


def _names(session: Session, model, ids, label) -> list[str]:
    if not ids:
        return []
    found = dict(session.execute(select(model.id, label).where(model.id.in_(list(ids)))).all())
    return [found.get(i) or i for i in ids]


def shown(session: Session, offer: Offer, code: OfferCode) -> Shown:
    zone = ZoneInfo(get_settings().timezone)
    headline = {
        "percentage": f"{offer.value}% off",
        "fixed": f"{_money(offer.value, offer.currency)} off",
        "free_shipping": "Free shipping",
        "buy_x_get_y": (
            f"Buy {offer.buy_quantity}, get {offer.get_quantity} free"
            if offer.value == 100
            else f"Buy {offer.buy_quantity}, get {offer.get_quantity} at {offer.value}% off"
        ),
        "tiered": "Spend more, save more",
        "bundle": f"The bundle for {_money(offer.value, offer.currency)}",
    }.get(offer.kind, offer.kind)
    terms: list[str] = []
    if offer.kind == "tiered":
        for tier in offer.tiers:
            off = (
                f"{tier['percentage']}% off"
                if "percentage" in tier
                else f"{_money(int(tier['amount']), offer.currency)} off"
            )
            terms.append(f"From {_money(int(tier['min_subtotal']), offer.currency)}: {off}")
    if offer.kind == "bundle":
        wanted = [i["variant_id"] for i in offer.bundle if "variant_id" in i]
        variants = {
            vid: " ".join(filter(None, (title, o1, o2, o3)))
            for vid, title, o1, o2, o3 in session.execute(
                select(Variant.id, Product.title, Variant.option1, Variant.option2, Variant.option3)
                .join(Product, Product.id == Variant.product_id)
                .where(Variant.id.in_(wanted))
            )
        }
        products = dict(
            session.execute(
                select(Product.id, Product.title).where(
                    Product.id.in_([i["product_id"] for i in offer.bundle if "product_id" in i])
                )
            ).all()
        )
        items = [
            f"{i.get('quantity', 1)} × "
            + (variants.get(i.get("variant_id")) or products.get(i.get("product_id")) or "?")
            for i in offer.bundle
        ]
        terms.append("Together: " + ", ".join(items))
    scope = _names(session, Product, offer.product_ids, Product.title) + _names(
        session, Collection, offer.collection_ids, Collection.title
    )
    if offer.variant_ids:
        scope.append(f"{len(offer.variant_ids)} selected variants")
    if scope:
        terms.append("On " + ", ".join(scope))
    if offer.min_subtotal:
        terms.append(f"Minimum spend {_money(offer.min_subtotal, offer.currency)}")
    if offer.first_order_only:
        terms.append("First order only")
    if offer.segment_id:
        terms.append("For selected customers")
    if offer.markets:
        terms.append("In " + ", ".join(m.upper() for m in offer.markets))
    if offer.channels:
        where = {"storefront": "online", "inbox": "in chat", "pos": "in store", "import": ""}
        terms.append(
            "Redeemable " + ", ".join(filter(None, (where.get(c, c) for c in offer.channels)))
        )
    if code.max_uses == 1:
        terms.append("One use")
    elif code.max_uses:
        terms.append(f"Up to {code.max_uses} uses")
    if offer.per_customer:
        terms.append(f"Up to {offer.per_customer} per customer")
    terms.append(combines_text(offer))
    return Shown(
        title=offer.name,
        headline=headline,
        terms=terms,
        starts=_when(offer.starts_at, zone),
        ends=_when(offer.ends_at, zone),
        zone=str(zone),
    )


def combines_text(offer: Offer) -> str:
    """Which other codes this one goes with, as the buyer reads it."""
    allowed = [c for c in combining.CLASSES if combining.combines_with(offer, c)]
    if not allowed:
        return "Not combinable with other codes"
    if len(allowed) == len(combining.CLASSES):
        return "Combinable with other product, order and shipping codes"
    return "Combinable only with " + " and ".join(allowed) + " codes"


def sheet(
    session: Session, offer_id: str, batch: str | None, page: int
) -> tuple[list[OfferCode], int]:
    """One sheet of the offer's codes (a batch's, else all), ``SHEET_SIZE`` at a time in
    code order; and how many sheets there are."""
    where = [OfferCode.offer_id == offer_id]
    if batch:
        where.append(OfferCode.batch == batch)
    total = session.scalar(select(func.count()).select_from(OfferCode).where(*where)) or 0
    codes = list(
        session.scalars(
            select(OfferCode)
            .where(*where)
            .order_by(OfferCode.code)
            .offset((page - 1) * SHEET_SIZE)
            .limit(SHEET_SIZE)
        )
    )
    return codes, max(1, -(-total // SHEET_SIZE))
