"""Paying with a card the buyer types into the provider's own element on the page: the
browser confirms the intent with the provider, Mercato only ever sees its reference.
``card_form`` makes the intent (once, kept at the checkout's total); ``prepare_card_payment``
checks all the order needs when the buyer taps Pay; ``completion.resume`` (the browser's
return) or the provider's webhook places the order."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from mercato.checkout import completion, paying, service
from mercato.checkout.models import Checkout
from mercato.checkout.schemas import CheckoutUpdate
from mercato.customers import service as customers
from mercato.db import transaction, utcnow
from mercato.errors import Conflict
from mercato.orders.models import Order
from mercato.payments import service as payments
from mercato.payments.models import Payment
from mercato.payments.providers import SUCCEEDED, UNCONFIRMED, Intent, ProviderError


@dataclass
class CardForm:
    """What the page needs to mount the provider's card element."""

    publishable_key: str
    client_secret: str
    intent_ref: str
    # What the intent is for: the page confirms only a total the buyer has seen.
    total: int


def card_form(sessions: sessionmaker[Session], token: str) -> CardForm | None:
    """The intent the page's card element confirms, at the checkout's current total;
    None when the active provider takes no card details in the browser (the sandbox)."""
    with sessions() as session:
        key = payments.browser_key(session)
        if key is None:
            return None
        checkout = service.get_checkout(session, token)
        if checkout.status == "completed":
            return None
    intent, _ = _element_intent(sessions, token, buying=False)
    return CardForm(key, intent.client_secret, intent.ref, intent.amount)


def prepare_card_payment(
    sessions: sessionmaker[Session],
    token: str,
    update: CheckoutUpdate | None,
    expected_total: int | None,
    now: datetime | None = None,
) -> CardForm | paying.Completion:
    """The buyer tapped Pay with a card typed into the provider's element: save their
    details, check all the order needs, the total they saw, and hold the stock; then
    bring the intent to the total. Their browser confirms it with the provider;
    ``resume`` (its return) or the provider's webhook places the order."""
    now = now or utcnow()
    with transaction(sessions) as session:
        if update is not None:
            service.update_checkout(session, token, update, now)
        key = payments.browser_key(session)
        checkout = service.get_checkout(session, token, lock=True)
        if checkout.status == "completed":
            return paying.Completion("completed", checkout, session.get(Order, checkout.order_id))
        if key is None:
            raise Conflict("Card details are not taken on this page; choose a payment method.")
        paying.ready_to_pay(session, checkout, now)
        changed = completion.changed_total(checkout, expected_total)
        if changed is not None:
            return changed
        if checkout.total == 0:
            return paying.place_order(session, checkout, None, None, now)
        paying.hold_for_payment(session, checkout, now)
    intent, payment_id = _element_intent(sessions, token, buying=True)
    if intent.status == SUCCEEDED:  # paid meanwhile (another tab): place the order
        return completion.record_answer(sessions, payment_id, intent, now)
    return CardForm(key, intent.client_secret, intent.ref, intent.amount)


def _element_intent(
    sessions: sessionmaker[Session], token: str, *, buying: bool
) -> tuple[Intent, str]:
    """This checkout's element intent, made once and kept at the checkout's total; when
    the buyer pays, also saving the method only if they asked. A confirmed one is left
    as it is. Its payment row is written before the provider makes the intent."""
    with transaction(sessions) as session:
        checkout = service.get_checkout(session, token)
        provider = payments.provider(session)
        customer = customers.get(session, checkout.customer_id)
        payment = _element_payment(session, checkout, provider.name)
        payment.amount, payment.updated_at = checkout.total, utcnow()
        request = paying.payment_request(
            checkout,
            customer,
            provider,
            f"{checkout.id}:{payment.attempt_key}",
            paying.offered_methods(session, checkout),
        )
        payment_id, ref = payment.id, payment.intent_ref
    intent = None
    if ref is not None:
        intent = provider.retrieve(ref)
        stale = (intent.amount, intent.currency.upper()) != (request.amount, request.currency)
        if intent.status in UNCONFIRMED and (stale or buying):
            try:
                intent = provider.update_intent(intent.ref, request)
            except ProviderError:
                intent = None  # it can no longer change (canceled): start a new one
        if intent is None:
            completion.close_payment(
                sessions, payment_id, "voided", "The intent could no longer change."
            )
            return _element_intent(sessions, token, buying=buying)
    else:
        intent = provider.create_intent(request)
    with transaction(sessions) as session:
        payments.record(session, session.get(Payment, payment_id), intent)
    return intent, payment_id


def _element_payment(session: Session, checkout: Checkout, provider_name: str) -> Payment:
    """The checkout's open element payment, or a new pending one."""
    found = session.scalar(
        select(Payment)
        .where(
            Payment.checkout_id == checkout.id,
            Payment.provider == provider_name,
            Payment.attempt_key.startswith(completion.ELEMENT),
        )
        .order_by(Payment.created_at.desc())
    )
    if found is not None and found.status not in ("voided", "declined"):
        return found
    count = session.scalar(
        select(func.count())
        .select_from(Payment)
        .where(
            Payment.checkout_id == checkout.id, Payment.attempt_key.startswith(completion.ELEMENT)
        )
    )
    payment = Payment(
        checkout_id=checkout.id,
        attempt_key=f"{completion.ELEMENT}{count + 1}",
        provider=provider_name,
        status="pending",
        amount=checkout.total,
        currency=checkout.currency,
    )
    session.add(payment)
    session.flush()
    return payment
