from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response, status

from mercato.web.sessions import ReadSession, WriteSession
from mercato.webhooks import service
from mercato.webhooks.auth import WebhooksRead, WebhooksWrite
from mercato.webhooks.schemas import (
    DeliveryDetail,
    DeliveryPage,
    EndpointCreate,
    EndpointCreated,
    EndpointPage,
    EndpointPublic,
    EndpointUpdate,
    Redeliver,
    RedeliverResult,
    SecretPublic,
    SecretRotate,
)

router = APIRouter(prefix="/webhooks", tags=["webhooks"])


@router.post("/endpoints", response_model=EndpointCreated, status_code=status.HTTP_201_CREATED)
def create_endpoint(data: EndpointCreate, session: WriteSession, _: WebhooksWrite):
    """Subscribe a URL to event types; the signing secret is in the answer."""
    new = service.create_endpoint(session, data)
    return EndpointCreated.model_validate(
        {**vars(EndpointPublic.model_validate(new.endpoint)), "secret": new.secret}
    )


@router.get("/endpoints", response_model=EndpointPage)
def list_endpoints(session: ReadSession, _: WebhooksRead):
    return EndpointPage(items=service.list_endpoints(session))


@router.get("/endpoints/{endpoint_id}", response_model=EndpointPublic)
def get_endpoint(endpoint_id: str, session: ReadSession, _: WebhooksRead):
    return service.get_endpoint(session, endpoint_id)


@router.patch("/endpoints/{endpoint_id}", response_model=EndpointPublic)
def update_endpoint(
    endpoint_id: str, data: EndpointUpdate, session: WriteSession, _: WebhooksWrite
):
    return service.update_endpoint(session, endpoint_id, data)


@router.delete("/endpoints/{endpoint_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_endpoint(endpoint_id: str, session: WriteSession, _: WebhooksWrite):
    service.delete_endpoint(session, endpoint_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/endpoints/{endpoint_id}/secret", response_model=SecretPublic)
def get_secret(endpoint_id: str, session: ReadSession, _: WebhooksWrite):
    """The current signing secret (write scope: it lets one forge deliveries)."""
    return SecretPublic(secret=service.get_secret(session, endpoint_id))


@router.post("/endpoints/{endpoint_id}/secret/rotate", response_model=SecretPublic)
def rotate_secret(endpoint_id: str, data: SecretRotate, session: WriteSession, _: WebhooksWrite):
    """A new secret; deliveries carry both signatures until the overlap ends."""
    new = service.rotate_secret(session, endpoint_id, data)
    return SecretPublic(
        secret=new.secret, previous_secret_expires_at=new.endpoint.previous_secret_expires_at
    )


@router.post(
    "/endpoints/{endpoint_id}/redeliver",
    response_model=RedeliverResult,
    status_code=status.HTTP_202_ACCEPTED,
)
def redeliver(endpoint_id: str, data: Redeliver, session: WriteSession, _: WebhooksWrite):
    """Send one event again, or every subscribed event of a time range, in order."""
    count, endpoint = service.redeliver(session, endpoint_id, data)
    return RedeliverResult(deliveries=count, endpoint_enabled=endpoint.enabled)


@router.get("/deliveries", response_model=DeliveryPage)
def list_deliveries(
    session: ReadSession,
    _: WebhooksRead,
    endpoint_id: str | None = None,
    event_id: str | None = None,
    state: Literal["pending", "succeeded", "failed"] | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=service.MAX_PAGE_SIZE)] = 50,
):
    return service.list_deliveries(
        session, service.DeliveryFilters(endpoint_id, event_id, state), cursor, limit
    )


@router.get("/deliveries/{delivery_id}", response_model=DeliveryDetail)
def get_delivery(delivery_id: str, session: ReadSession, _: WebhooksRead):
    """A delivery with every attempt: time, duration, status and the start of the answer."""
    return service.get_delivery_detail(session, delivery_id)
