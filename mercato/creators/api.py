"""Creators, their codes, commissions and payouts (scopes creators:read/write)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Response, status

from mercato.creators import payouts, roi, service
from mercato.creators.auth import CreatorsRead, CreatorsWrite
from mercato.creators.schemas import (
    CommissionPublic,
    CreatorCodeCreate,
    CreatorCreate,
    CreatorCreated,
    CreatorPublic,
    Figures,
    PayoutCreate,
    PayoutPublic,
)
from mercato.offers.schemas import OfferPublic
from mercato.web.sessions import ReadSession, WriteSession

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
    by: Literal["offer", "code", "creator"] = "offer",
    currency: str | None = None,
) -> dict:
    """Return per offer, code or creator from the ledgers, with each figure's formula
    (``formulas``): redemptions, orders, revenue, discount cost, commission, net, roi."""
    return roi.roi(session, by, currency)


@router.post("", response_model=CreatorCreated, status_code=status.HTTP_201_CREATED)
def create_creator(data: CreatorCreate, session: WriteSession, _: CreatorsWrite):
    """A creator; the answer carries their private page's link, once."""
    creator, token = service.create(session, data)
    return {**_public(creator), "page_url": service.page_url(token)}


@router.get("", response_model=list[CreatorPublic])
def list_creators(session: ReadSession, _: CreatorsRead):
    return [_public(c) for c in service.list_creators(session)]


@router.get("/{creator_id}", response_model=CreatorPublic)
def get_creator(creator_id: str, session: ReadSession, _: CreatorsRead):
    return _public(service.get(session, creator_id))


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
def create_payout(creator_id: str, data: PayoutCreate, session: WriteSession, _: CreatorsWrite):
    """Pay every unpaid commission line of the period (times without an offset are in
    the store's zone); its statement is ``/creators/payouts/{id}/statement.csv``."""
    return payouts.pay(session, creator_id, data.period_start, data.period_end, data.currency)


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
