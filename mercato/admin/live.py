"""The dashboard's live pages: the events, and one event's control page (start, pin a
product with a live price, change it, watch units left and sales per channel, end)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request

from mercato.admin.pages import Admin, _actor, _form_action, _page
from mercato.errors import FieldError, ValidationFailed
from mercato.live import service
from mercato.live.schemas import PinInput
from mercato.money import MoneyError, to_minor
from mercato.web.sessions import ReadSession, WriteSession

router = APIRouter(prefix="/admin/live", include_in_schema=False)
Csrf = Annotated[str, Form()]


@router.get("")
def event_list(request: Request, session: ReadSession, admin: Admin):
    return _page(
        request, "live.html", admin, events=service.list_events(session), here="/admin/live"
    )


@router.get("/{event_id}")
def control(request: Request, event_id: str, session: ReadSession, admin: Admin):
    event = service.get_event(session, event_id)
    return _page(
        request,
        "live_event.html",
        admin,
        event=event,
        products=service.products_of(session, event),
        stock=service.stock(session, event_id),
        counters=service.counters(session, event_id),
        moments=list(reversed(service.moments(session, event_id)))[:50],
        here="/admin/live",
    )


def _act(session, admin, csrf: str, event_id: str, action, done: str):
    """One control of the event, back to its page (``_form_action``: CSRF, scope, a
    refusal rolled back and said)."""

    def act() -> str:
        action(_actor(admin))
        return done

    return _form_action(session, admin, csrf, "live:write", f"/admin/live/{event_id}", act)


@router.post("/{event_id}/start")
def start(event_id: str, session: WriteSession, admin: Admin, csrf: Csrf):
    return _act(
        session,
        admin,
        csrf,
        event_id,
        lambda actor: service.start(session, event_id, actor=actor),
        "Live now.",
    )


@router.post("/{event_id}/end")
def end(event_id: str, session: WriteSession, admin: Admin, csrf: Csrf):
    return _act(
        session,
        admin,
        csrf,
        event_id,
        lambda actor: service.end(session, event_id, actor=actor),
        "Ended; pools let go.",
    )


def _price(session, event_id: str, text: str) -> int | None:
    """A price as typed (12.50) into minor units of the event's currency; empty: none."""
    text = text.strip()
    if not text:
        return None
    currency = service.get_event(session, event_id).currency
    try:
        return to_minor(text, currency)
    except MoneyError as exc:
        raise ValidationFailed(f"{exc}.", [FieldError(("live_price",), str(exc))]) from None


@router.post("/{event_id}/pin")
def pin(
    event_id: str,
    session: WriteSession,
    admin: Admin,
    csrf: Csrf,
    variant_id: Annotated[str, Form()],
    live_price: Annotated[str, Form()] = "",
):
    def action(actor):
        data = PinInput(variant_id=variant_id, live_price=_price(session, event_id, live_price))
        service.pin(session, event_id, data, actor=actor)

    return _act(session, admin, csrf, event_id, action, "Pinned.")


@router.post("/{event_id}/unpin")
def unpin(event_id: str, session: WriteSession, admin: Admin, csrf: Csrf):
    return _act(
        session,
        admin,
        csrf,
        event_id,
        lambda actor: service.unpin(session, event_id, actor=actor),
        "Unpinned.",
    )


@router.post("/{event_id}/price")
def price(
    event_id: str,
    session: WriteSession,
    admin: Admin,
    csrf: Csrf,
    live_price: Annotated[str, Form()] = "",
):
    return _act(
        session,
        admin,
        csrf,
        event_id,
        lambda actor: service.set_live_price(
            session, event_id, _price(session, event_id, live_price), actor=actor
        ),
        "Live price changed.",
    )
