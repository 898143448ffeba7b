"""The dashboard's bulk actions on selected orders: fulfil, cancel or refund each, a
refusal named without holding the others back."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from mercato.db import transaction
from mercato.errors import FieldError, MercatoError, ValidationFailed
from mercato.orders import fulfillment, lifecycle, refunds
from mercato.orders.models import Order, Refund
from mercato.orders.schemas import FulfillmentCreate, RefundCreate


@dataclass
class BulkResult:
    verb: str
    done: int
    refused: list[str]
    refund_ids: list[str] = field(default_factory=list)


BULK_ACTIONS = {"fulfil": "fulfilled", "cancel": "cancelled", "refund": "refunded"}


def bulk_action(
    sessions: sessionmaker[Session],
    order_ids: Sequence[str],
    action: str,
    *,
    carrier: str | None = None,
    actor: str = "api",
) -> BulkResult:
    """The selected orders' bulk action, in one transaction; the checkout orders' refunds
    then go to their provider, and a refused one is named."""
    with transaction(sessions) as session:
        outcome = _each_in_a_savepoint(session, order_ids, action, carrier, actor)
        dues = [
            due
            for record in session.scalars(select(Refund).where(Refund.id.in_(outcome.refund_ids)))
            if (due := refunds.due_of(session, record)) is not None
        ]
    for due in dues:
        made = refunds.finish(sessions, due, actor)
        if made.status == "failed":
            outcome.done -= 1
            outcome.refused.append(f"#{due.order_number}: refund failed: {made.failure_message}")
    return outcome


def _each_in_a_savepoint(
    session: Session, order_ids: Sequence[str], action: str, carrier: str | None, actor: str
) -> BulkResult:
    """Fulfil (all that is left, with ``carrier``), cancel (restocking) or refund (all
    that remains) each order in its own savepoint: a refused order is left as it was and
    named with the reason; the others go ahead."""
    if action not in BULK_ACTIONS:
        raise ValidationFailed(
            "Choose what to do with the selected orders.",
            [FieldError(("action",), f"one of {', '.join(BULK_ACTIONS)}")],
        )
    if not order_ids:
        raise ValidationFailed(
            "Select at least one order.", [FieldError(("order_id",), "none selected")]
        )
    outcome = BulkResult(BULK_ACTIONS[action], 0, [])
    for order_id in order_ids:
        try:
            with session.begin_nested():
                if action == "fulfil":
                    fulfillment.fulfil(session, order_id, FulfillmentCreate(carrier=carrier), actor)
                elif action == "cancel":
                    lifecycle.cancel(session, order_id, "bulk cancel", True, actor)
                else:
                    made = refunds.record_refund(
                        session, order_id, RefundCreate(restock=True), actor
                    )
                    outcome.refund_ids.append(made.id)
            outcome.done += 1
        except MercatoError as exc:
            order = session.get(Order, order_id)
            name = f"#{order.number}" if order else order_id
            details = "; ".join(e.message for e in exc.errors)
            outcome.refused.append(f"{name}: {exc.detail} {details}".strip())
    return outcome
