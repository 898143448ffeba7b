"""The dashboard's Markets page: each market's countries, currency, languages, tax and
duty treatment and price list, and the imported exchange rates with their dates."""

from __future__ import annotations

from fastapi import APIRouter, Request

from mercato.admin.pages import Admin, _page
from mercato.config import get_settings
from mercato.markets import fx
from mercato.markets import service as markets
from mercato.web.sessions import ReadSession

router = APIRouter(prefix="/admin/markets", include_in_schema=False)


@router.get("")
def market_list(request: Request, session: ReadSession, admin: Admin):
    return _page(
        request,
        "markets.html",
        admin,
        markets=[(m, markets.price_count(session, m.code)) for m in markets.list_markets(session)],
        rates=sorted(fx.current().items()),
        base=get_settings().currency,
        here="/admin/markets",
    )
