"""Checkout JSON API for other heads. The checkout token is the buyer's key to their
checkout, so these endpoints take no API token (codes are made under /offers)."""

import re
from typing import Annotated

import orjson
from fastapi import APIRouter, Header, Request, Response, status
from fastapi.responses import JSONResponse

from mercato.checkout import batches, completion, paying, service
from mercato.checkout.limits import VISITOR_COOKIE, visitor_key
from mercato.checkout.schemas import (
    CheckoutComplete,
    CheckoutCreate,
    CheckoutCreated,
    CheckoutPublic,
    CheckoutUpdate,
    CompletionPublic,
)
from mercato.errors import FieldError, ValidationFailed
from mercato.problems import problem
from mercato.web.address_limits import count_checkout_start
from mercato.web.clients import client_signals
from mercato.web.requests import RawBody
from mercato.web.sessions import ReadSession, SessionFactories

router = APIRouter(tags=["checkout"])


def public(view: service.View) -> dict:
    c = view.checkout
    return {
        **{
            k: getattr(c, k)
            for k in (
                "id",
                "status",
                "currency",
                "locale",
                "expires_at",
                "email",
                "phone",
                "shipping_address",
                "shipping_rate",
                "subtotal",
                "discount_total",
                "shipping_total",
                "tax_total",
                "taxes_included",
                "total",
                "order_id",
                "market",
                "duties_total",
                "duties_mode",
                "duties_known",
                "tax_reason",
                "tax_id",
            )
        },
        "discount_code": c.codes[0] if c.codes else None,
        "discount_codes": c.codes,
        "discounts": [dict(d) for d in c.discount_codes],
        "fx_rate": str(c.fx_rate) if c.fx_rate is not None else None,
        "fx_date": c.fx_date.isoformat() if c.fx_date else None,
        "attribution": {k: v for k, v in c.attribution.items() if not k.startswith("_")},
        "shipping_options": [
            {"code": r.code, "name": r.name, "days": r.days, "price": view.shipping_prices[r.code]}
            for r in view.shipping_options
        ],
        "lines": [
            {
                "variant_id": d.variant_id,
                "sku": d.sku,
                "title": d.title,
                "variant_title": d.variant_title,
                "image_url": d.image_url,
                "quantity": d.line.quantity,
                "unit_price": d.line.unit_price,
                "discount": d.line.discount,
                "tax": d.line.tax,
            }
            for d in view.lines
        ],
        "tax_name": view.tax_name,
        "saved_payment_method": view.saved_payment_method,
        "order_number": view.order.number if view.order else None,
    }


def rendered(body: dict, status_code: int = 200) -> Response:
    """The answer as the response model would write it (UTC as Z), without validating
    again what ``public`` built from the checkout: a third of a request's cost was
    FastAPI's validation and encoding of this one dict."""
    return Response(
        orjson.dumps(body, option=orjson.OPT_UTC_Z),
        status_code=status_code,
        media_type="application/json",
    )


_TOKEN = "0token0"  # stands for the token in the return path, found once per app


def return_url(request: Request, token: str) -> str:
    # From the configured address, never from the request's Host header. The path is
    # looked up once: url_path_for walks every route (4% of a drop's CPU when asked each time).
    state = request.app.state
    template = getattr(state, "checkout_return_url", None)
    if template is None:
        base = state.settings.base_url.rstrip("/")
        template = state.checkout_return_url = base + request.app.url_path_for(
            "checkout_return", token=_TOKEN
        )
    return template.replace(_TOKEN, token)


# Answers the attempt keeps (committed), written as problems.
PROBLEMS = {
    "declined": (402, paying.PaymentDeclined),
    "total_changed": (409, completion.TotalChanged),
    "failed": (409, completion.OrderNotPlaced),
}


CANCELLED = "The order was cancelled after payment, and the payment refunded in full."


def completion_response(done: paying.Completion, path: str) -> JSONResponse:
    if done.status in PROBLEMS:
        status_code, kind = PROBLEMS[done.status]
        return problem(
            status_code,
            kind.slug,
            kind.title,
            done.message or kind.title,
            path,
            total=done.checkout.total,
            currency=done.checkout.currency,
        )
    order = done.order
    cancelled = order is not None and order.status == "cancelled"
    body = CompletionPublic(
        status=done.status,
        order_id=order.id if order else None,
        order_number=order.number if order else None,
        order_status=order.status if order else None,
        next_action_url=done.next_action_url,
        message=CANCELLED if cancelled else done.message,
    )
    return rendered(body.model_dump(mode="json"), 200 if done.status == "completed" else 202)


# Checkouts started together are written together, and orders of checkouts paid
# together placed together: one batcher of each per process, found by the handler itself
# (as a dependency, FastAPI solved it anew on every request).


# Paying keeps its Idempotency-Key as the attempt's own (``completion``): the API's
# generic replay of keyed POSTs leaves it to the handler.
PAYING_PATH = re.compile(r"/api/v1/checkouts/[^/]+/complete")


def _starter(request: Request) -> batches.StartBatcher:
    return batches.StartBatcher.of(request.app.state, "checkout_starter")


def _beginner(request: Request) -> batches.BeginBatcher:
    return batches.BeginBatcher.of(request.app.state, "checkout_beginner")


def _placer(request: Request) -> batches.PlacementBatcher:
    return batches.PlacementBatcher.of(request.app.state, "checkout_placer")


@router.post("/checkouts", response_model=CheckoutCreated, status_code=status.HTTP_201_CREATED)
async def create_checkout(data: CheckoutCreate, request: Request):
    """Start a checkout; its stock is held for 15 minutes. Keep the returned token."""
    count_checkout_start(request)
    visitor = visitor_key(request.cookies.get(VISITOR_COOKIE))
    created = await _starter(request).submit(service.Start(data, visitor))
    return rendered({**public(created.shown), "token": created.token}, status.HTTP_201_CREATED)


@router.get("/checkouts/{token}", response_model=CheckoutPublic)
def get_checkout(token: str, session: ReadSession):
    return rendered(public(service.view(session, service.get_checkout(session, token))))


@router.patch("/checkouts/{token}", response_model=CheckoutPublic)
async def update_checkout(token: str, data: CheckoutUpdate, request: Request):
    """Set the buyer's details; written with those other buyers send at the same moment."""
    updater = batches.UpdateBatcher.of(request.app.state, "checkout_updater")
    return rendered(public(await updater.submit(batches.Update(token, data))))


@router.post(
    "/checkouts/{token}/complete",
    response_model=CompletionPublic,
    responses={
        402: {"description": "Payment declined"},
        409: {
            "description": "The total changed (nothing charged), or the order could not be "
            "placed (the payment was refunded)"
        },
        429: {"description": "Too many attempts"},
    },
)
async def complete_checkout(
    token: str,
    data: CheckoutComplete,
    request: Request,
    sessions: SessionFactories,
    idempotency_key: Annotated[str | None, Header()] = None,
):
    """Pay the total the buyer was shown (expected_total) and place the order. Send an
    Idempotency-Key: a retry makes one order and one charge. 202 with next_action_url
    when the bank asks the buyer to authenticate. The provider is asked with no
    transaction open, so this handler runs its own transactions (in the thread pool),
    and the order is placed with those of the buyers paying at the same moment."""
    attempt_key = data.attempt_key or idempotency_key
    if not attempt_key:
        raise ValidationFailed(
            "Send an Idempotency-Key header (or attempt_key).",
            [FieldError(("attempt_key",), "required", "required")],
        )
    done = await batches.complete(
        _beginner(request),
        _placer(request),
        sessions.write,
        token,
        data,
        attempt_key=attempt_key,
        return_url=return_url(request, token),
        client=client_signals(request, data.device_id, request.cookies.get(VISITOR_COOKIE)),
    )
    return completion_response(done, request.url.path)


@router.post("/payments/webhooks/{provider}", tags=["payments"])
def provider_webhook(provider: str, payload: RawBody, request: Request, sessions: SessionFactories):
    """The provider is asked again before an order is placed, with no transaction open:
    the saga runs in its own transactions, in the thread pool."""
    outcome = completion.on_payment_event(sessions.write, provider, payload, request.headers)
    return {"outcome": outcome}
