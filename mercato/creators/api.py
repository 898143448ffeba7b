"""Creators, their codes, commissions and payouts (scopes creators:read/write)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Response, status

from mercato.creators import payouts, posts, roi, service, transfers
from mercato.creators.auth import CreatorsRead, CreatorsWrite
from mercato.creators.schemas import (
    CommissionPublic,
    CreatorCodeCreate,
    CreatorCreate,
    CreatorCreated,
    CreatorPublic,
    CreatorUpdate,
    Figures,
    PayoutCreate,
    PayoutPublic,
    PostCreate,
    PostProducts,
    PostPublic,
    TransferPublic,
)
from mercato.db import transaction
from mercato.offers.schemas import OfferPublic
from mercato.web.sessions import ReadSession, SessionFactories, WriteSession

router = APIRouter(prefix="/creators", tags=["creators"])


def _public(creator) -> dict:
    return {
        **{k: getattr(creator, k) for k in CreatorPublic.model_fields if k != "link"},
        "link": service.link_of(creator),
    }


@router.get("/roi")
def offers_roi(
    session: ReadSession,
    _: CreatorsRead,
    by: Literal["offer", "code", "creator", "post"] = "offer",
    currency: str | None = None,
) -> dict:
    """Return per offer, code, creator or post from the ledgers, with each figure's
    formula (``formulas``): redemptions, orders, revenue, discount cost, commission, net,
    roi; per post also its clicks and the products it is tagged with."""
    return roi.roi(session, by, currency)


@router.post("", response_model=CreatorCreated, status_code=status.HTTP_201_CREATED)
def create_creator(data: CreatorCreate, session: WriteSession, _: CreatorsWrite):
    """A creator; the answer carries their private page's link, once."""
    creator, token = service.create(session, data)
    return {**_public(creator), "page_url": service.page_url(token)}


@router.get("", response_model=list[CreatorPublic])
def list_creators(session: ReadSession, _: CreatorsRead):
    return [_public(c) for c in service.list_creators(session)]


@router.get("/posts", response_model=list[PostPublic])
def list_posts(session: ReadSession, _: CreatorsRead, creator_id: str | None = None):
    """Posts (a creator's, or the shop's) and the products each is tagged with."""
    return posts.public(session, posts.list_posts(session, creator_id))


@router.post("/posts", response_model=PostPublic, status_code=status.HTTP_201_CREATED)
def create_post(data: PostCreate, session: WriteSession, _: CreatorsWrite):
    """A post tagged with the products it shows, named by the id the ledger's touches
    carry in ``post``. Tags are kept in Mercato (not sent to a platform)."""
    return posts.public(session, [posts.create(session, data)])[0]


@router.put("/posts/{post_id}/products", response_model=PostPublic)
def tag_post(post_id: str, data: PostProducts, session: WriteSession, _: CreatorsWrite):
    """The post's products, replaced."""
    return posts.public(session, [posts.set_products(session, post_id, data.product_ids)])[0]


@router.post("/payouts/{payout_id}/transfer", response_model=TransferPublic)
def retry_transfer(payout_id: str, sessions: SessionFactories, _: CreatorsWrite):
    """Ask Stripe again for a payout's transfer that is pending (same idempotency key) or
    was refused (the next key, to the creator's account as it is now)."""
    return transfers.send(sessions, payout_id)


@router.get("/{creator_id}", response_model=CreatorPublic)
def get_creator(creator_id: str, session: ReadSession, _: CreatorsRead):
    return _public(service.get(session, creator_id))


@router.patch("/{creator_id}", response_model=CreatorPublic)
def update_creator(creator_id: str, data: CreatorUpdate, session: WriteSession, _: CreatorsWrite):
    """Their rates (default, per product, per collection, tiers), their connected Stripe
    account, name or active flag; new rates apply to orders credited from then on."""
    return _public(service.update(session, creator_id, data))


@router.get("/{creator_id}/figures", response_model=Figures)
def creator_figures(
    creator_id: str, session: ReadSession, _: CreatorsRead, currency: str | None = None
):
    return service.figures(session, service.get(session, creator_id), currency)


@router.post("/{creator_id}/codes", response_model=OfferPublic, status_code=status.HTTP_201_CREATED)
def add_code(creator_id: str, data: CreatorCodeCreate, session: WriteSession, _: CreatorsWrite):
    """A code of their own: an offer that credits them when redeemed."""
    return service.add_code(session, creator_id, data)


@router.get("/{creator_id}/commissions", response_model=list[CommissionPublic])
def list_commissions(creator_id: str, session: ReadSession, _: CreatorsRead):
    return service.commissions_of(session, creator_id)


@router.post(
    "/{creator_id}/payouts", response_model=PayoutPublic, status_code=status.HTTP_201_CREATED
)
def create_payout(
    creator_id: str, data: PayoutCreate, sessions: SessionFactories, _: CreatorsWrite
):
    """Pay every unpaid commission line of the period (times without an offset are in
    the store's zone); its statement is ``/creators/payouts/{id}/statement.csv``. To a
    creator with a connected Stripe account (Stripe configured), the payout is also sent
    as a Stripe transfer: ``transfer`` says how it went (paid, refused with Stripe's
    words, or pending when Stripe did not answer)."""
    with transaction(sessions.write) as session:
        made = payouts.pay(session, creator_id, data.period_start, data.period_end, data.currency)
        body = PayoutPublic.model_validate(made)
    if body.transfer is not None:
        body.transfer = TransferPublic.model_validate(transfers.send(sessions, made.id))
    return body


@router.get("/{creator_id}/payouts", response_model=list[PayoutPublic])
def list_payouts(creator_id: str, session: ReadSession, _: CreatorsRead):
    return payouts.list_payouts(session, creator_id)


@router.get("/payouts/{payout_id}/statement.csv", responses={200: {"content": {"text/csv": {}}}})
def payout_statement(payout_id: str, session: ReadSession, _: CreatorsRead):
    return Response(
        payouts.statement_csv(session, payout_id),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{payout_id}.csv"'},
    )
