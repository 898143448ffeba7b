"""Offers, their codes and redemptions (/offers, merchant scopes) and the point of sale
(/pos, a till's ``pos:write`` token). POSTs honour Idempotency-Key like every other."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Query, Response, UploadFile, status

from mercato.offers import pages, pos, qr, service
from mercato.offers.auth import OffersRead, OffersWrite, PosWrite
from mercato.offers.schemas import (
    CodePublic,
    CodesCreate,
    CodesMade,
    ImportReport,
    OfferCreate,
    OfferPublic,
    OfferUpdate,
    PosRedeem,
    PosValidate,
    RedemptionPublic,
    Validation,
)
from mercato.web.sessions import ReadSession, WriteSession

router = APIRouter(prefix="/offers", tags=["offers"])
pos_router = APIRouter(prefix="/pos", tags=["pos"])


@router.post("", response_model=OfferPublic, status_code=status.HTTP_201_CREATED)
def create_offer(data: OfferCreate, session: WriteSession, _: OffersWrite):
    return service.create_offer(session, data)


@router.get("", response_model=list[OfferPublic])
def list_offers(session: ReadSession, _: OffersRead):
    return service.list_offers(session)


@router.get("/{offer_id}", response_model=OfferPublic)
def get_offer(offer_id: str, session: ReadSession, _: OffersRead):
    return service.get_offer(session, offer_id)


@router.patch("/{offer_id}", response_model=OfferPublic)
def update_offer(offer_id: str, data: OfferUpdate, session: WriteSession, _: OffersWrite):
    return service.update_offer(session, offer_id, data)


@router.get("/{offer_id}/codes", response_model=list[CodePublic])
def list_codes(
    offer_id: str,
    session: ReadSession,
    _: OffersRead,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
):
    service.get_offer(session, offer_id)
    return [
        CodePublic.model_validate(c).model_copy(update={"page_url": pages.page_url(c.code)})
        for c in service.codes_of(session, offer_id, limit)
    ]


@router.post("/{offer_id}/codes", response_model=CodesMade, status_code=status.HTTP_201_CREATED)
def generate_codes(offer_id: str, data: CodesCreate, session: WriteSession, _: OffersWrite):
    """Single-use (or ``max_uses``) codes in bulk; export them with ``codes.csv``."""
    batch, count = service.generate_codes(session, offer_id, data)
    return CodesMade(
        batch=batch, count=count, export_url=f"/api/v1/offers/{offer_id}/codes.csv?batch={batch}"
    )


@router.get("/{offer_id}/codes.csv", responses={200: {"content": {"text/csv": {}}}})
def export_codes(offer_id: str, session: ReadSession, _: OffersRead, batch: str | None = None):
    return Response(
        "".join(service.export_codes(session, offer_id, batch)),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{offer_id}-codes.csv"'},
    )


@router.get("/codes/{code}/qr.svg", responses={200: {"content": {"image/svg+xml": {}}}})
def code_qr(code: str, session: ReadSession, _: OffersRead, product: str | None = None):
    """The code's QR: the shop's link that carries it to the checkout (``?coupon=``), on
    a product's page (its handle) or the cart."""
    return Response(qr.svg(session, code, product), media_type="image/svg+xml")


@router.get("/{offer_id}/redemptions", response_model=list[RedemptionPublic])
def list_redemptions(offer_id: str, session: ReadSession, _: OffersRead):
    service.get_offer(session, offer_id)
    return service.redemptions_of(session, offer_id)


# ---------------------------------------------------------------- point of sale


@pos_router.post("/validate", response_model=Validation)
def pos_validate(data: PosValidate, session: ReadSession, _: PosWrite):
    """Would this code apply to a ticket now? Takes nothing."""
    return pos.validate(session, data)


@pos_router.post(
    "/redemptions", response_model=RedemptionPublic, status_code=status.HTTP_201_CREATED
)
def pos_redeem(data: PosRedeem, session: WriteSession, _: PosWrite):
    """Redeem a code for a ticket at a location (and terminal): once per ticket and
    code; 409 offer-refused (with ``reason``) when a cap is reached."""
    return pos.redeem(session, data)


@pos_router.post("/redemptions/import", response_model=ImportReport)
def pos_import(
    session: WriteSession,
    _: PosWrite,
    file: UploadFile = File(
        description="CSV: code, location_id, terminal_id, ticket, subtotal, currency"
        "[, customer_ref, market]"
    ),
):
    """Redemptions a till made offline, reconciled against the caps: each row redeemed,
    a duplicate (imported or redeemed before), or refused with why (a cap reached)."""
    text = file.file.read().decode("utf-8-sig", errors="replace")
    return pos.import_offline(session, text)


@pos_router.post("/redemptions/{redemption_id}/void", response_model=RedemptionPublic)
def pos_void(redemption_id: str, session: WriteSession, _: PosWrite):
    """Void a till's redemption: its slot under every cap is free again."""
    return pos.void(session, redemption_id)
