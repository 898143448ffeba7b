"""Making offers and their codes: one public code, or many single-use ones generated in
one batched insert and exported as CSV; listing and changing offers."""

from __future__ import annotations

import csv
import io
import re
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mercato.config import get_settings
from mercato.db import insert_rows, new_id, utcnow
from mercato.errors import FieldError, NotFound, ValidationFailed
from mercato.offers import combining, pages, rules, scopes
from mercato.offers.models import Offer, OfferCode, Redemption
from mercato.offers.schemas import CODE_PATTERN, CodesCreate, OfferCreate, OfferUpdate
from mercato.segments.models import Segment

# No 0/O, 1/I/L: codes read aloud at a till or typed from a flyer.
ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 10
BATCH_ROWS = 10_000


def store_time(value: datetime | None) -> datetime | None:
    """A time as the merchant typed it: without an offset it is the store's local time
    (settings ``timezone``), stored in UTC."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=ZoneInfo(get_settings().timezone))
    return value.astimezone(UTC)


def _check(session: Session, data: OfferCreate) -> list[FieldError]:
    errors = []
    if data.kind == "bundle":
        errors += scopes.check_bundle(session, data.bundle, data.value, data.currency)
        for name in ("product_ids", "variant_ids", "collection_ids"):
            if getattr(data, name):
                errors.append(FieldError((name,), "a bundle applies to its own items only"))
    elif data.bundle:
        errors.append(FieldError(("bundle",), "only a bundle offer has bundle items"))
    if data.kind in ("percentage", "buy_x_get_y") and not 1 <= data.value <= 100:
        errors.append(FieldError(("value",), "a percentage is between 1 and 100"))
    if data.kind == "fixed" and data.value <= 0:
        errors.append(FieldError(("value",), "a fixed amount is more than 0"))
    if data.kind == "fixed" and not data.currency:
        errors.append(FieldError(("currency",), "a fixed discount needs its currency"))
    if data.kind == "tiered":
        if not data.tiers:
            errors.append(FieldError(("tiers",), "a tiered offer needs at least one tier"))
        for i, tier in enumerate(data.tiers):
            if (tier.percentage is None) == (tier.amount is None):
                errors.append(FieldError(("tiers", i), "give a percentage or an amount"))
            if tier.amount is not None and not data.currency:
                errors.append(FieldError(("currency",), "tier amounts need their currency"))
    if data.kind == "buy_x_get_y" and not (data.buy_quantity and data.get_quantity):
        errors.append(FieldError(("buy_quantity",), "say how many to buy and how many to get"))
    starts, ends = store_time(data.starts_at), store_time(data.ends_at)
    if starts and ends and ends <= starts:
        errors.append(FieldError(("ends_at",), "ends after it starts"))
    if data.segment_id and session.get(Segment, data.segment_id) is None:
        errors.append(FieldError(("segment_id",), "no such segment"))
    if data.code and session.get(OfferCode, rules.normalize(data.code)) is not None:
        errors.append(FieldError(("code",), "already exists", "taken"))
    return errors


def create_offer(session: Session, data: OfferCreate) -> Offer:
    errors = _check(session, data)
    collection_ids, wrong = scopes.collection_ids(session, data.collection_ids)
    errors += wrong
    markets, wrong = scopes.market_codes(session, data.markets)
    errors += wrong
    if errors:
        raise ValidationFailed("The offer cannot be created.", errors)
    offer = Offer(
        id=new_id("off"),
        name=data.name,
        kind=data.kind,
        value=data.value if data.kind not in ("free_shipping", "tiered") else 0,
        currency=data.currency.upper() if data.currency else None,
        tiers=[t.model_dump(exclude_none=True) for t in data.tiers],
        bundle=[i.model_dump(exclude_none=True) for i in data.bundle],
        buy_quantity=data.buy_quantity,
        get_quantity=data.get_quantity,
        product_ids=list(data.product_ids),
        variant_ids=list(data.variant_ids),
        collection_ids=collection_ids,
        channels=list(data.channels),
        markets=markets,
        segment_id=data.segment_id,
        first_order_only=data.first_order_only,
        min_subtotal=data.min_subtotal,
        **{k: bool(v) for k, v in combines(data).items()},
        starts_at=store_time(data.starts_at),
        ends_at=store_time(data.ends_at),
        active=True,
        max_uses=data.max_uses,
        used=0,
        per_customer=data.per_customer,
        creator_id=data.creator_id,
        note=data.note,
        created_at=utcnow(),
    )
    session.add(offer)
    if data.code:
        session.add(
            OfferCode(
                code=rules.normalize(data.code),
                offer_id=offer.id,
                max_uses=data.code_max_uses,
                used=0,
            )
        )
    session.flush()
    return offer


def get_offer(session: Session, offer_id: str) -> Offer:
    found = session.get(Offer, offer_id)
    if found is None:
        raise NotFound(f"No offer {offer_id!r}.")
    return found


def list_offers(session: Session) -> list[Offer]:
    return list(session.scalars(select(Offer).order_by(Offer.created_at.desc(), Offer.id)))


def update_offer(session: Session, offer_id: str, data: OfferUpdate) -> Offer:
    """Change what is given (null clears an end, a cap, a minimum or the note); a refusal
    names its field and changes nothing."""
    offer = get_offer(session, offer_id)
    fields = data.model_fields_set
    errors = []
    starts = store_time(data.starts_at) if "starts_at" in fields else offer.starts_at
    ends = store_time(data.ends_at) if "ends_at" in fields else offer.ends_at
    if starts and ends and ends <= starts:
        errors.append(FieldError(("ends_at",), "ends after it starts"))
    if "max_uses" in fields and data.max_uses is not None and data.max_uses < offer.used:
        errors.append(FieldError(("max_uses",), f"at least {offer.used}"))
    if errors:
        detail = (
            "The cap cannot be lower than the uses already made."
            if [e.loc for e in errors] == [("max_uses",)]
            else "The offer cannot be changed."
        )
        raise ValidationFailed(detail, errors)
    for name in ("name", "active", "first_order_only"):
        if getattr(data, name) is not None:  # null: left as it is (none may be empty)
            setattr(offer, name, getattr(data, name))
    offer.starts_at, offer.ends_at = starts, ends
    for name in ("max_uses", "per_customer", "min_subtotal", "note"):
        if name in fields:
            setattr(offer, name, getattr(data, name))
    if "channels" in fields:
        offer.channels = list(data.channels or [])
    for name, value in combines(data).items():
        if value is not None:
            setattr(offer, name, value)
    return offer


def combines(data: OfferCreate | OfferUpdate) -> dict[str, bool | None]:
    """The combines_with_* flags: each as given, else as the ``combinable`` shorthand
    says (all or none); None: not given (a change leaves it as it is)."""
    if data.combinable is not None:
        base: dict[str, bool | None] = dict(combining.flags(data.combinable))
    else:
        base = {f"combines_with_{c}": None for c in combining.CLASSES}
    for name in base:
        if (given := getattr(data, name)) is not None:
            base[name] = given
    return base


def codes_of(session: Session, offer_id: str, limit: int = 100) -> list[OfferCode]:
    return list(
        session.scalars(
            select(OfferCode)
            .where(OfferCode.offer_id == offer_id)
            .order_by(OfferCode.code)
            .limit(limit)
        )
    )


def code(session: Session, code: str) -> OfferCode:
    found = session.get(OfferCode, rules.normalize(code))
    if found is None:
        raise NotFound(f"No code {code!r}.")
    return found


def code_count(session: Session, offer_id: str) -> int:
    return (
        session.scalar(
            select(func.count()).select_from(OfferCode).where(OfferCode.offer_id == offer_id)
        )
        or 0
    )


def add_code(session: Session, offer_id: str, code: str, max_uses: int | None = None) -> OfferCode:
    get_offer(session, offer_id)
    normal = rules.normalize(code)
    if not re.fullmatch(CODE_PATTERN, normal):
        why = "give the code" if not normal else "letters, digits, - and _ (2 to 64)"
        raise ValidationFailed("The code cannot be added.", [FieldError(("code",), why)])
    if session.get(OfferCode, normal) is not None:
        raise ValidationFailed(
            "The code cannot be added.", [FieldError(("code",), "already exists", "taken")]
        )
    made = OfferCode(code=normal, offer_id=offer_id, max_uses=max_uses, used=0, created_at=utcnow())
    session.add(made)
    session.flush()
    return made


def generate_codes(session: Session, offer_id: str, data: CodesCreate) -> tuple[str, int]:
    """``data.count`` random codes (prefix + 10 characters: about 2^49 of them, so a clash
    with a code already there is unlikely; the insert would refuse one) in batched
    inserts; (batch id, count)."""
    get_offer(session, offer_id)
    batch = new_id("cb")
    prefix = rules.normalize(data.prefix) if data.prefix else ""
    now = utcnow()
    made: set[str] = set()
    while len(made) < data.count:
        made.add(prefix + "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH)))
    codes = sorted(made)
    table = OfferCode.__table__
    for start in range(0, len(codes), BATCH_ROWS):
        insert_rows(
            session,
            table,
            (
                {
                    "code": code,
                    "offer_id": offer_id,
                    "max_uses": data.max_uses,
                    "used": 0,
                    "batch": batch,
                    "created_at": now,
                }
                for code in codes[start : start + BATCH_ROWS]
            ),
        )
    return batch, len(codes)


def export_codes(session: Session, offer_id: str, batch: str | None = None) -> Iterator[str]:
    """The offer's codes as CSV text, in chunks (100k codes stream without a list), each
    with the address of its printable page."""
    get_offer(session, offer_id)
    query = (
        select(OfferCode.code, OfferCode.max_uses, OfferCode.used, OfferCode.batch)
        .where(OfferCode.offer_id == offer_id)
        .order_by(OfferCode.code)
    )
    if batch:
        query = query.where(OfferCode.batch == batch)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["code", "max_uses", "used", "batch", "page_url"])
    page_url = pages.page_urls()
    for n, row in enumerate(session.execute(query.execution_options(yield_per=5000))):
        writer.writerow(["" if v is None else v for v in row] + [page_url(row[0])])
        if n % 5000 == 4999:
            yield out.getvalue()
            out.seek(0)
            out.truncate()
    yield out.getvalue()


def redemptions_of(session: Session, offer_id: str, limit: int = 200) -> list[Redemption]:
    return list(
        session.scalars(
            select(Redemption)
            .where(Redemption.offer_id == offer_id)
            .order_by(Redemption.created_at.desc(), Redemption.id)
            .limit(limit)
        )
    )


def codes_of_creator(session: Session, creator_id: str, limit: int = 20) -> list[str]:
    """The public codes of a creator's offers (not their bulk single-use ones)."""
    return list(
        session.scalars(
            select(OfferCode.code)
            .join(Offer, Offer.id == OfferCode.offer_id)
            .where(Offer.creator_id == creator_id, OfferCode.batch.is_(None))
            .order_by(OfferCode.code)
            .limit(limit)
        )
    )
