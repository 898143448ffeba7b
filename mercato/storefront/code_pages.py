"""A code's printable, phone-friendly page (``offers.pages``): public, at an address
carrying the code's signature."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup

from mercato.errors import MercatoError
from mercato.offers import pages, qr
from mercato.storefront.pages import _problem_page, page
from mercato.web.sessions import ReadSession

router = APIRouter(prefix="/shop", include_in_schema=False)


@router.get("/codes/{code}/{key}", response_class=HTMLResponse)
def code_page(request: Request, code: str, key: str, session: ReadSession):
    try:
        offer, found = pages.by_page_key(session, code, key)
    except MercatoError as exc:
        return _problem_page(request, exc)
    response = page(
        request,
        "code.html",
        code=found,
        shown=pages.shown(session, offer, found),
        qr=Markup(qr.inline(found.code)),
        link=qr.code_link(found.code),
        used_up=found.max_uses is not None and found.used >= found.max_uses,
    )
    response.headers["X-Robots-Tag"] = "noindex"
    return response
