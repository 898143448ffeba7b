"""``/webhooks/{channel_id}``: platform order webhooks. No bearer token: the signature is
the authentication. Parse, call the intake service, answer — fast; the worker processes."""

from fastapi import APIRouter, Request, Response
from fastapi.responses import PlainTextResponse
from starlette.concurrency import run_in_threadpool

from mercato.db import transaction
from mercato.orders import intake

router = APIRouter(prefix="/webhooks", tags=["platform webhooks"])


async def _body(request: Request) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit():
        intake.check_size(int(declared))
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        intake.check_size(size)
        chunks.append(chunk)
    return b"".join(chunks)


@router.post("/{channel_id}", include_in_schema=True)
async def receive(channel_id: str, request: Request):
    """Verify the platform's signature on the raw bytes, store the event once, queue it."""
    raw = await _body(request)

    def store():
        with transaction(request.app.state.write_sessions) as session:
            return intake.receive(session, channel_id, raw, request.headers)

    receipt = await run_in_threadpool(store)
    return {"received": receipt.event_id, "duplicate": receipt.duplicate}


@router.get("/{channel_id}", response_class=PlainTextResponse)
def verify_subscription(channel_id: str, request: Request) -> Response:
    """Meta's ``hub.challenge`` check."""
    with request.app.state.read_sessions() as session:
        answer = intake.challenge(session, channel_id, dict(request.query_params))
    return PlainTextResponse(answer)
