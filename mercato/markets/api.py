"""Markets, their price lists and the exchange rates, for the merchant."""

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from mercato.markets import fx, service
from mercato.markets.auth import MarketsRead, MarketsWrite
from mercato.markets.schemas import (
    FxRatePublic,
    MarketCreate,
    MarketPublic,
    MarketUpdate,
    PriceListPut,
    PricePublic,
)
from mercato.web.sessions import ReadSession, WriteSession

router = APIRouter(tags=["markets"])


@router.get("/markets", response_model=list[MarketPublic])
def list_markets(session: ReadSession, _: MarketsRead):
    return service.list_markets(session)


@router.post("/markets", response_model=MarketPublic, status_code=201)
def create_market(data: MarketCreate, session: WriteSession, _: MarketsWrite):
    return service.create_market(session, data)


@router.get("/markets/{code}", response_model=MarketPublic)
def get_market(code: str, session: ReadSession, _: MarketsRead):
    return service.get_market(session, code)


@router.patch("/markets/{code}", response_model=MarketPublic)
def update_market(code: str, data: MarketUpdate, session: WriteSession, _: MarketsWrite):
    return service.update_market(session, code, data)


@router.delete("/markets/{code}", status_code=204)
def delete_market(code: str, session: WriteSession, _: MarketsWrite):
    service.delete_market(session, code)
    return Response(status_code=204)


@router.get("/markets/{code}/prices", response_model=list[PricePublic])
def get_prices(code: str, session: ReadSession, _: MarketsRead):
    market = service.get_market(session, code)
    return [
        PricePublic(sku=sku, variant_id=vid, amount=amount, currency=market.currency)
        for sku, vid, amount in service.listed_prices(session, code)
    ]


@router.put("/markets/{code}/prices", response_model=list[PricePublic])
def put_prices(code: str, data: PriceListPut, session: WriteSession, _: MarketsWrite):
    """Set prices in the market's price list, by SKU, in the market's currency."""
    service.set_prices(session, code, data.prices)
    return get_prices(code, session, _)


class FxImport(BaseModel):
    content: str = Field(min_length=1, max_length=1_000_000, description="CSV or JSON")
    source: str = Field(default="api", max_length=255)


def _fx_public() -> list[FxRatePublic]:
    return [
        FxRatePublic(currency=c, rate=str(r.rate), date=r.as_of.isoformat())
        for c, r in sorted(fx.current().items())
    ]


@router.get("/fx-rates", response_model=list[FxRatePublic])
def list_fx_rates(_: MarketsRead):
    """The imported exchange rates checkouts convert with (units per one unit of the base
    currency, and their date); currencies not imported use the rates file's."""
    return _fx_public()


@router.post("/fx-rates", response_model=list[FxRatePublic])
def import_fx_rates(data: FxImport, session: WriteSession, _: MarketsWrite):
    """Import exchange rates (CSV ``currency,rate,date[,base]`` or JSON); the market
    channels' converted items whose rate changed are sent on their next publish."""
    fx.import_rates(session, data.content, source=data.source)
    return _fx_public()
