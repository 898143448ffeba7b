"""``/webhooks/{channel_id}``: platform order webhooks. No bearer token: the signature is
the authentication. Parse, call the intake service, answer — fast; the worker processes."""

from fastapi import APIRouter, Request
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from mercato.db import transaction
from mercato.orders import intake
from mercato.web.requests import body_of_at_most

router = APIRouter(prefix="/webhooks", tags=["platform webhooks"])


@router.post("/{channel_id}", include_in_schema=True)
async def receive(channel_id: str, request: Request):
    """Verify the platform's signature on the raw bytes, store the event once, queue it."""
    raw = await body_of_at_most(request, intake.MAX_BODY)
    state = request.app.state
    delivery = intake.Delivery(channel_id, raw, dict(request.headers))
    if state.settings.webhook_group_commit:
        batcher = intake.WebhookBatcher.of(state, "webhook_batcher")
        receipt = await batcher.submit(delivery)
    else:
        receipt = await run_in_threadpool(_receive_alone, state.sessions.write, delivery)
    return {"received": receipt.event_id, "duplicate": receipt.duplicate}


def _receive_alone(sessions: sessionmaker[Session], delivery: intake.Delivery) -> intake.Receipt:
    with transaction(sessions) as session:
        return intake.receive(session, delivery.channel_id, delivery.raw, delivery.headers)
