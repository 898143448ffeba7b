"""Refunding an order paid through Mercato's checkout, as a saga (as paying is).

1. Check the refund and record it as pending, naming its payment, in one transaction;
   its id is the provider's idempotency key.
2. Ask the provider to return the money, with no transaction and no lock open.
3. Record the answer in another transaction: refunded (counted, restocked as chosen,
   the buyer's mail), or failed with the provider's reason and nothing counted.

A provider that does not answer leaves the refund pending; ``reconcile`` asks again
with the same key, so the money goes back once, also after a crash between steps.
Orders from a platform are refunded on the platform (the order push), not here.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from mercato.db import transaction, utcnow
from mercato.errors import Conflict, FieldError, ValidationFailed
from mercato.money import format_plain
from mercato.orders import service as orders
from mercato.orders.models import Order, Refund, Return
from mercato.orders.schemas import RefundCreate
from mercato.payments import service as payments
from mercato.payments.models import Payment
from mercato.payments.providers import (
    SUCCEEDED,
    PaymentProvider,
    ProviderError,
    ProviderUnreachable,
)

log = logging.getLogger(__name__)
# A refund pending this long has lost the request that made it: the reconciler takes it.
RECONCILE_AFTER = timedelta(minutes=2)
# A checkout payment that still holds money to give back.
REFUNDABLE = (SUCCEEDED, "partially_refunded")


class RefundFailed(Conflict):
    """The provider refused the refund: it is recorded as failed, nothing was returned."""

    slug = "refund-failed"
    title = "Refund failed"


@dataclass
class Due:
    """A refund recorded as pending: what to ask the provider."""

    refund_id: str
    order_number: int
    provider: PaymentProvider
    intent_ref: str
    amount: int


def refund(
    sessions: sessionmaker[Session], order_id: str, data: RefundCreate, actor: str = "api"
) -> Refund:
    """Refund an order (see ``orders.refund`` for what is refunded). A checkout order's
    money goes back through its payment provider before the refund counts; the
    returned refund is refunded, or pending when the provider did not answer (the
    reconciler asks again); a refusal is recorded on the order and raised."""
    with transaction(sessions) as session:
        record = record_refund(session, order_id, data, actor)
        due = _due(session, record)
    return record if due is None else _raise_failed(finish(sessions, due, actor))


def _raise_failed(record: Refund) -> Refund:
    if record.status == "failed":
        raise RefundFailed(
            f"The payment provider refused the refund of "
            f"{format_plain(record.amount, record.currency)} {record.currency}: "
            f"{record.failure_message} Nothing was refunded.",
            extra={"refund_id": record.id},
        )
    return record


def record_refund(session: Session, order_id: str, data: RefundCreate, actor: str) -> Refund:
    """Step 1: check and record (pending when the money goes back through a provider)."""
    # The payment first, then the order: every refund path locks in that order.
    payment = session.scalar(
        select(Payment)
        .where(Payment.order_id == order_id, Payment.status.in_(REFUNDABLE))
        .with_for_update()
    )
    record = orders.refund(session, order_id, data, actor, payment_id=payment and payment.id)
    if payment is not None:
        held = int(
            session.scalar(
                select(func.coalesce(func.sum(Refund.amount), 0)).where(
                    Refund.payment_id == payment.id, Refund.status == "pending"
                )
            )
        )
        if payment.refunded + held > payment.amount:
            left = payment.amount - payment.refunded - held + record.amount
            raise ValidationFailed(
                "The refund amount is not possible.",
                [
                    FieldError(
                        ("amount",),
                        f"{format_plain(record.amount, record.currency)} {record.currency} "
                        f"exceeds what the payment has left to refund "
                        f"({format_plain(left, record.currency)} {record.currency})",
                    )
                ],
            )
    return record


def _due(session: Session, record: Refund) -> Due | None:
    if record.status != "pending":
        return None
    payment = session.get(Payment, record.payment_id)
    order = session.get(Order, record.order_id)
    return Due(
        record.id,
        order.number,
        payments.provider(session, payment.provider),
        payment.intent_ref,
        record.amount,
    )


def finish(sessions: sessionmaker[Session], due: Due, actor: str = "api") -> Refund:
    """Steps 2 and 3: the provider, with nothing open here; then its answer, recorded."""
    try:
        ref = due.provider.refund(
            due.intent_ref, due.amount, idempotency_key=f"refund:{due.refund_id}"
        )
    except ProviderUnreachable as exc:
        log.warning("Refund %s is left pending: %s", due.refund_id, exc.detail)
        with sessions() as session:
            return session.get(Refund, due.refund_id)
    except ProviderError as exc:
        with transaction(sessions) as session:
            _lock_payment_of(session, due.refund_id)
            return orders.refund_failed(session, due.refund_id, str(exc.detail), actor)
    with transaction(sessions) as session:
        payment = _lock_payment_of(session, due.refund_id)
        record = session.get(Refund, due.refund_id)
        if record.status == "pending":
            payment.refunded += record.amount
            whole = payment.refunded >= payment.amount
            payment.status = "refunded" if whole else "partially_refunded"
            payment.updated_at = utcnow()
        return orders.refund_succeeded(session, due.refund_id, ref, actor)


def _lock_payment_of(session: Session, refund_id: str) -> Payment:
    payment_id = session.scalar(select(Refund.payment_id).where(Refund.id == refund_id))
    return session.get(Payment, payment_id, with_for_update=True)


def bulk_action(
    sessions: sessionmaker[Session],
    order_ids: Sequence[str],
    action: str,
    *,
    carrier: str | None = None,
    actor: str = "api",
) -> orders.BulkOutcome:
    """The selected orders' bulk action (``orders.bulk_action``), in one transaction; the
    checkout orders' refunds then go to their provider, and a refused one is named."""
    with transaction(sessions) as session:
        outcome = orders.bulk_action(
            session, order_ids, action, carrier=carrier, actor=actor, refund_with=record_refund
        )
        dues = [
            due
            for record in session.scalars(select(Refund).where(Refund.id.in_(outcome.refund_ids)))
            if (due := _due(session, record)) is not None
        ]
    for due in dues:
        made = finish(sessions, due, actor)
        if made.status == "failed":
            outcome.done -= 1
            outcome.refused.append(f"#{due.order_number}: refund failed: {made.failure_message}")
    return outcome


def refund_return(
    sessions: sessionmaker[Session], order_id: str, return_id: str, actor: str = "api"
) -> Return:
    """Refund what came back (``orders.refund_return``); a checkout order's money goes
    back through its provider; a refused refund leaves the return received."""
    with transaction(sessions) as session:
        back, record = orders.refund_return(
            session, order_id, return_id, actor, refund_with=record_refund
        )
        due = _due(session, record)
    if due is not None:
        _raise_failed(finish(sessions, due, actor))
    return back


def reconcile(
    sessions: sessionmaker[Session], now: datetime | None = None, limit: int = 100
) -> dict[str, int]:
    """Finish refunds their request left pending (a crash, no answer): ask the provider
    again with the same key. Returns counts by outcome."""
    now = now or utcnow()
    with sessions() as session:
        stale = list(
            session.scalars(
                select(Refund)
                .where(Refund.status == "pending", Refund.updated_at <= now - RECONCILE_AFTER)
                .order_by(Refund.updated_at)
                .limit(limit)
            )
        )
        dues = [_due(session, record) for record in stale]
    outcomes: dict[str, int] = {}
    for due in dues:
        outcome = finish(sessions, due, "reconciler").status
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return outcomes
