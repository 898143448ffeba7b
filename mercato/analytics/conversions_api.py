"""``/api/v1/analytics``: where purchases are sent back, and the delivery log."""

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response, status

from mercato.analytics import conversions
from mercato.analytics.auth import AnalyticsRead, AnalyticsWrite
from mercato.analytics.conversion_schemas import (
    DeliveryPage,
    DestinationCreate,
    DestinationPage,
    DestinationPublic,
    DestinationUpdate,
)
from mercato.web.sessions import ReadSession, WriteSession

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
