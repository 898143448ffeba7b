from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Header, Query, Request
from sse_starlette import EventSourceResponse

from mercato import wakeups
from mercato.events import service, stream
from mercato.events.auth import EventsRead
from mercato.events.schemas import EventPage, EventPublic
from mercato.web.sessions import ReadSession, SessionFactories

router = APIRouter(tags=["events"])

# A seq is a 64-bit integer in the database; a larger one is a 422, not a failed query.
MAX_SEQ = 2**63 - 1
TypeQuery = Annotated[
    list[str] | None,
    Query(alias="type", description='Event type, "<resource>.*" or "*"; repeat for several'),
]


def _filters(types, key, since=None, until=None) -> service.EventFilters:
    return service.EventFilters(
        types=service.check_type_patterns(types, ("query", "type")) if types else None,
        key=key,
        since=since,
        until=until,
    )


@router.get("/events", response_model=EventPage)
def list_events(
    session: ReadSession,
    _: EventsRead,
    types: TypeQuery = None,
    key: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    order: Literal["newest", "oldest"] = "newest",
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=service.MAX_PAGE_SIZE)] = 50,
):
    """Recorded events. To follow new ones as they happen, use `/events/stream` or a
    webhook endpoint."""
    return service.list_events(
        session,
        _filters(types, key, since, until),
        cursor=cursor,
        limit=limit,
        newest_first=order == "newest",
    )


@router.get(
    "/events/stream",
    response_class=EventSourceResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
def stream_events(
    request: Request,
    _: EventsRead,
    sessions: SessionFactories,
    types: TypeQuery = None,
    key: str | None = None,
    last_event_id: Annotated[
        int | None,
        Header(
            ge=0, le=MAX_SEQ, description="Resume after this seq (browsers send it on reconnect)"
        ),
    ] = None,
    after: Annotated[
        int | None, Query(ge=0, le=MAX_SEQ, description="Same as Last-Event-ID")
    ] = None,
):
    """Server-Sent Events: each new event as it commits, in order; `id` is its seq."""
    resume = last_event_id if last_event_id is not None else after
    filters = _filters(types, key)
    release = wakeups.listen(request.app.state.engine)  # other processes' commits wake it
    return EventSourceResponse(
        stream.follow(sessions.read, filters, resume, on_close=release),
        ping=15,
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


@router.get("/events/{event_id}", response_model=EventPublic)
def get_event(event_id: str, session: ReadSession, _: EventsRead):
    return service.get_event(session, event_id)
