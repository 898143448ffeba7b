"""What fraud screening's decisions do to an order. The rules and the score are the
fraud domain's (``mercato.fraud``); here a held order is kept from being fulfilled
(on hold, so nothing ships or is pushed as shipped) until a merchant approves it, and a
cancelled one goes through the order's own cancellation: an order paid at Mercato's
checkout is refunded exactly (the whole remaining total, units back on hand), a
platform's order is cancelled on the platform.

Screening runs in the transaction that takes the order in (the checkout's placement,
a platform's order intake); a cancel that needs the payment provider runs after it, with
no transaction open (``cancel``), and the order waits on hold in the queue until then."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, sessionmaker

from mercato.crypto import email_key, value_key
from mercato.db import transaction
from mercato.errors import Conflict
from mercato.fraud import service as fraud
from mercato.fraud.models import Assessment
from mercato.fraud.rules import Policy, Signals
from mercato.orders import lifecycle, refunds, state, timeline
from mercato.orders.models import Order
from mercato.orders.schemas import RefundCreate
from mercato.payments.models import Payment

# The start of a fraud hold's reason on the order (its attention_reason).
REASON = "Fraud review"
ACTOR = fraud.RULES_ACTOR


def earlier_orders(session: Session, order: Order) -> int:
    """The buyer's orders before this one (same email or phone), not cancelled."""
    who = []
    if order.customer_email:
        who.append(Order.customer_email_hash == email_key(order.customer_email))
    if order.customer_phone:
        who.append(Order.customer_phone_hash == value_key(order.customer_phone))
    if not who:
        return 0
    return int(
        session.scalar(
            select(func.count()).where(or_(*who), Order.id != order.id, Order.status != "cancelled")
        )
        or 0
    )


def address_country(address: dict | None) -> str | None:
    return (address or {}).get("country") or None


def signals_of(order: Order, **more) -> Signals:
    """What the order itself says; the caller adds what it knows (card, IP, device,
    the provider's risk)."""
    return Signals(
        channel=order.channel,
        amount=order.total,
        currency=order.currency,
        email=order.customer_email,
        phone=order.customer_phone,
        billing_country=address_country(order.billing_address),
        shipping_country=address_country(order.shipping_address),
        **more,
    )


def policy(session: Session) -> Policy:
    """The store's screening policy: read once for a batch of orders."""
    return fraud.policy(session)


def screen(
    session: Session, order: Order, signals: Signals, current: Policy | None = None
) -> Assessment | None:
    """Score the order and act: approve (nothing to do), hold for review, or cancel.
    A cancel that needs a refund through the payment provider is held here and done by
    the caller after this transaction (``cancel_due`` says which). None: screening is
    off."""
    current = current or fraud.policy(session)
    if not current.enabled:
        return None
    known = earlier_orders(session, order)
    signals = replace(
        signals,
        earlier_orders=max(signals.earlier_orders, known, fraud.earlier_assessed(session, signals)),
    )
    assessment = fraud.assess(session, order.id, order.number, signals, current=current)
    if assessment.status == "passed":
        return assessment
    why = f"{REASON}: score {assessment.score} — " + " · ".join(
        r["reason"] for r in assessment.reasons
    )
    if assessment.decision == "cancel" and _paid_here(session, order) is None:
        lifecycle.cancel(session, order.id, f"fraud screening ({why})", actor=ACTOR)
        return assessment
    _hold(session, order, why)
    if assessment.decision == "cancel":
        fraud.ruled_cancel_held(
            session, assessment, "held until the payment is refunded: the rules cancel it"
        )
    return assessment


def cancel_due(assessment: Assessment | None) -> bool:
    """The rules cancelled an order whose payment is still to be refunded."""
    return (
        assessment is not None and assessment.decision == "cancel" and assessment.status == "held"
    )


def _hold(session: Session, order: Order, why: str) -> None:
    if order.status == "on_hold":  # held already for another reason: both are said
        order.attention_reason = f"{order.attention_reason}; {why}"
        timeline.note(session, order.id, ACTOR, "held", f"Also on hold: {why}")
    elif state.can_transition(order.status, "on_hold"):
        lifecycle.hold(session, order.id, why, actor=ACTOR)


def _paid_here(session: Session, order: Order) -> Payment | None:
    return session.scalar(
        select(Payment).where(Payment.order_id == order.id, Payment.status.in_(refunds.REFUNDABLE))
    )


# ---------------------------------------------------------------- the review queue


def approve(
    session: Session, assessment_id: str, actor: str, note: str | None = None
) -> Assessment:
    """Approve a held order: released to be fulfilled (unless held for another reason)."""
    assessment = fraud.review(session, assessment_id, "approve", actor, note)
    order = session.get(Order, assessment.order_id)
    if order is not None and order.status == "on_hold":
        rest = "; ".join(
            part
            for part in (order.attention_reason or "").split("; ")
            if part and not part.startswith(REASON)
        )
        if rest:
            order.attention_reason = rest
            timeline.note(session, order.id, actor, "fraud_approved", "Fraud review approved.")
        else:
            lifecycle.release(session, order.id, actor=actor)
    return assessment


def cancel(
    sessions: sessionmaker[Session], assessment_id: str, actor: str, note: str | None = None
) -> Assessment:
    """Cancel a held order through the order's own path: a checkout payment refunded
    exactly (the whole remaining total, unshipped units back on hand; a refusal is
    raised and the order stays in the queue), a platform's order cancelled there."""
    with transaction(sessions) as session:
        assessment = fraud.get(session, assessment_id)
        if assessment.status != "held":
            raise Conflict(
                f"Order #{assessment.order_number} is not waiting for review "
                f"(its screening is {assessment.status})."
            )
        order = session.get(Order, assessment.order_id)
        why = note or "cancelled on fraud review"
        if order.status == "cancelled" or _paid_here(session, order) is None:
            fraud.review(session, assessment_id, "cancel", actor, note)
            if order.status != "cancelled":
                lifecycle.cancel(session, order.id, f"fraud: {why}", actor=actor)
            return assessment
        order_id = order.id
    refunds.refund(sessions, order_id, RefundCreate(restock=True, reason=f"fraud: {why}"), actor)
    with transaction(sessions) as session:
        return fraud.review(session, assessment_id, "cancel", actor, note)
