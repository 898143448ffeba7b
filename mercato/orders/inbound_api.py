"""``/webhooks/{channel_id}``: platform order webhooks. No bearer token: the signature is
the authentication. Parse, call the intake service, answer — fast; the worker processes."""

from fastapi import APIRouter, Request

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
    state = request.app.state
    if getattr(state, "intake_desk", None) is None:
        state.intake_desk = intake.IntakeDesk(state.sessions.write)
    receipt = await state.intake_desk.submit(
        intake.Delivery(channel_id, raw, dict(request.headers))
    )
    return {"received": receipt.event_id, "duplicate": receipt.duplicate}
