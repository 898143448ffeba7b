from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response, status

from mercato.orders import fulfillment, lifecycle, manual, queries, refunds, returns
from mercato.orders.auth import OrdersRead, OrdersWrite
from mercato.orders.schemas import (
    CancelRequest,
    FulfillmentCreate,
    FulfillmentPublic,
    HoldRequest,
    OrderCreate,
    OrderDetail,
    OrderPage,
    OrderPublic,
    RefundCreate,
    RefundPublic,
    ReturnCreate,
    ReturnPublic,
    TrackingUpdate,
)
from mercato.system import audit
from mercato.web.sessions import ReadSession, SessionFactories, WriteSession

router = APIRouter(prefix="/orders", tags=["orders"])
OrderStatus = Literal["pending", "open", "on_hold", "completed", "cancelled"]


def _detail(session, order) -> OrderDetail:
    return OrderDetail.model_validate(
        {
            **OrderPublic.model_validate(order).model_dump(),
            "fulfillments": queries.fulfillments_of(session, order.id),
            "refunds": queries.refunds_of(session, order.id),
            "returns": queries.returns_of(session, order.id),
        }
    )


@router.get("", response_model=OrderPage)
def list_orders(
    session: ReadSession,
    _: OrdersRead,
    status: OrderStatus | None = None,
    channel: str | None = None,
    placed_since: datetime | None = None,
    placed_before: datetime | None = None,
    q: Annotated[str | None, Query(description="Order number, email, name or external id")] = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=queries.MAX_PAGE_SIZE)] = 50,
):
    filters = queries.OrderFilters(
        status=status, channel=channel, placed_since=placed_since, placed_before=placed_before, q=q
    )
    return queries.list_orders(session, filters, cursor=cursor, limit=limit)


@router.post("", response_model=OrderDetail, status_code=status.HTTP_201_CREATED)
def create_order(data: OrderCreate, session: WriteSession, token: OrdersWrite, response: Response):
    """Create an order (a phone or manual sale, a till's). The same channel + external_id
    returns the existing order with 200. With fraud screening on, a new order is screened
    (held for review or cancelled by the rules, as the checkout's orders are)."""
    order, created = manual.create(session, data, actor=f"token:{token.name}")
    if not created:
        response.status_code = status.HTTP_200_OK
    return _detail(session, order)


@router.get("/{order_id}", response_model=OrderDetail)
def get_order(order_id: str, session: ReadSession, token: OrdersRead, sessions: SessionFactories):
    """The order, its buyer's details among it (the read is in the audit log)."""
    order = _detail(session, queries.find_order(session, order_id))
    audit.viewed(sessions, token, order_id)
    return order


@router.post(
    "/{order_id}/fulfillments",
    response_model=FulfillmentPublic,
    status_code=status.HTTP_201_CREATED,
)
def fulfil(order_id: str, data: FulfillmentCreate, session: WriteSession, token: OrdersWrite):
    return fulfillment.fulfil(session, order_id, data, actor=f"token:{token.name}")


@router.put("/{order_id}/fulfillments/{fulfillment_id}/tracking", response_model=FulfillmentPublic)
def update_tracking(
    order_id: str,
    fulfillment_id: str,
    data: TrackingUpdate,
    session: WriteSession,
    token: OrdersWrite,
):
    """Add or correct a shipment's carrier and tracking; the platform is told."""
    return fulfillment.update_tracking(
        session, order_id, fulfillment_id, data, actor=f"token:{token.name}"
    )


@router.post(
    "/{order_id}/refunds", response_model=RefundPublic, status_code=status.HTTP_201_CREATED
)
def refund(order_id: str, data: RefundCreate, sessions: SessionFactories, token: OrdersWrite):
    """Refund; an order paid at Mercato's checkout gets its money back through the payment
    provider first (a refusal is a 409 and is kept on the order as a failed refund)."""
    return refunds.refund(sessions.write, order_id, data, actor=f"token:{token.name}")


@router.post("/{order_id}/cancel", response_model=OrderDetail)
def cancel(order_id: str, data: CancelRequest, session: WriteSession, token: OrdersWrite):
    order = lifecycle.cancel(
        session, order_id, data.reason, data.restock, actor=f"token:{token.name}"
    )
    return _detail(session, order)


@router.post("/{order_id}/hold", response_model=OrderDetail)
def hold(order_id: str, data: HoldRequest, session: WriteSession, token: OrdersWrite):
    return _detail(
        session, lifecycle.hold(session, order_id, data.reason, actor=f"token:{token.name}")
    )


@router.post("/{order_id}/release", response_model=OrderDetail)
def release(order_id: str, session: WriteSession, token: OrdersWrite):
    return _detail(session, lifecycle.release(session, order_id, actor=f"token:{token.name}"))


@router.post(
    "/{order_id}/returns", response_model=ReturnPublic, status_code=status.HTTP_201_CREATED
)
def request_return(order_id: str, data: ReturnCreate, session: WriteSession, token: OrdersWrite):
    return returns.request_return(session, order_id, data, actor=f"token:{token.name}")


@router.post("/{order_id}/returns/{return_id}/receive", response_model=ReturnPublic)
def receive_return(order_id: str, return_id: str, session: WriteSession, token: OrdersWrite):
    return returns.receive_return(session, order_id, return_id, actor=f"token:{token.name}")


@router.post("/{order_id}/returns/{return_id}/refund", response_model=ReturnPublic)
def refund_return(order_id: str, return_id: str, sessions: SessionFactories, token: OrdersWrite):
    return returns.refund_return(sessions.write, order_id, return_id, actor=f"token:{token.name}")
