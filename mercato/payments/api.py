"""Payment provider settings (admin) and provider webhooks, verified with the provider's
own scheme, then applied."""

from fastapi import APIRouter, Request

from mercato.checkout import completion
from mercato.payments import service
from mercato.payments.auth import PaymentsAdmin
from mercato.payments.schemas import ProviderPublic, ProviderUpdate
from mercato.web.requests import RawBody
from mercato.web.sessions import ReadSession, SessionFactories, WriteSession

router = APIRouter(prefix="/payments", tags=["payments"])


@router.get("/provider", response_model=ProviderPublic)
def get_provider(session: ReadSession, _: PaymentsAdmin):
    """The provider taking payments, secrets masked."""
    return service.active_settings(session)


@router.put("/provider", response_model=ProviderPublic)
def put_provider(data: ProviderUpdate, session: WriteSession, _: PaymentsAdmin):
    """Choose the provider and set its keys (stored encrypted; left-out keys are kept)."""
    service.configure(
        session,
        data.name,
        secret_key=data.secret_key,
        public_key=data.publishable_key,
        webhook_secret=data.webhook_secret,
        api_base=data.api_base or None,
    )
    return service.active_settings(session)


@router.post("/webhooks/{provider}")
def provider_webhook(provider: str, payload: RawBody, request: Request, sessions: SessionFactories):
    """The provider is asked again before an order is placed, with no transaction open:
    the saga runs in its own transactions, in the thread pool."""
    outcome = completion.on_payment_event(sessions.write, provider, payload, request.headers)
    return {"outcome": outcome}
