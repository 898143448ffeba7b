"""Refunding an order: lines (their paid amount), an amount, or everything that remains,
restocked as the merchant chooses; a fully refunded order closes. Every change writes the
timeline and an ``order.*`` event.

An order paid through Mercato's checkout is refunded as a saga (as paying is):

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
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from mercato.db import transaction, utcnow
from mercato.errors import Conflict, FieldError, NotFound, ValidationFailed
from mercato.money import format_plain
from mercato.orders import push, quantities, queries, state, stock, timeline
from mercato.orders.models import Order, Refund, Return
from mercato.orders.schemas import RefundCreate, RefundLine
from mercato.payments import service as payments
from mercato.payments.models import Payment
from mercato.payments.providers import (
    SUCCEEDED,
    PaymentProvider,
    ProviderError,
    ProviderUnreachable,
    RefundAnswer,
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
    """Refund an order (see ``_record_on_order`` for what is refunded). A checkout order's
    money goes back through its payment provider before the refund counts; the
    returned refund is refunded, or pending when the provider did not answer (the
    reconciler asks again); a refusal is recorded on the order and raised."""
    with transaction(sessions) as session:
        record = record_refund(session, order_id, data, actor)
        due = due_of(session, record)
    return record if due is None else raise_if_failed(finish(sessions, due, actor))


def raise_if_failed(record: Refund) -> Refund:
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
    record = _record_on_order(session, order_id, data, actor, payment_id=payment and payment.id)
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


def due_of(session: Session, record: Refund) -> Due | None:
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
        answer = due.provider.refund(
            due.intent_ref, due.amount, idempotency_key=f"refund:{due.refund_id}"
        )
    except ProviderUnreachable as exc:
        log.warning("Refund %s is left pending: %s", due.refund_id, exc.detail)
        with sessions() as session:
            return session.get(Refund, due.refund_id)
    except ProviderError as exc:
        with transaction(sessions) as session:
            _lock_payment_of(session, due.refund_id)
            return refund_failed(session, due.refund_id, str(exc.detail), actor)
    return settle(sessions, due.refund_id, answer, actor)


def settle(
    sessions: sessionmaker[Session], refund_id: str, answer: RefundAnswer, actor: str = "api"
) -> Refund:
    """The provider's word on a refund, from its answer or later from its webhook: still
    pending (kept, with its reference, until the provider says more), given back
    (counted once), or failed — before it counted, or after (the money went back to the
    shop: it no longer counts). Repeated news changes nothing."""
    with transaction(sessions) as session:
        payment = _lock_payment_of(session, refund_id)
        record = session.get(Refund, refund_id)
        if answer.status == "pending":
            if record.status == "pending" and record.provider_ref is None:
                record.provider_ref, record.updated_at = answer.ref, utcnow()
            return record
        if answer.status == "succeeded":
            if record.status == "pending":
                _on_payment(payment, record.amount)
            return refund_succeeded(session, refund_id, answer.ref, actor)
        reason = answer.failure or "the payment provider reports it failed"
        if record.status == "refunded":
            _on_payment(payment, -record.amount)
            return refund_reversed(session, refund_id, reason, actor)
        return refund_failed(session, refund_id, reason, actor)


def settle_by_ref(
    sessions: sessionmaker[Session], answer: RefundAnswer, actor: str = "payment provider"
) -> Refund | None:
    """``settle`` for a provider's webhook, which names the refund by its reference."""
    with sessions() as session:
        refund_id = session.scalar(select(Refund.id).where(Refund.provider_ref == answer.ref))
    return settle(sessions, refund_id, answer, actor) if refund_id else None


def _on_payment(payment: Payment, amount: int) -> None:
    payment.refunded += amount
    payment.status = (
        "refunded"
        if payment.refunded >= payment.amount
        else "partially_refunded"
        if payment.refunded
        else "succeeded"
    )
    payment.updated_at = utcnow()


def _lock_payment_of(session: Session, refund_id: str) -> Payment:
    payment_id = session.scalar(select(Refund.payment_id).where(Refund.id == refund_id))
    return session.get(Payment, payment_id, with_for_update=True)


def reconcile(
    sessions: sessionmaker[Session], now: datetime | None = None, limit: int = 100
) -> dict[str, int]:
    """Finish refunds left pending: one whose request got no answer (a crash, a timeout)
    is asked again with the same key; one the provider said was on its way is looked up
    (its webhook may have been lost). Returns counts by outcome."""
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
        dues = [due_of(session, record) for record in stale]
    outcomes: dict[str, int] = {}
    for record, due in zip(stale, dues, strict=True):
        if record.provider_ref is None:
            outcome = finish(sessions, due, "reconciler").status
        else:
            outcome = _look_up(sessions, due, record.provider_ref).status
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return outcomes


def _look_up(sessions: sessionmaker[Session], due: Due, ref: str) -> Refund:
    try:
        answer = due.provider.refund_status(ref)
    except ProviderError as exc:
        log.warning("Refund %s could not be looked up: %s", due.refund_id, exc.detail)
        with transaction(sessions) as session:  # asked again later, not at once
            record = session.get(Refund, due.refund_id)
            record.updated_at = utcnow()
            return record
    return settle(sessions, due.refund_id, answer, "reconciler")


# ---------------------------------------------------------------- the order's side


def _record_on_order(
    session: Session,
    order_id: str,
    data: RefundCreate,
    actor: str = "api",
    notify_platform: bool = True,
    payment_id: str | None = None,
) -> Refund:
    """Refund lines (their paid amount), an amount, or everything that remains. With
    ``restock``, refunded lines' units go back on hand (return movements).

    With ``payment_id`` (an order paid through Mercato's checkout) the refund is only
    recorded, as pending: its units are held against a second refund, and the rest (the
    refunded total, restocking, closing the order, the buyer's mail) waits for the
    provider's answer, given to ``refund_succeeded`` or ``refund_failed``."""
    order = session.scalar(
        queries.with_children(select(Order)).where(Order.id == order_id).with_for_update()
    )
    if order is None:
        raise NotFound(f"No order with id {order_id!r}.")
    if order.payment_status not in ("paid", "partially_refunded"):
        raise Conflict(
            f"Order #{order.number} is not paid ({order.payment_status}); nothing to refund."
        )
    remaining = order.total - order.refunded_total - pending_refunds(session, order.id)
    lines = data.lines
    if not lines and data.amount is None:  # everything that remains, line by line
        lines = [
            RefundLine(line_id=line.id, quantity=line.quantity - line.refunded_quantity)
            for line in order.lines
            if line.quantity > line.refunded_quantity
        ]
    by_id = {line.id: line for line in order.lines}
    # Everything is checked before anything changes: a refusal leaves the order as it was.
    quantities.check(
        order, lines or [], lambda line: line.quantity - line.refunded_quantity, "refund", "lines"
    )
    if data.lines:
        amount = sum(quantities.paid_for(by_id[w.line_id], w.quantity) for w in data.lines)
    elif data.amount is not None:
        amount = data.amount
    else:
        amount = remaining
    if data.shipping and (data.lines or data.amount is not None):
        amount += order.shipping_total
    if amount <= 0 or amount > remaining:
        raise ValidationFailed(
            "The refund amount is not possible.",
            [
                FieldError(
                    ("amount",),
                    f"{timeline.amount_text(amount, order.currency)} exceeds what remains "
                    f"refundable ({timeline.amount_text(remaining, order.currency)})",
                )
            ],
        )
    quantities.count(order, lines or [], "refunded_quantity")
    record = Refund(
        order_id=order.id,
        amount=amount,
        currency=order.currency,
        reason=data.reason,
        status="pending" if payment_id else "refunded",
        payment_id=payment_id,
        lines=[
            {
                "line_id": w.line_id,
                "quantity": w.quantity,
                "restock": data.restock if w.restock is None else w.restock,
            }
            for w in lines or []
        ],
    )
    session.add(record)
    session.flush()
    if payment_id:
        timeline.log(
            session,
            order,
            actor,
            "refund_pending",
            f"Refund of {timeline.amount_text(amount, order.currency)} "
            "sent to the payment provider.",
            refund_id=record.id,
        )
        return record
    _refunded(session, order, record, actor)
    if notify_platform:
        push.enqueue(session, order, "refund", record.id)
    return record


def pending_refunds(session: Session, order_id: str) -> int:
    """What refunds still waiting for the provider hold of the order's paid total."""
    # int(): PostgreSQL sums bigints as numeric.
    return int(
        session.scalar(
            select(func.coalesce(func.sum(Refund.amount), 0)).where(
                Refund.order_id == order_id, Refund.status == "pending"
            )
        )
    )


def refund_succeeded(
    session: Session, refund_id: str, provider_ref: str, actor: str = "api"
) -> Refund:
    """The provider returned the money: the refund now counts (once)."""
    record, order = _pending_refund(session, refund_id)
    if record.status == "pending":
        record.status, record.provider_ref, record.updated_at = "refunded", provider_ref, utcnow()
        _refunded(session, order, record, actor)
    return record


def refund_failed(session: Session, refund_id: str, reason: str, actor: str = "api") -> Refund:
    """The provider refused: nothing was returned, the units it held are free again and
    the merchant reads why on the order."""
    record, order = _pending_refund(session, refund_id)
    if record.status != "pending":
        return record
    _failed(session, order, record, reason)
    timeline.changed(
        session,
        order,
        actor,
        "refund_failed",
        f"Refund of {timeline.amount_text(record.amount, record.currency)} failed: {reason}",
        "order.refund_failed",
        refund_id=record.id,
        amount=record.amount,
        reason=reason,
    )
    return record


def refund_reversed(session: Session, refund_id: str, reason: str, actor: str = "api") -> Refund:
    """A refund that had counted failed after all (a card refund can, days later): the
    money is back with the shop, not the buyer. It no longer counts, and its lines may be
    refunded again; units it put back on hand stay there (the goods are where they are)."""
    record, order = _pending_refund(session, refund_id)
    _failed(session, order, record, reason)
    order.refunded_total -= record.amount
    order.payment_status = (
        state.payment_status_after_refund(order.total, order.refunded_total)
        if order.refunded_total
        else "paid"
    )
    timeline.changed(
        session,
        order,
        actor,
        "refund_failed",
        f"Refund of {timeline.amount_text(record.amount, record.currency)} failed after it "
        f"was reported done: {reason}. The money is back with the shop: refund the buyer "
        "again, another way if need be.",
        "order.refund_failed",
        refund_id=record.id,
        amount=record.amount,
        reason=reason,
    )
    return record


def _failed(session: Session, order: Order, record: Refund, reason: str) -> None:
    """Nothing of ``record`` reached the buyer: its lines (and returns) may be refunded
    again."""
    record.status, record.failure_message, record.updated_at = "failed", reason, utcnow()
    by_id = {line.id: line for line in order.lines}
    for item in record.lines:
        by_id[item["line_id"]].refunded_quantity -= item["quantity"]
    for back in session.scalars(select(Return).where(Return.refund_id == record.id)):
        back.status, back.refund_id, back.updated_at = "received", None, utcnow()


def _pending_refund(session: Session, refund_id: str) -> tuple[Refund, Order]:
    record = session.get(Refund, refund_id, with_for_update=True)
    if record is None:
        raise NotFound(f"No refund {refund_id!r}.")
    order = session.scalar(
        queries.with_children(select(Order)).where(Order.id == record.order_id).with_for_update()
    )
    session.refresh(record)
    return record, order


def _refunded(session: Session, order: Order, record: Refund, actor: str) -> None:
    """The money of ``record`` is back with the buyer: count it, restock what the merchant
    chose, close a fully refunded order, and say so (the buyer's mail follows the event)."""
    by_id = {line.id: line for line in order.lines}
    restock_now = {
        item["line_id"]: min(item["quantity"], state.restockable(by_id[item["line_id"]]))
        for item in record.lines
        if item.get("restock")
    }
    record.restock = bool(restock_now)
    order.refunded_total += record.amount
    order.payment_status = state.payment_status_after_refund(order.total, order.refunded_total)
    restocked = stock.restock(
        session, order, restock_now, "return", f"order #{order.number} refunded", actor
    )
    timeline.changed(
        session,
        order,
        actor,
        "refunded",
        f"Refunded {timeline.amount_text(record.amount, order.currency)}"
        + (f": {record.reason}" if record.reason else "."),
        "order.refunded",
        refund_id=record.id,
        amount=record.amount,
        lines=record.lines,
        restock=bool(restock_now),
        restocked=restocked,
    )
    if order.payment_status == "refunded" and order.status in ("open", "on_hold"):
        closed = state.closed_by_refund(order.fulfillment_status)
        state.move(order, closed)
        timeline.changed(
            session, order, actor, closed, "Fully refunded: order closed.", f"order.{closed}"
        )
