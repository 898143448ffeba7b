"""The checkout's side of paying, each step inside one of the saga's transactions
(``completion``): what an order needs before any money moves (details, an attempt within
the limit, the stock held, fresh totals), the provider's request and how its answer
reads to the buyer, and placing the order once paid. The sandbox provider's stand-in
for the bank's authentication page is here too."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from mercato.checkout import discounts, service
from mercato.checkout.models import Checkout
from mercato.customers import consent, identities, merges
from mercato.customers import service as customers
from mercato.errors import Conflict, FieldError, MercatoError, ValidationFailed
from mercato.inventory import reservations as stock
from mercato.markets import service as markets
from mercato.orders import creation, screening
from mercato.orders.models import Order
from mercato.orders.schemas import Address, Attribution, Customer, OrderCreate, OrderLineCreate
from mercato.payments import methods
from mercato.payments import service as payments
from mercato.payments.models import Payment
from mercato.payments.providers import DECLINED, REQUIRES_ACTION, PaymentProvider, PaymentRequest

# While the provider is asked, the hold must outlast the answer.
PAYMENT_HOLD = timedelta(minutes=5)
MAX_ATTEMPTS = 8
ATTEMPT_WINDOW = timedelta(minutes=10)


class PaymentDeclined(MercatoError):
    slug = "payment-declined"
    title = "Payment declined"
    status = 402


class TooManyAttempts(MercatoError):
    slug = "too-many-attempts"
    title = "Too many attempts"
    status = 429


@dataclass
class Completion:
    # completed, requires_action, declined, processing; waiting (a voucher or code the
    # buyer pays elsewhere: the order is placed when the provider says paid);
    # total_changed (nothing charged: show the new total); failed (charged, the order
    # could not be placed, refunded)
    status: str
    checkout: Checkout
    order: Order | None = None
    next_action_url: str | None = None
    message: str | None = None
    # The order's fraud assessment when the rules cancelled it: refunded after the commit.
    fraud_cancel: str | None = None


def _missing(checkout: Checkout) -> list[FieldError]:
    errors = []
    if not (checkout.email or checkout.phone):
        errors.append(FieldError(("email",), "give an email address or a phone number", "required"))
    if not checkout.shipping_address:
        errors.append(FieldError(("shipping_address",), "is required", "required"))
    if not checkout.shipping_rate:
        errors.append(FieldError(("shipping_rate",), "choose a shipping method", "required"))
    return errors


def _count_attempt(checkout: Checkout, now: datetime) -> None:
    if checkout.attempts_since is None or now - checkout.attempts_since > ATTEMPT_WINDOW:
        checkout.attempts, checkout.attempts_since = 0, now
    if checkout.attempts >= MAX_ATTEMPTS:
        wait = int((checkout.attempts_since + ATTEMPT_WINDOW - now).total_seconds()) + 1
        raise TooManyAttempts(
            f"Too many payment attempts; try again in {wait} seconds.", extra={"retry_after": wait}
        )
    checkout.attempts += 1


def ready_to_pay(
    session: Session, checkout: Checkout, now: datetime, hold: service.Hold | None = None
) -> None:
    """Everything an order needs, checked before any money moves: an attempt within the
    limit, the buyer's details, the stock held again if the hold lapsed (``hold``: as read
    with the checkout), fresh totals."""
    # Codes are held only here: before a first attempt, with no code on the checkout,
    # there is nothing to hold or give back (a query saved on most orders).
    nothing_held = checkout.attempts_since is None and not checkout.discount_codes
    _count_attempt(checkout, now)
    errors = _missing(checkout)
    if errors:
        raise ValidationFailed("Some details are missing.", errors)
    with session.no_autoflush:  # the attempt is written with the new totals, in one UPDATE
        service.renew_hold(session, checkout, now, hold)
        service.reprice(session, checkout, now)
    # The code's slot is taken before any money moves; a code run out meanwhile comes
    # off, and the new total is what the buyer is shown (nothing charged).
    if not nothing_held and not discounts.hold(session, checkout, now):
        service.reprice(session, checkout, now)


def hold_for_payment(session: Session, checkout: Checkout, now: datetime) -> None:
    # The hold must outlast the provider's answer; one that already does is left as it
    # is (a declined card must not cut the buyer's remaining time to five minutes).
    if checkout.expires_at is not None and checkout.expires_at >= now + PAYMENT_HOLD:
        return
    checkout.expires_at = stock.extend_until(
        session, checkout.reservation_id, int(PAYMENT_HOLD.total_seconds()), now=now
    )


def offered_methods(session: Session, checkout: Checkout) -> tuple[str, ...] | None:
    """The payment method types the checkout's market offers; None with no market."""
    found = markets.payment_methods(session, checkout.market)
    return tuple(found) if found else None


def method_type(payment_method: str) -> str:
    """The type of what the buyer paid with: a local method by its name, else a card
    (a test token, a saved method)."""
    return payment_method if payment_method in methods.METHODS else "card"


def check_offered(session: Session, checkout: Checkout, payment_method: str) -> str:
    """The chosen method's type, refused when the checkout's market does not offer it."""
    chosen, offered = method_type(payment_method), offered_methods(session, checkout)
    if offered is not None and chosen not in offered:
        raise ValidationFailed(
            "This payment method is not offered here.",
            [FieldError(("payment_method",), f"one of {', '.join(offered)}")],
        )
    if offered is None and chosen != "card":
        raise ValidationFailed(
            "This payment method is not offered here.",
            [FieldError(("payment_method",), "only cards are taken without a market")],
        )
    return chosen


def payment_request(
    checkout: Checkout,
    customer,
    provider: PaymentProvider,
    key: str,
    offered: tuple[str, ...] | None = None,
) -> PaymentRequest:
    return PaymentRequest(
        checkout.total,
        checkout.currency,
        key,
        description=f"Checkout {checkout.id}",
        customer_ref=customer.payment_customer_ref
        if customer and customer.payment_provider == provider.name
        else None,
        save_method=checkout.remember,
        metadata={"checkout_id": checkout.id},
        payment_method_types=offered,
    )


def wait_for_payment(session: Session, checkout: Checkout, pay_by: datetime, now: datetime) -> None:
    """A voucher or code payable until ``pay_by``: the stock stays held until then, and a
    while after for the provider's word to arrive. Held again first if the hold lapsed
    meanwhile (refused when it sold out)."""
    service.renew_hold(session, checkout, now)
    until = pay_by + methods.NOTICE_GRACE
    if checkout.expires_at is not None and checkout.expires_at >= until:
        return
    checkout.expires_at = stock.extend_until(
        session, checkout.reservation_id, max(1, int((until - now).total_seconds())), now=now
    )


def give_up_waiting(session: Session, checkout: Checkout, now: datetime) -> None:
    """A voucher or code that lapsed or failed: its held stock (and discount slot) go
    back at once; the buyer who comes back is held afresh when paying again."""
    if checkout.status != "open":
        return
    if checkout.reservation_id:
        stock.release(session, checkout.reservation_id, actor=service.CHANNEL, now=now)
    discounts.release(session, [checkout.id] if checkout.discount_codes else [], now)
    checkout.status, checkout.expires_at, checkout.updated_at = "expired", now, now


WAITING_MESSAGE = "Pay with the code below; your order is placed as soon as the payment arrives."


def answer(checkout: Checkout, payment, next_action_url: str | None = None) -> Completion:
    if payment.status == REQUIRES_ACTION and methods.flow_of(payment.method) == methods.DELAYED:
        return Completion("waiting", checkout, message=WAITING_MESSAGE)
    if payment.status == REQUIRES_ACTION:
        return Completion(
            "requires_action",
            checkout,
            next_action_url=next_action_url,
            message="Your bank asks you to confirm this payment.",
        )
    if payment.status == DECLINED:
        return Completion(
            "declined", checkout, message=payment.failure_message or "The payment was declined."
        )
    return Completion("completed", checkout)


def order_for(checkout: Checkout) -> OrderCreate:
    address = dict(checkout.shipping_address or {})
    a = checkout.attribution or {}
    return OrderCreate(
        channel=service.CHANNEL,
        external_id=checkout.id,
        currency=checkout.currency,
        lines=[
            OrderLineCreate(
                variant_id=ln.variant_id,
                quantity=ln.quantity,
                unit_price=ln.unit_price,
                discount=ln.discount,
                tax=ln.tax,
            )
            for ln in checkout.lines
        ],
        shipping_total=checkout.shipping_total,
        discount_codes=[
            {"code": d["code"], "amount": d["amount"]} for d in checkout.discount_codes
        ],
        taxes_included=checkout.taxes_included,
        duties_total=checkout.duties_total if checkout.duties_mode == "ddp" else 0,
        market=checkout.market,
        fx_rate=checkout.fx_rate,
        fx_date=checkout.fx_date,
        customer=Customer(name=address.get("name"), email=checkout.email, phone=checkout.phone),
        shipping_address=Address(**address) if address else None,
        attribution=Attribution(
            source=a.get("source"),
            campaign=a.get("campaign"),
            content_id=a.get("content_id"),
            creator=a.get("creator"),
            conversation_id=a.get("conversation_id"),
            utm=a.get("utm", {}),
            experiment=a.get("experiment"),
        ),
        payment_status="paid",
    )


def pays_total(checkout: Checkout, intent) -> bool:
    """Does the provider's intent pay exactly the checkout's total?"""
    return (intent.amount, intent.currency.upper()) == (checkout.total, checkout.currency)


def intent_mismatch() -> Conflict:
    return Conflict("The payment does not match the checkout's total; nothing was placed.")


def place_order(
    session: Session,
    checkout: Checkout,
    intent,
    provider_name: str | None,
    now: datetime,
    payment: Payment | None = None,
) -> Completion:
    """Place the paid checkout's order and sell its held units. ``payment`` (paid by
    ``intent``) is recorded with its order, in the same UPDATE."""
    if intent is not None and not pays_total(checkout, intent):
        raise intent_mismatch()
    # Its units are sold through the checkout's reservation (below): a cancel or return
    # gives them back like any order's.
    order, _ = creation.create_order(
        session,
        order_for(checkout),
        actor=service.CHANNEL,
        stock_state="committed",
        buyer=buyer_of(checkout),
    )
    record_placed(session, checkout, order, intent, payment, now, provider_name)
    session.flush()
    done = screened(session, Completion("completed", checkout, order), intent)
    # The units are taken last: from this UPDATE of the stock level to the commit, every
    # other buyer of the SKU waits, so nothing else happens in between.
    stock.commit(session, checkout.reservation_id, actor=service.CHANNEL, now=now)
    return done


def remember_client(checkout: Checkout, client: dict | None, device_id: str | None) -> None:
    """Keep what the request said of the buyer's client (``web.clients``) until the order
    is screened; an app's device id wins over the web's cookie."""
    seen = dict(client or {})
    if device_id:
        seen["device_id"] = device_id
    elif "device_id" not in seen and checkout.visitor:
        seen["device_id"] = checkout.visitor
    if seen and checkout.attribution.get("_client") != seen:
        checkout.attribution = {**checkout.attribution, "_client": seen}


def screened(session: Session, done: Completion, intent, current=None) -> Completion:
    """Screen the placed order for fraud (``orders.screening``): held orders stay
    completed for the buyer; one the rules cancel is refunded after the commit."""
    checkout, order = done.checkout, done.order
    seen = (checkout.attribution or {}).get("_client") or {}
    signals = screening.signals_of(
        order,
        ip=seen.get("ip"),
        ip_country=seen.get("ip_country"),
        device_id=seen.get("device_id") or checkout.visitor,
        card_fingerprint=getattr(intent, "card_fingerprint", None),
        provider_risk_level=getattr(intent, "risk_level", None),
        provider_risk_score=getattr(intent, "risk_score", None),
    )
    if intent is not None and intent.billing_country:
        signals = replace(signals, billing_country=intent.billing_country)
    assessment = screening.screen(session, order, signals, current)
    if screening.cancel_due(assessment):
        done.fraud_cancel = assessment.id
    return done


def record_placed(
    session: Session,
    checkout: Checkout,
    order: Order,
    intent,
    payment: Payment | None,
    now: datetime,
    provider_name: str | None = None,
) -> None:
    """The checkout completed by its order, the payment recorded with it, the buyer
    remembered if they asked to be. Raises if the order's total is not the checkout's."""
    if order.total != checkout.total:
        raise Conflict("The order's total differs from the checkout's; nothing was placed.")
    checkout.status, checkout.order_id, checkout.completed_at = "completed", order.id, now
    discounts.redeemed(session, checkout, order.id, now)
    if payment is not None:
        payments.record(session, payment, intent, flush=False)
        payment.order_id = order.id
        provider_name = payment.provider
    if checkout.remember:
        # A buyer new to the shop is remembered on the row their order just made.
        fresh = identities.made_by(session, order.customer_id, f"checkout:{checkout.id}")
        remembered = customers.remember(
            session,
            checkout.customer_id or (order.customer_id if fresh else None),
            email=checkout.email,
            phone=checkout.phone,
            name=(checkout.shipping_address or {}).get("name"),
            address=checkout.shipping_address,
            provider=provider_name,
            customer_ref=intent.customer_ref if intent else None,
            method_ref=intent.payment_method_ref if intent else None,
            method_label=intent.payment_method_label if intent else None,
        )
        if remembered is not None and remembered.id not in (
            checkout.customer_id,
            order.customer_id,
        ):
            _join_profile(session, checkout, order, remembered.id)
        checkout.customer_id = remembered.id if remembered else checkout.customer_id
    _record_marketing(session, checkout, order, now)


# The storefront's consent boxes, word for word: what the buyer agrees to by ticking each.
MARKETING_WORDING = "Email me news and offers. I can unsubscribe at any time."
PERSONALISATION_WORDING = "Show me products picked for me from what I buy. I can say no later."


def _record_marketing(session: Session, checkout: Checkout, order: Order, now: datetime) -> None:
    """A ticked box is the buyer's consent (marketing by email, personalisation), with its
    words."""
    if not order.customer_id:
        return
    ticked = []
    if checkout.marketing_opt_in and checkout.email:
        ticked.append((consent.Need("marketing", "email"), MARKETING_WORDING))
    if checkout.personalisation_opt_in:
        ticked.append((consent.Need("personalisation"), PERSONALISATION_WORDING))
    for need, wording in ticked:
        consent.record(
            session,
            order.customer_id,
            need,
            True,
            source="storefront_checkout",
            wording=wording,
            reference=f"checkout:{checkout.id}",
            now=now,
        )


def _join_profile(session: Session, checkout: Checkout, order: Order, remembered: str) -> None:
    """A buyer remembered for the first time is the order's buyer: their new row joins
    the profile the order was linked to (a merge, undone like any other)."""
    if order.customer_id is None:
        order.customer_id = remembered
        return
    if merges.root_of(session, order.customer_id).id == merges.root_of(session, remembered).id:
        return
    merges.merge(
        session,
        order.customer_id,
        remembered,
        rule="remembered_at_checkout",
        reason=f"checkout:{checkout.id}: the buyer of order #{order.number} asked to be "
        "remembered on their device",
        actor="system",
        evidence={"source": f"checkout:{checkout.id}", "order_id": order.id},
    )


def buyer_of(checkout: Checkout) -> identities.Observation:
    """What a storefront checkout says of its buyer: the buyer signed in or recognised
    on the device (their own row), then the email and phone they typed (unverified)."""
    address = checkout.shipping_address or {}
    return identities.Observation(
        f"checkout:{checkout.id}",
        identities.contact_claims(
            email=checkout.email,
            phone=checkout.phone,
            name=address.get("name"),
            address=address or None,
        ),
        known_customer_id=checkout.customer_id,
        name=address.get("name"),
        language=checkout.locale if checkout.locale and checkout.locale != "en" else None,
    )


def uses_sandbox(session: Session) -> bool:
    return payments.provider(session).name == "sandbox"


def authenticate_in_sandbox(session: Session, token: str, approved: bool) -> str | None:
    """The sandbox's stand-in for the bank's 3-D Secure page, or for a redirect method's
    bank page; where the buyer goes back to (Stripe's return_url, with the intent), or
    None for the 3-D Secure page's own way back."""
    checkout = service.get_checkout(session, token)
    payment = session.scalar(
        select(Payment)
        .where(
            Payment.checkout_id == checkout.id,
            Payment.status == REQUIRES_ACTION,
            Payment.provider == "sandbox",
        )
        .order_by(Payment.created_at.desc())
    )
    if payment is None:
        raise Conflict("This checkout is not waiting for an authentication.")
    payments.sandbox().authenticate(payment.intent_ref, approved)
    return payments.sandbox().returned_to(payment.intent_ref)
