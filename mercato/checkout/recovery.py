"""Finishing payments their request left behind (a crash, a lost answer): the provider is
asked how each ended, then its order is placed, the charge given back, or the payment
voided. Run by the ``checkout.reconcile_payments`` job; the provider's idempotency keys
make each step safe to run twice."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, sessionmaker

from mercato.checkout import completion, paying
from mercato.checkout.models import Checkout
from mercato.customers import service as customers
from mercato.db import utcnow
from mercato.payments import service as payments
from mercato.payments.models import Payment
from mercato.payments.providers import (
    DECLINED,
    PROCESSING,
    REQUIRES_ACTION,
    SUCCEEDED,
    UNCONFIRMED,
    ProviderError,
)

log = logging.getLogger(__name__)


def reconcile(
    sessions: sessionmaker[Session], now: datetime | None = None, limit: int = 100
) -> dict[str, int]:
    """Finish payments their request left behind: ask the provider how each ended, then
    place its order, give the charge back, or void it. Returns counts by outcome."""
    now = now or utcnow()
    with sessions() as session:
        stale = list(
            session.scalars(
                select(Payment.id)
                .where(
                    or_(
                        Payment.status.in_(("pending", PROCESSING, REQUIRES_ACTION, "refund_due")),
                        (Payment.status == SUCCEEDED) & Payment.order_id.is_(None),
                    ),
                    Payment.updated_at <= now - completion.RECONCILE_AFTER,
                )
                .order_by(Payment.updated_at)
                .limit(limit)
            )
        )
    outcomes: dict[str, int] = {}
    for payment_id in stale:
        try:
            outcome = _reconcile_one(sessions, payment_id, now)
        except ProviderError as exc:
            log.warning("Payment %s could not be reconciled yet: %s", payment_id, exc.detail)
            outcome = "unreachable"
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return outcomes


def _reconcile_one(sessions: sessionmaker[Session], payment_id: str, now: datetime) -> str:
    with sessions() as session:
        payment = session.get(Payment, payment_id)
        checkout = session.get(Checkout, payment.checkout_id)
        provider = payments.provider(session, payment.provider)
        customer = customers.get(session, checkout.customer_id)
        request = paying.payment_request(
            checkout,
            customer,
            provider,
            f"{checkout.id}:{payment.attempt_key}",
            paying.offered_methods(session, checkout),
        )
        request = replace(request, amount=payment.amount)
        status, ref, reason = payment.status, payment.intent_ref, payment.failure_message
        hold_lapsed = checkout.status != "open" or checkout.expires_at <= now
    # Made with the same key, the intent is the one the lost request made (or a new one,
    # never confirmed, when the request died before asking); a replayed creation answers
    # as it did then, so its state now is asked for.
    intent = provider.retrieve(ref or provider.create_intent(request).ref)
    if status == "refund_due":
        completion.refund_unplaced(
            sessions, payment_id, intent, reason or "The order was not placed."
        )
        return "refunded"
    if intent.status == SUCCEEDED:
        return completion.record_answer(sessions, payment_id, intent, now).status
    if intent.status in UNCONFIRMED or intent.status == REQUIRES_ACTION:
        if not hold_lapsed:
            return "waiting"  # the buyer may still be paying
        provider.cancel(intent.ref)
        completion.close_payment(sessions, payment_id, "voided", "The payment was never completed.")
        return "voided"
    if intent.status == DECLINED:
        completion.record_answer(sessions, payment_id, intent, now)
        return "declined"
    return "waiting"
