"""A creator's private page (the link made with them, a token kept only as a hash): their
link, codes, clicks, orders, revenue and earnings, and their posts with the products
each is tagged with."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from mercato.creators import posts as creator_posts
from mercato.creators import service as creators
from mercato.errors import MercatoError
from mercato.offers import service as offers
from mercato.storefront.pages import _problem_page, page
from mercato.web.sessions import ReadSession

router = APIRouter(prefix="/shop", include_in_schema=False)


@router.get("/creators/{token}", response_class=HTMLResponse)
def creator_page(request: Request, token: str, session: ReadSession):
    try:
        creator = creators.by_page_token(session, token)
    except MercatoError as exc:
        return _problem_page(request, exc)
    return page(
        request,
        "creator.html",
        creator=creator,
        link=creators.link_of(creator),
        codes=offers.codes_of_creator(session, creator.id),
        figures=creators.figures(session, creator),
        commissions=creators.commissions_of(session, creator.id, limit=50),
        posts=creator_posts.public(session, creator_posts.list_posts(session, creator.id)),
    )
