"""``/webhooks/{platform}/{account_id}`` for WhatsApp, Messenger and Instagram accounts:
Meta's subscription check (GET) and its signed notifications (POST). No bearer token: the
signature is the authentication. Parse, hand to the inbox's batch writer, answer: fast."""

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from mercato.db import transaction
from mercato.inbox import receiving
from mercato.web.requests import body_of_at_most
from mercato.web.sessions import ReadSession

router = APIRouter(prefix="/webhooks", tags=["platform webhooks"])


@router.get("/{platform}/{account_id}", response_class=PlainTextResponse)
def verify(platform: str, account_id: str, request: Request, session: ReadSession):
    """Meta's subscription check: the challenge back when the verify token matches."""
    return receiving.verify_subscription(session, platform, account_id, request.query_params)


@router.post("/{platform}/{account_id}")
async def receive(platform: str, account_id: str, request: Request):
    """Verify the signature on the raw bytes and store each message once."""
    raw = await body_of_at_most(request, receiving.MAX_BODY)
    delivery = receiving.Delivery(platform, account_id, raw, dict(request.headers))
    state = request.app.state
    if state.settings.webhook_group_commit:
        batcher = receiving.InboxBatcher.of(state, "inbox_batcher")
        receipt = await batcher.submit(delivery)
    else:
        receipt = await run_in_threadpool(_receive_alone, state.sessions.write, delivery)
    return {
        "stored": receipt.stored,
        "duplicates": receipt.duplicates,
        "statuses": receipt.statuses,
    }


def _receive_alone(
    sessions: sessionmaker[Session], delivery: receiving.Delivery
) -> receiving.Receipt:
    with transaction(sessions) as session:
        return receiving.receive(
            session, delivery.platform, delivery.account_id, delivery.raw, delivery.headers
        )
