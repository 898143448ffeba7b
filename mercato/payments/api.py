"""Payment provider webhooks: verified with the provider's own scheme, then applied."""

from fastapi import APIRouter, Request

from mercato.auth.dependencies import WriteSession
from mercato.checkout import service as checkout_service

router = APIRouter(prefix="/payments", tags=["payments"])


@router.post("/webhooks/{provider}")
async def provider_webhook(provider: str, request: Request, session: WriteSession):
    payload = await request.body()
    outcome = checkout_service.on_payment_event(session, provider, payload, request.headers)
    return {"outcome": outcome}
