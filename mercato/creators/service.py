"""Creators: made with their commission rates, their link and codes (offers that credit
them), their figures, and their private page reached by a token kept only as a hash."""

from __future__ import annotations

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from mercato.analytics.models import Touch
from mercato.catalog import collections
from mercato.catalog.service import store_currency
from mercato.config import get_settings
from mercato.creators.models import Commission, Creator
from mercato.creators.schemas import (
    CreatorCodeCreate,
    CreatorCreate,
    CreatorUpdate,
    Figures,
    Rate,
    Tier,
)
from mercato.crypto import hash_token
from mercato.db import new_id, random_token, utcnow
from mercato.errors import FieldError, NotFound, ValidationFailed
from mercato.offers import service as offers
from mercato.offers.models import Offer
from mercato.offers.schemas import OfferCreate

CLICK_KINDS = ("click", "visit")


def link_of(creator: Creator) -> str:
    return f"{get_settings().base_url.rstrip('/')}/shop/cart?ref={creator.handle}"


def page_url(token: str) -> str:
    return f"{get_settings().base_url.rstrip('/')}/shop/creators/{token}"


def _collection_rates(session: Session, given: dict[str, Rate]) -> tuple[dict, list[FieldError]]:
    """Collection rates keyed by the collections' ids (given by id or handle)."""
    rates, errors = {}, []
    for reference, rate in given.items():
        try:
            rates[collections.get_collection(session, reference).id] = rate.model_dump()
        except NotFound:
            errors.append(FieldError(("collection_commissions", reference), "no such collection"))
    return rates, errors


def _tier_errors(kind: str, tiers: list[Tier]) -> list[FieldError]:
    errors = []
    if tiers and kind != "percentage":
        errors.append(FieldError(("tiers",), "tiers raise a percentage commission only"))
    for i in range(1, len(tiers)):
        if tiers[i].above <= tiers[i - 1].above:
            errors.append(FieldError(("tiers", i, "above"), "above the previous tier's"))
    return errors


def create(session: Session, data: CreatorCreate) -> tuple[Creator, str]:
    """A creator and their private page's token (shown once)."""
    errors = []
    if session.scalar(select(Creator.id).where(Creator.handle == data.handle)):
        errors.append(FieldError(("handle",), "already exists", "taken"))
    by_collection, refused = _collection_rates(session, data.collection_commissions)
    errors += refused + _tier_errors(data.commission.kind, data.tiers)
    if errors:
        raise ValidationFailed("The creator cannot be made.", errors)
    token = random_token()
    creator = Creator(
        id=new_id("cre"),
        handle=data.handle,
        name=data.name,
        active=True,
        commission_kind=data.commission.kind,
        commission_value=data.commission.value,
        product_commissions={k: v.model_dump() for k, v in data.product_commissions.items()},
        collection_commissions=by_collection,
        tiers=[t.model_dump() for t in data.tiers],
        stripe_account=data.stripe_account,
        page_token_hash=hash_token(token),
        created_at=utcnow(),
    )
    session.add(creator)
    session.flush()
    return creator, token


def update(session: Session, creator_id: str, data: CreatorUpdate) -> Creator:
    """Change what is given; the new rates apply to orders credited from then on."""
    creator = get(session, creator_id)
    given = data.model_dump(exclude_unset=True)
    errors: list[FieldError] = []
    by_collection = None
    if data.collection_commissions is not None:
        by_collection, errors = _collection_rates(session, data.collection_commissions)
    kind = data.commission.kind if data.commission else creator.commission_kind
    tiers = data.tiers if data.tiers is not None else [Tier(**t) for t in creator.tiers or []]
    errors += _tier_errors(kind, tiers)
    if errors:
        raise ValidationFailed("The creator cannot be changed.", errors)
    if data.name is not None:
        creator.name = data.name
    if data.active is not None:
        creator.active = data.active
    if data.commission is not None:
        creator.commission_kind, creator.commission_value = kind, data.commission.value
    if data.product_commissions is not None:
        creator.product_commissions = {
            k: v.model_dump() for k, v in data.product_commissions.items()
        }
    if by_collection is not None:
        creator.collection_commissions = by_collection
    if data.tiers is not None:
        creator.tiers = [t.model_dump() for t in data.tiers]
    if "stripe_account" in given:
        creator.stripe_account = data.stripe_account or None
    session.flush()
    return creator


def get(session: Session, creator_id: str) -> Creator:
    found = session.get(Creator, creator_id)
    if found is None:
        raise NotFound(f"No creator {creator_id!r}.")
    return found


def by_page_token(session: Session, token: str) -> Creator:
    found = session.scalar(select(Creator).where(Creator.page_token_hash == hash_token(token)))
    if found is None:
        raise NotFound("No such page.")
    return found


def list_creators(session: Session) -> list[Creator]:
    return list(session.scalars(select(Creator).order_by(Creator.handle)))


def add_code(session: Session, creator_id: str, data: CreatorCodeCreate) -> Offer:
    """A code of the creator's own: an offer that credits them when redeemed."""
    creator = get(session, creator_id)
    return offers.create_offer(
        session,
        OfferCreate(
            name=f"{creator.name}: {data.code.upper()}",
            kind=data.kind,
            value=data.value,
            currency=data.currency,
            code=data.code,
            max_uses=data.max_uses,
            creator_id=creator.id,
        ),
    )


def figures(session: Session, creator: Creator, currency: str | None = None) -> Figures:
    """Clicks (the ledger's touches naming them), orders credited, the revenue behind
    them net of refunds, commission earned, clawed back, and what is paid out."""
    currency = currency or store_currency()
    clicks = session.scalar(
        select(func.coalesce(func.sum(Touch.count), 0)).where(
            Touch.creator == creator.handle, Touch.kind.in_(CLICK_KINDS)
        )
    )
    earned = Commission.kind == "earned"
    row = session.execute(
        select(
            func.coalesce(func.sum(case((earned, 1), else_=0)), 0),
            func.coalesce(func.sum(Commission.revenue), 0),
            func.coalesce(func.sum(case((earned, Commission.amount), else_=0)), 0),
            func.coalesce(func.sum(case((earned, 0), else_=Commission.amount)), 0),
            func.coalesce(
                func.sum(case((Commission.payout_id.is_not(None), Commission.amount), else_=0)), 0
            ),
        ).where(Commission.creator_id == creator.id, Commission.currency == currency)
    ).one()
    orders, revenue, made, clawed, paid = (int(v) for v in row)
    return Figures(
        currency=currency,
        clicks=int(clicks or 0),
        orders=orders,
        revenue=revenue,
        earned=made,
        clawed_back=-clawed,
        earnings=made + clawed,
        paid=paid,
    )


def commissions_of(session: Session, creator_id: str, limit: int = 200) -> list[Commission]:
    get(session, creator_id)
    return list(
        session.scalars(
            select(Commission)
            .where(Commission.creator_id == creator_id)
            .order_by(Commission.at.desc(), Commission.id)
            .limit(limit)
        )
    )
