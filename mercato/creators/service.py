"""Creators: made with their commission rates, their link and codes (offers that credit
them), their figures, and their private page reached by a token kept only as a hash."""

from __future__ import annotations

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from mercato.analytics.models import Touch
from mercato.catalog.service import store_currency
from mercato.config import get_settings
from mercato.creators.models import Commission, Creator
from mercato.creators.schemas import CreatorCodeCreate, CreatorCreate, Figures
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


def create(session: Session, data: CreatorCreate) -> tuple[Creator, str]:
    """A creator and their private page's token (shown once)."""
    if session.scalar(select(Creator.id).where(Creator.handle == data.handle)):
        raise ValidationFailed(
            "The creator cannot be made.", [FieldError(("handle",), "already exists", "taken")]
        )
    token = random_token()
    creator = Creator(
        id=new_id("cre"),
        handle=data.handle,
        name=data.name,
        active=True,
        commission_kind=data.commission.kind,
        commission_value=data.commission.value,
        product_commissions={k: v.model_dump() for k, v in data.product_commissions.items()},
        page_token_hash=hash_token(token),
        created_at=utcnow(),
    )
    session.add(creator)
    session.flush()
    return creator, token


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
