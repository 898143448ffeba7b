"""The live viewer page under /shop/live: the stream's links, the pinned product with
its live counter (the counter stream, ``live.stream``: one publish per change, fanned out
to every viewer) and a one-tap buy through the drop's admission gate."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from mercato.checkout import service as checkout
from mercato.checkout.limits import visitor_key
from mercato.checkout.schemas import CheckoutCreate
from mercato.db import transaction
from mercato.errors import MercatoError, RateLimited
from mercato.live import passes, runtime
from mercato.live import service as live
from mercato.storefront.pages import (
    CSRF_COOKIE,
    _buyer,
    _problem_page,
    _see_other,
    check_csrf,
    locale_of,
    page,
)
from mercato.web import address_limits
from mercato.web.requests import PostedForm
from mercato.web.sessions import ReadSession, SessionFactories

router = APIRouter(prefix="/shop/live", include_in_schema=False)


def _runtime(request: Request) -> runtime.LiveRuntime:
    state = request.app.state
    return runtime.of(state)


def _viewer_page(request: Request, session, event_id: str, refused: str | None = None, status=200):
    event = live.get_event(session, event_id)
    return page(
        request,
        "live.html",
        status_code=status,
        event=event,
        pinned=live.pinned_product(session, event),
        counters=live.counters(session, event_id),
        refused=refused,
        returning=_buyer(request) is not None,
    )


@router.get("/{event_id}", response_class=HTMLResponse, name="live_page")
def live_page(request: Request, event_id: str, session: ReadSession):
    try:
        return _viewer_page(request, session, event_id)
    except MercatoError as exc:
        return _problem_page(request, exc)


@router.post("/{event_id}/buy")
def live_buy(request: Request, event_id: str, form: PostedForm, sessions: SessionFactories):
    """Buy the pinned product: through the gate when the drop has one (first come, first
    served), then a checkout at the live price."""
    try:
        check_csrf(request, form.get("csrf", ""))
        quantity = max(1, min(int(form.get("quantity") or 1), 10))
        with sessions.read() as session:
            on_sale = live.offer(session, event_id)
        customer_id = _buyer(request)
        visitor = visitor_key(request.cookies.get(CSRF_COOKIE))
        address = request.client.host if request.client else None
        buyer = customer_id or visitor or address or "anonymous"
        the_gate = _runtime(request).gate
        try:
            answer = live.admit(the_gate, on_sale, buyer, quantity, address)
        except (live.SoldOut, live.BuyerLimit, RateLimited) as refused:
            with sessions.read() as session:
                return _viewer_page(request, session, event_id, refused.detail, refused.status)
        granted = passes.issue(on_sale, answer, quantity)
        passes.use(the_gate, granted)
        address_limits.count_checkout_start(request)
        data = CheckoutCreate(
            lines=[{"variant_id": on_sale.variant_id, "quantity": quantity}],
            currency=on_sale.currency,
            locale=locale_of(request),
            attribution={"source": "live", "campaign": event_id},
        )
        try:
            with transaction(sessions.write) as session:
                created = checkout.create_checkout(
                    session,
                    data,
                    customer_id=customer_id,
                    visitor=visitor,
                    prices=on_sale.prices,
                    admission_ticket=granted.ticket or None,
                )
        except Exception:  # no checkout holds the units: the admission may lapse
            passes.give_back(the_gate, granted)
            raise
        return _see_other(request, "checkout_page", token=created.token)
    except MercatoError as exc:
        return _problem_page(request, exc)
    except ValueError:
        return _problem_page(request, MercatoError("Choose a quantity."))
