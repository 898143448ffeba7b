"""An order's timeline: what happened to it, line by line (``OrderActivity``)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from mercato.db import utcnow
from mercato.orders.models import Order, OrderActivity


def note(session: Session, order_id: str, actor: str, kind: str, message: str, **data) -> None:
    """A line on the timeline that changes nothing else (e.g. a push to the platform)."""
    order = session.get(Order, order_id)
    if order is not None:
        session.add(
            OrderActivity(
                order_id=order_id,
                at=utcnow(),
                actor=actor,
                kind=kind,
                message=message,
                data={k: v for k, v in data.items() if v is not None},
            )
        )
