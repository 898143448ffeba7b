"""Orders the merchant enters (a phone or manual sale, a till's sale sent through the API):
created as any order, then screened by the fraud rules when screening is on, in the same
transaction, by what the order says of its buyer (email, phone, countries, amount). Such
an order has no payment at Mercato, so a cancel by the rules cancels it at once."""

from __future__ import annotations

from sqlalchemy.orm import Session

from mercato.orders import creation, screening
from mercato.orders.models import Order
from mercato.orders.schemas import OrderCreate


def create(session: Session, data: OrderCreate, actor: str) -> tuple[Order, bool]:
    """(order, created); an order found again (same channel and external id) is not
    screened again."""
    order, created = creation.create_order(session, data, actor=actor)
    if created and order.status != "cancelled":
        screening.screen(session, order, screening.signals_of(order))
    return order, created
