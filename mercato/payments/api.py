"""Payment provider settings (admin). The provider's webhooks complete checkouts, so
their route lives with checkout (``mercato.checkout.api``)."""

from fastapi import APIRouter

from mercato.payments import service
from mercato.payments.auth import PaymentsAdmin
from mercato.payments.schemas import ProviderPublic, ProviderUpdate
from mercato.web.sessions import ReadSession, WriteSession

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
