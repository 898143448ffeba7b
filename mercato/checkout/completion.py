"""Paying for a checkout and placing its order, as a saga.

1. Record the payment as pending, under its attempt key, in one transaction (with the
   checks: the buyer's details, the stock held, the total they saw).
2. Ask the provider, with no transaction and no lock open.
3. Place the order in one transaction, checking the hold and the total again.
4. If the order cannot be placed, the charge goes back (refund) and the payment says why.

Paying with a card typed into the provider's element on the page is ``card_element``;
the steps inside each transaction are ``payment``.

A process that dies between steps leaves a pending (or refund_due) payment behind;
``recovery.reconcile`` asks the provider how it ended and finishes the saga, so every charge ends
attached to an order or refunded. The provider's idempotency keys are derived from the
attempt, so a step run twice charges once.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from babel.core import UnknownLocaleError
from babel.numbers import format_currency
from sqlalchemy import and_, insert, or_, select
from sqlalchemy.orm import Session, sessionmaker

from mercato.checkout import paying, service
from mercato.checkout.models import Checkout
from mercato.checkout.schemas import CheckoutComplete, CheckoutUpdate
from mercato.crypto import hash_token
from mercato.customers import service as customers
from mercato.db import insert_rows, new_id, transaction, utcnow
from mercato.errors import Conflict, FieldError, MercatoError, NotFound, ValidationFailed
from mercato.inventory import reservations as stock
from mercato.money import format_plain, to_decimal
from mercato.orders import creation, refunds, screening
from mercato.orders.models import Order
from mercato.payments import methods
from mercato.payments import service as payments
from mercato.payments.models import Payment
from mercato.payments.providers import (
    DECLINED,
    PROCESSING,
    REQUIRES_ACTION,
    SUCCEEDED,
    UNCONFIRMED,
    Intent,
    PaymentProvider,
    PaymentRequest,
    ProviderError,
)
from mercato.payments.sandbox import SIGNATURE_HEADER as SANDBOX_SIGNATURE

log = logging.getLogger(__name__)
# A payment pending this long has lost the request that made it: the reconciler takes it.
RECONCILE_AFTER = timedelta(minutes=2)
# Attempts whose card details the buyer types into the provider's own element on the
# page: the browser confirms the intent, Mercato only ever sees its reference.
ELEMENT = "element:"


class TotalChanged(Conflict):
    slug = "total-changed"
    title = "Total changed"


class OrderNotPlaced(Conflict):
    slug = "order-not-placed"
    title = "Order not placed; payment refunded"


@dataclass
class Attempt:
    """A payment recorded as pending: what to ask the provider."""

    payment_id: str
    provider: PaymentProvider
    request: PaymentRequest
    method: str
    return_url: str
    checkout_id: str = ""


# ---------------------------------------------------------------- paying with a token


def complete(
    sessions: sessionmaker[Session],
    token: str,
    data: CheckoutComplete,
    *,
    attempt_key: str,
    return_url: str,
    update: CheckoutUpdate | None = None,
    now: datetime | None = None,
    client: dict | None = None,
) -> paying.Completion:
    """Pay the total the buyer saw (``data.expected_total``) and place the order. Declines
    and authentication requests are answers (recorded, not raised); so is a changed
    total, which charges nothing. ``update`` (the one-page form) is saved first;
    ``client`` (IP, its country, device: ``web.clients``) is kept for fraud screening."""
    now = now or utcnow()
    paid = pay(
        sessions,
        token,
        data,
        attempt_key=attempt_key,
        return_url=return_url,
        update=update,
        now=now,
        client=client,
    )
    if isinstance(paid, paying.Completion):
        return paid
    attempt, intent = paid
    return record_answer(sessions, attempt.payment_id, intent, now)


def pay(
    sessions: sessionmaker[Session],
    token: str,
    data: CheckoutComplete,
    *,
    attempt_key: str,
    return_url: str,
    update: CheckoutUpdate | None = None,
    now: datetime,
    client: dict | None = None,
) -> paying.Completion | tuple[Attempt, Intent]:
    """Steps 1 and 2 of ``complete``: the payment recorded as pending, then the provider's
    answer; or the answer that needs no provider (replayed, total changed, nothing to pay)."""
    with transaction(sessions) as session:
        if update is not None:
            service.update_checkout(session, token, update, now)
        begun = begin_one(session, Begin(token, data, attempt_key, return_url, now, client))
    if isinstance(begun, paying.Completion):
        return begun
    return begun, charge(sessions, begun)


@dataclass(frozen=True)
class Begin:
    """Step 1 for one attempt, as ``begin_many`` takes it."""

    token: str
    data: CheckoutComplete
    attempt_key: str
    return_url: str
    now: datetime
    client: dict | None = None


def begin_one(session: Session, request: Begin) -> Attempt | paying.Completion:
    """Step 1: check everything, then record the payment as pending."""
    checkout, hold, provider_name = service.locked(
        session, Checkout.token_hash == hash_token(request.token), also=[payments.ACTIVE_PROVIDER]
    )
    # A statement of its own, after the lock: one that waited for another attempt's
    # transaction sees the payment it committed (the lock's own statement would not).
    found = (
        [] if checkout.status == "completed" else _payments_of(session, [request], [checkout.id])
    )
    begun, row = _begin_locked(session, request, checkout, hold, provider_name, found)
    if row is not None:
        session.execute(insert(Payment), [row])
    return begun


def begin_many(session: Session, begins: Sequence[Begin]) -> list[Attempt | paying.Completion]:
    """Step 1 for attempts made at the same moment (a drop), in one transaction: their
    checkouts locked in one query (lowest id first), their earlier payments read in one,
    their pending payments inserted in one. Each is checked as ``begin_one`` checks it alone;
    a refusal raises, which fails the batch (each is then begun alone, where it is refused
    by itself and nothing of it is kept). One checkout at most once per call."""
    digests = [hash_token(b.token) for b in begins]
    locked = {
        checkout.token_hash: (checkout, hold, provider_name)
        for checkout, hold, provider_name in service.locked_where(
            session, Checkout.token_hash.in_(sorted(digests)), also=[payments.ACTIVE_PROVIDER]
        )
    }
    if len(locked) != len(set(digests)):
        raise NotFound("No such checkout.")
    open_ids = [c.id for c, _, _ in locked.values() if c.status != "completed"]
    found = _payments_of(session, begins, open_ids) if open_ids else []
    outcomes, rows = [], []
    for digest, request in zip(digests, begins, strict=True):
        checkout, hold, provider_name = locked[digest]
        mine = [p for p in found if p.checkout_id == checkout.id]
        begun, row = _begin_locked(session, request, checkout, hold, provider_name, mine)
        outcomes.append(begun)
        if row is not None:
            rows.append(row)
    insert_rows(session, Payment.__table__, rows)  # COPY on PostgreSQL
    return outcomes


def _payments_of(session: Session, begins: Sequence[Begin], checkout_ids) -> list[Payment]:
    """What ``_earlier_or_busy`` looks at for these attempts' checkouts, in one query:
    payments under the attempts' keys, and pending ones that may still be busy."""
    since = min(b.now for b in begins) - RECONCILE_AFTER
    return list(
        session.scalars(
            select(Payment).where(
                Payment.checkout_id.in_(checkout_ids),
                or_(
                    Payment.attempt_key.in_(sorted({b.attempt_key for b in begins})),
                    and_(
                        Payment.status == "pending",
                        ~Payment.attempt_key.startswith(ELEMENT),
                        Payment.updated_at > since,
                    ),
                ),
            )
        )
    )


def _begin_locked(
    session: Session,
    request: Begin,
    checkout: Checkout,
    hold: service.Hold,
    provider_name: str | None,
    payments_found: list[Payment],
) -> tuple[Attempt | paying.Completion, dict | None]:
    """Step 1 for a checkout locked with its payments read: the attempt and the pending
    payment's row to insert, or the answer that needs no provider (and no row)."""
    now, data, attempt_key = request.now, request.data, request.attempt_key
    if checkout.status == "completed":
        order = session.get(Order, checkout.order_id)
        return paying.Completion("completed", checkout, order), None
    earlier = _earlier_or_busy(payments_found, attempt_key, now)
    if earlier is not None:
        return _answer_for(checkout, earlier), None
    paying.ready_to_pay(session, checkout, now, hold)
    paying.remember_client(checkout, request.client, data.device_id)
    changed = changed_total(checkout, data.expected_total)
    if changed is not None:
        return changed, None
    if checkout.total == 0:
        return paying.place_order(session, checkout, None, None, now), None
    customer = customers.get(session, checkout.customer_id)
    method = data.payment_method
    chosen = "card" if method == "saved" else paying.check_offered(session, checkout, method)
    if method == "saved":
        if not (customer and customer.payment_method_ref):
            raise ValidationFailed(
                "There is no saved payment method.",
                [FieldError(("payment_method",), "nothing saved")],
            )
        method = customer.payment_method_ref
    with session.no_autoflush:  # the checkout's changes in one UPDATE, with its new expiry
        paying.hold_for_payment(session, checkout, now)
    provider = payments.provider_named(session, provider_name)
    # Written as a row by the caller: nothing here reads the payment back.
    payment_id = new_id("pay")
    row = dict(
        id=payment_id,
        checkout_id=checkout.id,
        attempt_key=attempt_key,
        provider=provider.name,
        method=chosen,
        status="pending",
        amount=checkout.total,
        currency=checkout.currency,
        refunded=0,
        created_at=now,
        updated_at=now,
    )
    payment_request = paying.payment_request(
        checkout,
        customer,
        provider,
        f"{checkout.id}:{attempt_key}",
        paying.offered_methods(session, checkout),
    )
    attempt = Attempt(
        payment_id, provider, payment_request, method, request.return_url, checkout.id
    )
    return attempt, row


def _earlier_or_busy(found: list[Payment], attempt_key: str, now: datetime) -> Payment | None:
    """This attempt's payment when it was made before; else, one payment at a time per
    checkout: a second tab waits for the first's answer."""
    earlier = next((p for p in found if p.attempt_key == attempt_key), None)
    if earlier is None and any(_busy(p, now) for p in found):
        raise Conflict("A payment for this checkout is under way; wait for its answer.")
    return earlier


def _busy(payment: Payment, now: datetime) -> bool:
    """A payment still waiting for its own request's answer (not a card element's)."""
    return (
        payment.status == "pending"
        and payment.attempt_key is not None
        and not payment.attempt_key.startswith(ELEMENT)
        and payment.updated_at > now - RECONCILE_AFTER
    )


def changed_total(checkout: Checkout, expected: int) -> paying.Completion | None:
    if expected == checkout.total:
        return None
    shown = _shown(checkout.total, checkout)
    return paying.Completion(
        "total_changed",
        checkout,
        message=f"Your total is now {shown} (tax, shipping or a code changed it). "
        "Nothing was charged: check it, then pay again.",
    )


def _shown(amount: int, checkout: Checkout, currency: str | None = None) -> str:
    """An amount as the buyer reads it, in their checkout's language."""
    currency = currency or checkout.currency
    try:
        return format_currency(to_decimal(amount, currency), currency, locale=checkout.locale)
    except (ValueError, UnknownLocaleError):
        return f"{format_plain(amount, currency)} {currency}"


def _answer_for(checkout: Checkout, payment: Payment) -> paying.Completion:
    if payment.status in ("pending", PROCESSING):
        return paying.Completion(
            "processing",
            checkout,
            message="Your payment is processing; your order is placed as soon as it clears.",
        )
    if payment.status in ("refund_due", "refunded", "voided"):
        return paying.Completion("failed", checkout, message=payment.failure_message)
    return paying.answer(checkout, payment)


def charge(sessions: sessionmaker[Session], attempt: Attempt) -> Intent:
    """Step 2: the provider, with nothing open here. A failure before the intent is
    confirmed took no money (voided); one during confirmation may have, so the payment
    stays pending for the reconciler."""
    provider = attempt.provider
    try:
        intent = provider.create_intent(attempt.request)
    except ProviderError as exc:
        close_payment(sessions, attempt.payment_id, "voided", str(exc.detail))
        raise
    try:
        return provider.confirm(
            intent.ref,
            attempt.method,
            return_url=attempt.return_url,
            idempotency_key=attempt.request.idempotency_key + ":confirm",
        )
    except ProviderError as exc:
        # Refused outright (an unknown method) or lost on the way: the intent's state says
        # whether money may have moved. Unconfirmed: void it now, so the buyer can retry.
        try:
            after = provider.retrieve(intent.ref)
        except ProviderError:
            after = None
        taken_nothing = after is not None and after.status in (*UNCONFIRMED, DECLINED)
        with transaction(sessions) as session:
            payment = session.get(Payment, attempt.payment_id)
            payment.intent_ref, payment.failure_message = intent.ref, str(exc.detail)
            if taken_nothing:
                payment.status = "voided"
        raise


def close_payment(
    sessions, payment_id: str, status: str, why: str | None, refunded: int = 0
) -> None:
    with transaction(sessions) as session:
        payment = session.get(Payment, payment_id)
        payment.status, payment.failure_message = status, why
        payment.refunded, payment.updated_at = refunded, utcnow()


# ---------------------------------------------------------------- placing the order


def record_answer(
    sessions: sessionmaker[Session], payment_id: str, intent: Intent, now: datetime | None = None
) -> paying.Completion:
    """Steps 3 and 4: record what the provider said; when it was paid, place the order
    in one transaction, or give the charge back and say why."""
    now = now or utcnow()
    try:
        with transaction(sessions) as session:
            done = place(session, payment_id, intent, now)
    except MercatoError as exc:
        reason = exc.detail
    else:
        return after_placed(sessions, done)
    if intent.status != SUCCEEDED:
        return _give_up_unpaid(sessions, payment_id, intent, reason)
    log.warning("Payment %s was charged but its order not placed: %s", payment_id, reason)
    return refund_unplaced(sessions, payment_id, intent, reason)


def _give_up_unpaid(
    sessions: sessionmaker[Session], payment_id: str, intent: Intent, reason: str
) -> paying.Completion:
    """An intent still waiting (a voucher, a code) whose stock could not be held: it is
    canceled before anything is paid, and the payment voided with the reason (left for
    the reconciler when the provider does not answer)."""
    with sessions() as session:
        payment = session.get(Payment, payment_id)
        provider = payments.provider(session, payment.provider)
        checkout = session.get(Checkout, payment.checkout_id)
    try:
        provider.cancel(intent.ref)
    except ProviderError as exc:
        log.warning("Intent %s could not be canceled yet: %s", intent.ref, exc.detail)
        return paying.Completion("failed", checkout, message=reason)
    close_payment(sessions, payment_id, "voided", reason)
    return paying.Completion("failed", checkout, message=f"{reason} Nothing was charged.")


def after_placed(sessions: sessionmaker[Session], done: paying.Completion) -> paying.Completion:
    """After the order's transaction: an order the fraud rules cancelled is refunded
    exactly, through the order's own path (``orders.screening.cancel``), and the buyer is
    told so. A refund refused or unanswered leaves it held in the review queue."""
    if done.fraud_cancel is None:
        return done
    try:
        screening.cancel(sessions, done.fraud_cancel, screening.ACTOR, "the rules' score")
    except MercatoError as exc:
        log.warning("Order %s cancelled by screening is not refunded yet: %s", done.order.id, exc)
        return paying.Completion("completed", done.checkout, done.order)
    amount, currency = done.order.total, done.order.currency
    return paying.Completion(
        "failed",
        done.checkout,
        message="We could not accept this order. "
        f"Your payment of {_shown(amount, done.checkout, currency)} was refunded.",
    )


def place(session: Session, payment_id: str, intent: Intent, now: datetime) -> paying.Completion:
    """Step 3 for one paid attempt, in ``session``'s transaction; raises when its order
    cannot be placed (the caller then refunds it)."""
    # The checkout first, then its payment: every path locks in that order.
    paid_for = select(Payment.checkout_id).where(Payment.id == payment_id).scalar_subquery()
    checkout, hold = service.locked(session, Checkout.id == paid_for)
    payment = session.get(Payment, payment_id, with_for_update=True, populate_existing=True)
    if payment.order_id is not None:
        return paying.Completion("completed", checkout, session.get(Order, payment.order_id))
    if payment.status in ("refund_due", "refunded", "voided"):
        return _answer_for(checkout, payment)
    if intent.status != SUCCEEDED:
        delayed = methods.flow_of(intent.method_type or payment.method) == methods.DELAYED
        payments.record(session, payment, intent)
        if checkout.status != "completed" and delayed:
            if intent.status == REQUIRES_ACTION and intent.pay_by is not None:
                # Placed when the provider says paid; the stock waits as long.
                paying.wait_for_payment(session, checkout, intent.pay_by, now)
            elif intent.status == DECLINED:
                paying.give_up_waiting(session, checkout, now)
        return paying.answer(checkout, payment, intent.next_action_url)
    if checkout.status == "completed":
        raise Conflict("This checkout was already paid by another payment.")
    # Recorded with its order (one UPDATE): were the order refused, this transaction
    # is undone and the payment marked refund_due instead.
    service.renew_hold(session, checkout, now, hold)
    service.reprice(session, checkout, now)
    return paying.place_order(session, checkout, intent, payment.provider, now, payment)


@dataclass(frozen=True)
class Placement:
    """Step 3 for one paid attempt, as ``place_many`` takes it."""

    checkout_id: str
    payment_id: str
    intent: Intent
    now: datetime


def place_many(
    session: Session, placements: Sequence[Placement]
) -> list[paying.Completion | MercatoError]:
    """Step 3 for attempts paid at the same moment (a drop), in one transaction: the
    checkouts and payments locked in one query each, the orders created in one go
    (``creation.create_orders``), their units sold in one go (``settle_many``). Each gets
    its own answer; a refused one (its order not placed: the caller refunds it) wrote
    nothing. Checkouts on a rarer path (a hold to take again) are placed one at a time
    (``place``) in a savepoint of their own. One checkout at most once per call."""
    outcomes: list = [None] * len(placements)
    screening_policy = screening.policy(session)  # once for the batch
    checkouts = service.locked_all(session, [p.checkout_id for p in placements])
    paid = {
        payment.id: payment
        for payment in session.scalars(
            select(Payment)
            .where(Payment.id.in_(sorted({p.payment_id for p in placements})))
            .order_by(Payment.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    }
    ready: list[tuple[int, Checkout, Payment]] = []
    with session.no_autoflush:
        for index, placement in enumerate(placements):
            checkout, hold = checkouts[placement.checkout_id]
            payment, intent = paid[placement.payment_id], placement.intent
            if (
                payment.order_id is not None
                or payment.status in ("refund_due", "refunded", "voided")
                or intent.status != SUCCEEDED
                or not hold.holds_at(placement.now)
            ):
                outcomes[index] = _alone(session, placement)
            elif checkout.status == "completed":
                outcomes[index] = Conflict("This checkout was already paid by another payment.")
            elif _priced_again(session, checkout, placement.now) or not paying.pays_total(
                checkout, intent
            ):
                outcomes[index] = paying.intent_mismatch()
            else:
                ready.append((index, checkout, payment))
    if not ready:
        return outcomes
    made = creation.create_orders(
        session,
        [paying.order_for(checkout) for _, checkout, _ in ready],
        actor=service.CHANNEL,
        stock_state="committed",
        buyers=[paying.buyer_of(checkout) for _, checkout, _ in ready],
        new=True,  # each checkout locked, not completed, its payment without an order
    )
    sold, since = [], []
    for (index, checkout, payment), outcome in zip(ready, made, strict=True):
        if isinstance(outcome, MercatoError):
            outcomes[index] = outcome  # refused before anything of it was written
            continue
        order, _ = outcome
        placement = placements[index]
        # Written already: a mismatch here undoes the whole batch (each is then placed
        # alone, where it is refused by itself).
        paying.record_placed(session, checkout, order, placement.intent, payment, placement.now)
        sold.append(checkout.reservation_id)
        since.append(placement.now)
        outcomes[index] = paying.screened(
            session,
            paying.Completion("completed", checkout, order),
            placement.intent,
            screening_policy,
        )
    session.flush()
    # The units are taken last, all at once: from this UPDATE of the stock level to the
    # commit, every other buyer of the SKU waits. As of the earliest attempt: each hold
    # was seen alive at its own.
    if sold:
        stock.settle_many(session, sold, "committed", min(since), service.CHANNEL)
    return outcomes


def _priced_again(session: Session, checkout: Checkout, now: datetime) -> bool:
    """Reprice; when the totals changed, forget the new ones (this payment is refused and
    the checkout is left as it was) and say so."""
    if not service.reprice(session, checkout, now):
        return False
    for changed in (checkout, *checkout.lines):
        session.expire(changed)
    return True


def _alone(session: Session, placement: Placement) -> paying.Completion | MercatoError:
    try:
        with session.begin_nested():
            return place(session, placement.payment_id, placement.intent, placement.now)
    except MercatoError as refused:
        return refused


def refund_unplaced(
    sessions: sessionmaker[Session], payment_id: str, intent: Intent, reason: str
) -> paying.Completion:
    """Give back a charge whose order could not be placed: first marked refund_due with
    the reason (so a crash here is finished by the reconciler), then refunded."""
    with transaction(sessions) as session:
        payment = session.get(Payment, payment_id, with_for_update=True)
        if payment.order_id is None and payment.status not in ("refunded", "voided"):
            payment.status, payment.failure_message = "refund_due", reason
            payment.intent_ref, payment.amount = intent.ref, intent.amount
            payment.updated_at = utcnow()
        checkout = session.get(Checkout, payment.checkout_id)
        provider = payments.provider(session, payment.provider)
        due = payment.status == "refund_due"
        amount, currency = payment.amount, payment.currency
    if due:
        provider.refund(intent.ref, amount, idempotency_key=f"{payment_id}:unplaced")
        close_payment(sessions, payment_id, "refunded", reason, refunded=amount)
    return paying.Completion(
        "failed",
        checkout,
        message=f"We could not place your order: {reason} "
        f"Your payment of {_shown(amount, checkout, currency)} was refunded.",
    )


# ---------------------------------------------------------------- back from the bank


def resume(
    sessions: sessionmaker[Session],
    token: str,
    intent_ref: str | None = None,
    now: datetime | None = None,
) -> paying.Completion:
    """Back from the bank's authentication, or from the provider's element after the
    buyer's browser confirmed ``intent_ref``: ask the provider how it went. The
    browser's word is never taken; only the provider's."""
    with sessions() as session:
        checkout = service.get_checkout(session, token)
        if checkout.status == "completed":
            return paying.Completion("completed", checkout, session.get(Order, checkout.order_id))
        query = select(Payment).where(Payment.checkout_id == checkout.id)
        query = (
            query.where(Payment.intent_ref == intent_ref)
            if intent_ref
            else query.where(Payment.status == REQUIRES_ACTION)
        )
        payment = session.scalar(query.order_by(Payment.created_at.desc()))
        if payment is None or payment.intent_ref is None:
            raise Conflict("This checkout is not waiting for a payment.")
        provider = payments.provider(session, payment.provider)
        payment_id, ref = payment.id, payment.intent_ref
    intent = provider.retrieve(ref)
    done = record_answer(sessions, payment_id, intent, now)
    if done.status in ("completed", "failed", "waiting", PROCESSING):
        return done
    if intent.status == PROCESSING:
        return paying.Completion(
            "processing",
            done.checkout,
            message="Your payment is processing; your order is placed as soon as it clears.",
        )
    if intent_ref and intent.status != DECLINED:
        return paying.Completion(
            "declined",
            done.checkout,
            message="The payment was not completed. Try again or use another card.",
        )
    return done


def on_payment_event(
    sessions: sessionmaker[Session],
    provider_name: str,
    payload: bytes,
    headers: Mapping[str, str],
    now: datetime | None = None,
) -> str:
    """A provider's webhook: a payment that succeeded after the buyer left still makes
    its order (once). Returns what was done."""
    if provider_name not in payments.PROVIDERS:
        raise NotFound(f"No payment provider {provider_name!r}.")
    with sessions() as session:
        provider = payments.provider(session, provider_name)
    event = provider.parse_webhook(payload, dict(headers))
    if event.refund is not None:  # a refund's outcome (or its failure, days later)
        settled = refunds.settle_by_ref(sessions, event.refund)
        return f"refund {settled.status}" if settled else "ignored"
    with sessions() as session:
        payment = payments.by_intent(session, event.intent_ref) if event.intent_ref else None
        if payment is None or event.status not in (SUCCEEDED, DECLINED):
            return "ignored"
        if payment.order_id is not None or payment.status in ("refunded", "voided"):
            return "already done"
        payment_id = payment.id
    done = record_answer(sessions, payment_id, provider.retrieve(event.intent_ref), now)
    return {"completed": "completed", "failed": "refunded"}.get(done.status, event.status)


# ---------------------------------------------------------------- waiting for a voucher


DELAYED_METHODS = tuple(m.name for m in methods.METHODS.values() if m.flow == methods.DELAYED)


@dataclass
class Waiting:
    """A checkout's voucher or code (Boleto, Pix) as the buyer's waiting page shows it."""

    checkout: Checkout
    payment: Payment
    intent: Intent | None
    method: methods.Method | None
    # Why it ended unpaid (lapsed, failed), when it did.
    failed: str | None = None


def _waiting_payment(session: Session, checkout: Checkout) -> Payment:
    payment = session.scalar(
        select(Payment)
        .where(Payment.checkout_id == checkout.id, Payment.method.in_(DELAYED_METHODS))
        .order_by(Payment.created_at.desc())
    )
    if payment is None:
        raise Conflict("This checkout is not waiting for a payment.")
    return payment


def waiting(sessions: sessionmaker[Session], token: str, now: datetime | None = None) -> Waiting:
    """Where the checkout's voucher or code stands, asked of the provider: one it says
    was paid places the order now (its webhook may come later, or never), one it says
    lapsed gives the stock back."""
    with sessions() as session:
        checkout = service.get_checkout(session, token)
        payment = _waiting_payment(session, checkout)
        provider = payments.provider(session, payment.provider)
    intent = None
    if payment.status == REQUIRES_ACTION and payment.intent_ref and checkout.status != "completed":
        intent = provider.retrieve(payment.intent_ref)
        if intent.status in (SUCCEEDED, DECLINED):
            record_answer(sessions, payment.id, intent, now)
            with sessions() as session:
                checkout = service.get_checkout(session, token)
                payment = session.get(Payment, payment.id)
    failed = None
    if payment.status in (DECLINED, "voided", "refunded") and checkout.status != "completed":
        failed = payment.failure_message or "The payment did not arrive."
    return Waiting(checkout, payment, intent, methods.METHODS.get(payment.method or ""), failed)


def settle_in_sandbox(sessions: sessionmaker[Session], token: str, paid: bool) -> str:
    """The sandbox's stand-in for the buyer paying the voucher or code, or letting it
    lapse: its signed event goes through the webhook's own path."""
    with sessions() as session:
        checkout = service.get_checkout(session, token)
        payment = _waiting_payment(session, checkout)
        if payment.provider != "sandbox" or payment.status != REQUIRES_ACTION:
            raise Conflict("This checkout is not waiting for a sandbox voucher or code.")
        ref = payment.intent_ref
    sandbox = payments.sandbox()
    payload = sandbox.settle(ref, paid)
    return on_payment_event(
        sessions, "sandbox", payload, {SANDBOX_SIGNATURE: sandbox.sign(payload)}
    )
