"""The dashboard's offers and creators: each offer with its uses against its caps, each
creator with their figures, rates and connected Stripe account, their latest payouts
and transfers, the posts tagged with products, and the return per offer, code, creator
and post with the formulas behind it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from markupsafe import Markup

from mercato.admin.pages import Admin, _page
from mercato.creators import payouts, roi
from mercato.creators import service as creators
from mercato.offers import pages, qr
from mercato.offers import service as offers
from mercato.web.sessions import ReadSession

router = APIRouter(prefix="/admin", include_in_schema=False)


@router.get("/offers")
def offers_page(request: Request, session: ReadSession, admin: Admin, by: str = "offer"):
    by = by if by in ("offer", "code") else "offer"
    return _page(
        request,
        "offers.html",
        admin,
        offers=offers.list_offers(session),
        found=roi.roi(session, by),  # type: ignore[arg-type]
        by=by,
    )


@router.get("/offers/{offer_id}/codes/print")
def codes_sheet(
    request: Request,
    offer_id: str,
    session: ReadSession,
    admin: Admin,
    batch: str | None = None,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
):
    """A printable sheet of the offer's codes (a batch's, else all): ``SHEET_SIZE`` at a
    time, each with its QR and its page's address, cut apart after printing."""
    offer = offers.get_offer(session, offer_id)
    codes, sheets = pages.sheet(session, offer_id, batch, page)
    shown = [(c, Markup(qr.inline(c.code)), pages.page_url(c.code)) for c in codes]
    return _page(
        request,
        "codes_print.html",
        admin,
        offer=offer,
        about=pages.shown(session, offer, codes[0]) if codes else None,
        codes=shown,
        batch=batch,
        page=page,
        sheets=sheets,
    )


@router.get("/creators")
def creators_page(request: Request, session: ReadSession, admin: Admin):
    made = creators.list_creators(session)
    return _page(
        request,
        "creators.html",
        admin,
        creators=[(c, creators.link_of(c), creators.figures(session, c)) for c in made],
        found=roi.roi(session, "creator"),
        posts=roi.roi(session, "post"),
        payouts=[(c, p) for c in made for p in payouts.list_payouts(session, c.id)[:5]],
    )
