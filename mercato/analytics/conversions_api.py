"""``/api/v1/analytics``: where purchases are sent back and the delivery log; the ad
accounts whose reports are read."""

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response, status

from mercato.analytics import ad_reports, conversions
from mercato.analytics.api import Since, Until
from mercato.analytics.auth import AnalyticsRead, AnalyticsWrite
from mercato.analytics.conversion_schemas import (
    AdAccountCreate,
    AdAccountPage,
    AdAccountPublic,
    AdAccountPulled,
    DeliveryPage,
    DestinationCreate,
    DestinationPage,
    DestinationPublic,
    DestinationUpdate,
)
from mercato.db import utcnow
from mercato.web.sessions import ReadSession, SessionFactories, WriteSession

router = APIRouter(prefix="/analytics", tags=["analytics"])


@router.post(
    "/conversion-destinations",
    response_model=DestinationPublic,
    status_code=status.HTTP_201_CREATED,
)
def connect_destination(data: DestinationCreate, session: WriteSession, _: AnalyticsWrite):
    """Send paid purchases to a Meta pixel, a TikTok pixel or a Pinterest ad account."""
    values = data.model_dump()
    values["base_url"] = str(data.base_url) if data.base_url else None
    return conversions.connect(session, conversions.DestinationInput(**values))


@router.get("/conversion-destinations", response_model=DestinationPage)
def list_destinations(session: ReadSession, _: AnalyticsRead):
    return DestinationPage(items=conversions.list_destinations(session))


@router.patch("/conversion-destinations/{destination_id}", response_model=DestinationPublic)
def update_destination(
    destination_id: str, data: DestinationUpdate, session: WriteSession, _: AnalyticsWrite
):
    return conversions.update_destination(
        session, destination_id, data.model_dump(exclude_unset=True)
    )


@router.delete("/conversion-destinations/{destination_id}", status_code=204)
def disconnect_destination(destination_id: str, session: WriteSession, _: AnalyticsWrite):
    conversions.disconnect(session, destination_id)
    return Response(status_code=204)


@router.get("/conversion-deliveries", response_model=DeliveryPage)
def list_deliveries(
    session: ReadSession,
    _: AnalyticsRead,
    delivery_status: Annotated[
        Literal["queued", "sent", "failed"] | None, Query(alias="status")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
):
    return DeliveryPage(items=conversions.list_deliveries(session, delivery_status, limit))


@router.post("/ad-accounts", response_model=AdAccountPublic, status_code=status.HTTP_201_CREATED)
def connect_ad_account(data: AdAccountCreate, session: WriteSession, _: AnalyticsWrite):
    """Read a Meta or Pinterest ad account's daily spend, impressions and clicks per
    campaign into the ledger (daily, and on ``POST .../pull``)."""
    base_url = str(data.base_url) if data.base_url else None
    return ad_reports.connect(session, data.platform, data.account_id, data.access_token, base_url)


@router.get("/ad-accounts", response_model=AdAccountPage)
def list_ad_accounts(session: ReadSession, _: AnalyticsRead):
    return AdAccountPage(items=ad_reports.list_sources(session))


@router.delete("/ad-accounts/{account_id}", status_code=204)
def disconnect_ad_account(account_id: str, session: WriteSession, _: AnalyticsWrite):
    """Forgets the account and its token; the figures it brought stay."""
    ad_reports.disconnect(session, account_id)
    return Response(status_code=204)


@router.post("/ad-accounts/{account_id}/pull", response_model=AdAccountPulled)
def pull_ad_account(
    account_id: str,
    sessions: SessionFactories,
    _: AnalyticsWrite,
    since: Since = None,
    until: Until = None,
):
    """Read the account's report for a period now (default: the last few days); the
    platform's refusal is answered as 502 with its words, and kept on the account."""
    first, last = ad_reports.period(since, until, utcnow())
    with sessions.read() as session:
        ad_reports.get_source(session, account_id)
    pulled = ad_reports.pull(sessions.write, account_id, first, last)
    return AdAccountPulled(
        campaign_days=pulled.days, spend_rows=pulled.spend_rows, touches=pulled.touches
    )
