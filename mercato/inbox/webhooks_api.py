"""``/webhooks/whatsapp/{account_id}``: Meta's subscription check (GET) and its signed
notifications (POST). No bearer token: the signature is the authentication."""

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse

from mercato.inbox import receiving
from mercato.web.requests import RawBody
from mercato.web.sessions import ReadSession, WriteSession

router = APIRouter(prefix="/webhooks/whatsapp", tags=["platform webhooks"])


@router.get("/{account_id}", response_class=PlainTextResponse)
def verify(account_id: str, request: Request, session: ReadSession):
    """Meta's subscription check: the challenge back when the verify token matches."""
    return receiving.verify_subscription(session, account_id, request.query_params)


@router.post("/{account_id}")
def receive(account_id: str, raw: RawBody, request: Request, session: WriteSession):
    """Verify the signature on the raw bytes and store each message once."""
    receipt = receiving.receive(session, account_id, raw, request.headers)
    return {
        "stored": receipt.stored,
        "duplicates": receipt.duplicates,
        "statuses": receipt.statuses,
    }
