from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request, Response, status
from starlette.concurrency import run_in_threadpool

from mercato.checkout import batches
from mercato.checkout import service as checkout
from mercato.checkout.api import public, rendered
from mercato.checkout.limits import VISITOR_COOKIE, visitor_key
from mercato.checkout.schemas import CheckoutCreate, CheckoutCreated
from mercato.live import passes, runtime, service
from mercato.live.auth import LiveRead, LiveWrite
from mercato.live.schemas import (
    AdmissionInput,
    AdmissionPublic,
    BuyInput,
    CountersPublic,
    GateInput,
    LiveEventCreate,
    LiveEventPage,
    LiveEventPublic,
    MomentPublic,
    MoveInput,
    PinInput,
    PoolsInput,
    PriceInput,
    StockPublic,
)
from mercato.web.sessions import ReadSession, WriteSession

router = APIRouter(prefix="/live-events", tags=["live"])

EventId = Annotated[str, Path(max_length=40)]
INSUFFICIENT = {
    409: {"description": "/problems/insufficient-stock: the pools would fence more than is free"}
}


def _actor(token) -> str:
    return f"token:{token.id}"


@router.get("", response_model=LiveEventPage)
def list_events(
    session: ReadSession,
    _: LiveRead,
    state: Literal["scheduled", "live", "ended"] | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
):
    """Live events, newest first."""
    return {
        "items": [service.public(session, e) for e in service.list_events(session, state, limit)]
    }


@router.post("", response_model=LiveEventPublic, status_code=status.HTTP_201_CREATED)
def create_event(data: LiveEventCreate, session: WriteSession, token: LiveWrite):
    """Schedule a live event: where it streams, and its products in running order."""
    return service.public(session, service.create_event(session, data, actor=_actor(token)))


@router.get("/{event_id}", response_model=LiveEventPublic)
def get_event(event_id: EventId, session: ReadSession, _: LiveRead):
    return service.public(session, service.get_event(session, event_id))


@router.post("/{event_id}/start", response_model=LiveEventPublic)
def start_event(event_id: EventId, session: WriteSession, token: LiveWrite):
    """Go live (only a scheduled event)."""
    return service.public(session, service.start(session, event_id, actor=_actor(token)))


@router.post("/{event_id}/end", response_model=LiveEventPublic)
def end_event(event_id: EventId, session: WriteSession, token: LiveWrite):
    """End the event: the pinned product is unpinned and its products' pools let go."""
    return service.public(session, service.end(session, event_id, actor=_actor(token)))


@router.post("/{event_id}/pin", response_model=LiveEventPublic)
def pin(event_id: EventId, data: PinInput, session: WriteSession, token: LiveWrite):
    """Pin a product of the running order, with a live-only price or its own."""
    return service.public(session, service.pin(session, event_id, data, actor=_actor(token)))


@router.post("/{event_id}/unpin", response_model=LiveEventPublic)
def unpin(event_id: EventId, session: WriteSession, token: LiveWrite):
    return service.public(session, service.unpin(session, event_id, actor=_actor(token)))


@router.put("/{event_id}/live-price", response_model=LiveEventPublic)
def set_live_price(event_id: EventId, data: PriceInput, session: WriteSession, token: LiveWrite):
    """Change (or drop, with null) the pinned product's live price."""
    return service.public(
        session,
        service.set_live_price(session, event_id, data.live_price, actor=_actor(token)),
    )


@router.get("/{event_id}/stock", response_model=list[StockPublic])
def get_stock(event_id: EventId, session: ReadSession, _: LiveRead):
    """Each product's free units, its channel pools and what is held back."""
    return service.stock(session, event_id)


@router.put("/{event_id}/pools", response_model=StockPublic, responses=INSUFFICIENT)
def set_pools(event_id: EventId, data: PoolsInput, session: WriteSession, token: LiveWrite):
    """Ring-fence a product's free units per channel (e.g. TikTok 40, storefront 50): each
    channel sells from and is pushed its pool only; the rest is held back."""
    return service.allocate(session, event_id, data, actor=_actor(token))


@router.post("/{event_id}/moves", response_model=StockPublic, responses=INSUFFICIENT)
def move_units(event_id: EventId, data: MoveInput, session: WriteSession, token: LiveWrite):
    """Move unsold units between pools (or from/to the held-back ones)."""
    return service.move_units(session, event_id, data, actor=_actor(token))


@router.get("/{event_id}/moments", response_model=list[MomentPublic])
def list_moments(event_id: EventId, session: ReadSession, _: LiveRead):
    """What happened during the event: pins, prices, sales (and held orders), start, end."""
    return service.moments(session, event_id)


@router.get("/{event_id}/counters", response_model=CountersPublic)
def get_counters(event_id: EventId, session: ReadSession, _: LiveRead):
    """The pinned product's units left and sales per channel, now."""
    return service.counters(session, event_id)


@router.put("/{event_id}/gate", status_code=status.HTTP_204_NO_CONTENT)
def open_gate(
    request: Request, event_id: EventId, data: GateInput, session: WriteSession, token: LiveWrite
):
    """Put a product behind the drop's admission gate: buyers are let in first come,
    first served, up to the event's per-buyer limit, until ``units`` are taken (in Redis
    when MERCATO_REDIS_URL is set)."""
    state = request.app.state
    live = runtime.of(state)
    redis_gate = live.gate if live.redis is not None else None
    service.open_gate(
        session, event_id, data, data.units, redis_gate=redis_gate, actor=_actor(token)
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


REFUSED = {
    409: {"description": "/problems/sold-out, /problems/buyer-limit, or nothing on sale"},
    429: {"description": "Too many tries from this client address"},
}


def _buyer(request: Request) -> tuple[str, str | None, str | None]:
    """Whose per-buyer limit a try counts to (the shop's visitor cookie, else the client
    address), the address the bot throttle counts, and the visitor (None: no cookie)."""
    address = request.client.host if request.client else None
    visitor = visitor_key(request.cookies.get(VISITOR_COOKIE))
    return visitor or address or "anonymous", address, visitor


@router.post(
    "/{event_id}/admission",
    response_model=AdmissionPublic,
    status_code=status.HTTP_201_CREATED,
    responses=REFUSED,
)
def admission(event_id: EventId, data: AdmissionInput, request: Request):
    """Queue for the pinned product: "you're in", with a pass to start the checkout with
    (``POST .../buy``) within five minutes, or "sold out" / "limit reached" at once.
    First come, first served, the event's per-buyer limit per visitor. Public."""
    live = runtime.of(request.app.state)
    buyer, address, _ = _buyer(request)
    on_sale = live.offers.of(event_id)
    answer = service.admit(live.gate, on_sale, buyer, data.quantity, address)
    granted = passes.issue(on_sale, answer, data.quantity)
    body = {
        "admission_pass": granted.token(buyer),
        "expires_at": datetime.fromtimestamp(granted.expires, UTC),
        "place": answer.seq if answer else None,
        "variant_id": granted.variant_id,
        "quantity": granted.quantity,
    }
    return rendered(body, status.HTTP_201_CREATED)


@router.post(
    "/{event_id}/buy",
    response_model=CheckoutCreated,
    status_code=status.HTTP_201_CREATED,
    responses={
        **REFUSED,
        422: {"description": "A pass not given to this buyer for this event, or changed"},
    },
)
async def buy_pinned(event_id: EventId, data: BuyInput, request: Request):
    """Buy the pinned product: a checkout at the live price, as ``POST /checkouts``
    answers it. With an ``admission_pass`` the buyer was let in already; without one,
    through the drop's gate first when it has one. Either way the pass is used up (and
    given back if the checkout is refused). Public, like starting a checkout."""
    state = request.app.state
    live = runtime.of(state)

    def _offer():
        with state.sessions.read() as session:
            return service.offer(session, event_id)

    on_sale = await run_in_threadpool(_offer)
    buyer, address, visitor = _buyer(request)
    if data.admission_pass:
        granted = passes.read(data.admission_pass, event_id, buyer)
        passes.check(granted, on_sale, data.quantity)
    else:  # queue now: the pass is used at once
        quantity = data.quantity or 1
        answer = await run_in_threadpool(
            service.admit, live.gate, on_sale, buyer, quantity, address
        )
        granted = passes.issue(on_sale, answer, quantity)
    await run_in_threadpool(passes.use, live.gate, granted)
    start = CheckoutCreate(
        lines=[{"variant_id": on_sale.variant_id, "quantity": granted.quantity}],
        currency=on_sale.currency,
        email=data.email,
        shipping_address=data.shipping_address,
        attribution=data.attribution or {"source": "live", "campaign": event_id},
        discount_code=data.discount_code,
    )
    starter = batches.StartBatcher.of(state, "checkout_starter")
    try:
        created = await starter.submit(
            checkout.Start(start, visitor, on_sale.prices, granted.ticket or None)
        )
    except Exception:  # refused or failed: no checkout holds the pass's units
        await run_in_threadpool(passes.give_back, live.gate, granted)
        raise
    return rendered({**public(created.shown), "token": created.token}, status.HTTP_201_CREATED)
