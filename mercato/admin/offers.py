"""The dashboard's offers and creators: each offer with its uses against its caps, each
creator with their figures, and the return per offer, code and creator with the
formulas behind it."""

from __future__ import annotations

from fastapi import APIRouter, Request

from mercato.admin.pages import Admin, _page
from mercato.creators import roi
from mercato.creators import service as creators
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


@router.get("/creators")
def creators_page(request: Request, session: ReadSession, admin: Admin):
    made = creators.list_creators(session)
    return _page(
        request,
        "creators.html",
        admin,
        creators=[(c, creators.link_of(c), creators.figures(session, c)) for c in made],
        found=roi.roi(session, "creator"),
    )
