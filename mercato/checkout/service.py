"""Checkout rules: a hold on stock when it starts, prices and totals, the buyer's details,
and what an order needs before any money moves. Paying and placing the order is
``completion`` (a saga across transactions); the order is unique on (storefront,
checkout id).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from mercato.catalog.models import Product, Variant
from mercato.checkout import contact, limits, pricing, rates
from mercato.checkout.models import Checkout, CheckoutLine, DiscountCode
from mercato.checkout.schemas import (
    CheckoutCreate,
    CheckoutUpdate,
    DiscountCreate,
)
from mercato.customers import service as customers
from mercato.db import random_token, utcnow
from mercato.errors import Conflict, FieldError, MercatoError, NotFound, ValidationFailed
from mercato.inventory import reservations as stock
from mercato.inventory.availability import InsufficientStock
from mercato.inventory.schemas import ReservationLineInput
from mercato.money import CURRENCIES
from mercato.orders import service as orders
from mercato.orders.models import Order
from mercato.orders.schemas import Address, Attribution, Customer, OrderCreate, OrderLineCreate
from mercato.payments import service as payments
from mercato.payments.models import Payment
from mercato.payments.providers import (
    DECLINED,
    REQUIRES_ACTION,
    PaymentProvider,
    PaymentRequest,
)

log = logging.getLogger(__name__)
CHANNEL = "storefront"
HOLD = limits.HOLD
# While the provider is asked, the hold must outlast the answer.
PAYMENT_HOLD = timedelta(minutes=5)
MAX_ATTEMPTS = 8
ATTEMPT_WINDOW = timedelta(minutes=10)
UTM_KEYS = ("utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term")
CLICK_KEYS = ("fbclid", "gclid", "cart_origin")


class PaymentDeclined(MercatoError):
    slug = "payment-declined"
    title = "Payment declined"
    status = 402


class TooManyAttempts(MercatoError):
    slug = "too-many-attempts"
    title = "Too many attempts"
    status = 429


class CheckoutExpired(Conflict):
    slug = "checkout-expired"
    title = "Checkout expired"


@dataclass
class NewCheckout:
    checkout: Checkout
    token: str


@dataclass
class Completion:
    # completed, requires_action, declined, processing; total_changed (nothing charged:
    # show the new total); failed (charged, the order could not be placed, refunded)
    status: str
    checkout: Checkout
    order: Order | None = None
    next_action_url: str | None = None
    message: str | None = None


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def attribution_from_link(params: Mapping[str, str]) -> dict:
    """Attribution from a link's parameters: ``ch`` (channel), ``ref`` (creator or
    affiliate), ``post`` (content id) and ``utm_*``."""
    # Platforms' click ids ride along with the UTM tags (Meta fbclid, Google gclid).
    utm = {k: params[k][:255] for k in (*UTM_KEYS, *CLICK_KEYS) if params.get(k)}
    found = {
        "source": (params.get("ch") or utm.get("utm_source") or "")[:100] or None,
        "campaign": utm.get("utm_campaign"),
        "content_id": (params.get("post") or "")[:255] or None,
        "creator": (params.get("ref") or "")[:255] or None,
        "utm": utm,
    }
    return {k: v for k, v in found.items() if v}


# ---------------------------------------------------------------- reading


def get_checkout(session: Session, token: str, *, lock: bool = False) -> Checkout:
    """The checkout behind a secret token; ``lock`` holds its row until the transaction
    ends (completion)."""
    query = (
        select(Checkout)
        .options(selectinload(Checkout.lines))
        .where(Checkout.token_hash == hash_token(token))
    )
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    checkout = session.scalar(query)
    if checkout is None:
        raise NotFound("No such checkout.")
    return checkout


@dataclass
class LineDetail:
    line: CheckoutLine
    variant: Variant

    @property
    def title(self) -> str:
        return self.variant.product.title

    @property
    def variant_title(self) -> str | None:
        return " / ".join(self.variant.option_values) or None

    @property
    def image_url(self) -> str | None:
        product = self.variant.product
        return self.variant.image_url or (product.media[0].url if product.media else None)


@dataclass
class View:
    """Everything a head shows of a checkout."""

    checkout: Checkout
    lines: list[LineDetail]
    shipping_options: list[rates.ShippingRate]
    shipping_prices: dict[str, int]
    tax_name: str | None
    saved_payment_method: str | None
    order: Order | None
    now: datetime

    @property
    def seconds_left(self) -> int:
        return max(0, int((self.checkout.expires_at - self.now).total_seconds()))


def view(session: Session, checkout: Checkout, now: datetime | None = None) -> View:
    now = now or utcnow()
    variants = _variants(session, [ln.variant_id for ln in checkout.lines])
    table = rates.load()
    country = _country(checkout)
    goods = checkout.subtotal - checkout.discount_total
    options = table.shipping_rates(country)
    customer = customers.get(session, checkout.customer_id)
    tax = table.tax_for(country, (checkout.shipping_address or {}).get("region"))
    return View(
        checkout,
        [LineDetail(ln, variants[ln.variant_id]) for ln in checkout.lines],
        options,
        {r.code: pricing.shipping_amount(r, goods, checkout.currency, table) for r in options},
        tax.name if tax else None,
        customer.payment_method_label if customer and customer.payment_method_ref else None,
        session.get(Order, checkout.order_id) if checkout.order_id else None,
        now,
    )


def _country(checkout: Checkout) -> str | None:
    return (checkout.shipping_address or {}).get("country") or checkout.attribution.get("_country")


# ---------------------------------------------------------------- creating


def _variants(session: Session, ids) -> dict[str, Variant]:
    query = select(Variant).options(
        selectinload(Variant.product).selectinload(Product.media), selectinload(Variant.image)
    )
    return {v.id: v for v in session.scalars(query.where(Variant.id.in_(set(ids))))}


def unit_price(variant: Variant, currency: str, table: rates.Rates) -> int:
    """The variant's price in ``currency``: its own price there if set (attributes
    "prices"), else converted from its currency with the configured rates."""
    if variant.currency == currency:
        return variant.price
    own = (variant.attributes or {}).get("prices", {}).get(currency)
    if isinstance(own, int) and own >= 0:
        return own
    return table.convert(variant.price, variant.currency, currency)


def _resolve_lines(session: Session, lines) -> list[tuple[Variant, int]]:
    skus = {ln.sku for ln in lines if ln.sku}
    ids = {ln.variant_id for ln in lines if ln.variant_id}
    query = select(Variant).options(selectinload(Variant.product))
    found = list(session.scalars(query.where(Variant.sku.in_(skus) | Variant.id.in_(ids))))
    by_ref = {**{v.sku: v for v in found if v.sku}, **{v.id: v for v in found}}
    wanted: dict[str, int] = {}
    variants: dict[str, Variant] = {}
    errors = []
    for index, line in enumerate(lines):
        variant = by_ref.get(line.sku or line.variant_id)
        field = "sku" if line.sku else "variant_id"
        if variant is None or variant.product.status != "active":
            errors.append(FieldError(("lines", index, field), "is not for sale", "unknown"))
            continue
        variants[variant.id] = variant
        wanted[variant.id] = wanted.get(variant.id, 0) + line.quantity
    if errors:
        raise ValidationFailed("Some items cannot be bought.", errors)
    return [(variants[v], q) for v, q in wanted.items()]


def create_checkout(
    session: Session,
    data: CheckoutCreate,
    *,
    customer_id: str | None = None,
    visitor: str | None = None,
    now: datetime | None = None,
) -> NewCheckout:
    """Start a checkout: price the lines and hold their stock (limits.py: how much and
    how long; ``visitor`` is the hash of the shop's cookie, when there is one)."""
    now = now or utcnow()
    limits.check_visitor(session, visitor, now)
    table = rates.load()
    currency = (data.currency or table.currency_for(data.country)).upper()
    if currency not in CURRENCIES or currency not in table.currencies:
        raise ValidationFailed(
            f"{currency} is not sold in.", [FieldError(("currency",), f"one of {table.currencies}")]
        )
    resolved = _resolve_lines(session, data.lines)
    token = random_token()
    attribution = data.attribution.model_dump(exclude_none=True, exclude_defaults=True)
    if data.country:
        attribution["_country"] = data.country.upper()
    customer = customers.get(session, customer_id)
    checkout = Checkout(
        token_hash=hash_token(token),
        status="open",
        currency=currency,
        locale=data.locale,
        expires_at=now + HOLD,
        attribution=attribution,
        customer_id=customer.id if customer else None,
        visitor=visitor,
        remember=customer is not None,
        holds=1,
        email=customer.email if customer else None,
        phone=customer.phone if customer else None,
        shipping_address=customer.address if customer else None,
        lines=[
            CheckoutLine(
                position=i + 1,
                variant_id=v.id,
                quantity=q,
                unit_price=unit_price(v, currency, table),
            )
            for i, (v, q) in enumerate(resolved)
        ],
    )
    session.add(checkout)
    session.flush()
    _hold(session, checkout, now)
    if data.discount_code:
        checkout.discount_code = _discount(session, data.discount_code, currency, now).code
    _choose_default_shipping(checkout, table)
    _reprice(session, checkout, table, now)
    return NewCheckout(checkout, token)


def _hold(session: Session, checkout: Checkout, now: datetime) -> None:
    """Hold the checkout's stock (each hold its own inventory reference)."""
    held = stock.reserve(
        session,
        [
            ReservationLineInput(variant_id=ln.variant_id, quantity=ln.quantity)
            for ln in checkout.lines
        ],
        channel=CHANNEL,
        reference=f"{checkout.id}:{checkout.holds}",
        ttl_seconds=int(
            limits.hold_time(
                session, [(ln.variant_id, ln.quantity) for ln in checkout.lines], now
            ).total_seconds()
        ),
        actor=CHANNEL,
        now=now,
    )
    checkout.reservation_id, checkout.expires_at = held.id, held.expires_at


def _choose_default_shipping(checkout: Checkout, table: rates.Rates) -> None:
    codes = [r.code for r in table.shipping_rates(_country(checkout))]
    if checkout.shipping_rate not in codes:
        checkout.shipping_rate = codes[0] if codes else None


# ---------------------------------------------------------------- discounts


def create_discount(session: Session, data: DiscountCreate) -> DiscountCode:
    errors = []
    if data.kind == "percentage" and data.value > 100:
        errors.append(FieldError(("value",), "a percentage is at most 100"))
    if data.kind == "fixed" and not data.currency:
        errors.append(FieldError(("currency",), "a fixed discount needs its currency"))
    if session.get(DiscountCode, data.code.upper()) is not None:
        errors.append(FieldError(("code",), "already exists", "taken"))
    if errors:
        raise ValidationFailed("The discount code cannot be created.", errors)
    code = DiscountCode(
        code=data.code.upper(),
        kind=data.kind,
        value=data.value,
        currency=data.currency.upper() if data.currency else None,
        starts_at=data.starts_at,
        ends_at=data.ends_at,
        note=data.note,
        active=True,
    )
    session.add(code)
    session.flush()
    return code


def list_discounts(session: Session) -> list[DiscountCode]:
    return list(session.scalars(select(DiscountCode).order_by(DiscountCode.code)))


def _discount(session: Session, code: str, currency: str, now: datetime) -> DiscountCode:
    found = session.get(DiscountCode, code.strip().upper())
    usable = (
        found is not None
        and found.active
        and (found.starts_at is None or found.starts_at <= now)
        and (found.ends_at is None or now < found.ends_at)
    )
    if not usable:
        raise ValidationFailed(
            f"The code {code.strip()!r} is not valid.",
            [FieldError(("discount_code",), "is not a valid code")],
        )
    return found


def discount_preview(
    session: Session, code: str, currency: str, subtotal: int, now: datetime | None = None
) -> tuple[int, str | None]:
    """What ``code`` would take off ``subtotal`` (a cart shown before any checkout exists):
    (amount, None), or (0, why it does not apply)."""
    try:
        found = _discount(session, code, currency, now or utcnow())
    except ValidationFailed as exc:
        return 0, exc.detail
    return pricing.discount_amount(_as_discount(found, currency, rates.load()), subtotal), None


def _as_discount(code: DiscountCode, currency: str, table: rates.Rates) -> pricing.Discount:
    value = (
        code.value
        if code.kind == "percentage"
        else table.convert(code.value, code.currency, currency)
    )
    return pricing.Discount(code.code, code.kind, value)


# ---------------------------------------------------------------- changing


def _open(checkout: Checkout) -> None:
    if checkout.status != "open":
        raise Conflict(f"This checkout is {checkout.status}.", extra={"status": checkout.status})


def update_checkout(
    session: Session, token: str, data: CheckoutUpdate, now: datetime | None = None
) -> Checkout:
    """Set the buyer's details; each is checked for its country, totals are redone."""
    now = now or utcnow()
    checkout = get_checkout(session, token)
    _open(checkout)
    table = rates.load()
    errors: list[FieldError] = []
    fields = data.model_fields_set
    country = data.shipping_address.country if data.shipping_address else _country(checkout)
    if "email" in fields:
        checkout.email = str(data.email) if data.email else None
    if "phone" in fields:
        checkout.phone = None
        if data.phone:
            checkout.phone, found = contact.normalize_phone(data.phone, country, ("phone",))
            errors += found
    if data.shipping_address is not None:
        address, found = contact.normalize_postal(
            data.shipping_address.model_dump(), ("shipping_address",)
        )
        errors += found
        if address is not None:
            checkout.shipping_address = address
    if data.shipping_rate is not None:
        codes = [r.code for r in table.shipping_rates(country)]
        if data.shipping_rate not in codes:
            errors.append(FieldError(("shipping_rate",), f"one of {codes}"))
        else:
            checkout.shipping_rate = data.shipping_rate
    if data.discount_code is not None:
        checkout.discount_code = None
        if data.discount_code:
            try:
                checkout.discount_code = _discount(
                    session, data.discount_code, checkout.currency, now
                ).code
            except ValidationFailed as exc:
                errors += exc.errors
    if data.remember is not None:
        checkout.remember = data.remember
    if errors:
        raise ValidationFailed("Some details need another look.", errors)
    _choose_default_shipping(checkout, table)
    _reprice(session, checkout, table, now)
    return checkout


def reprice(session: Session, checkout: Checkout, now: datetime) -> None:
    """Totals again from the current rates (a discount may have ended meanwhile)."""
    _reprice(session, checkout, rates.load(), now)


def _reprice(session: Session, checkout: Checkout, table: rates.Rates, now: datetime) -> None:
    country = _country(checkout)
    code = session.get(DiscountCode, checkout.discount_code) if checkout.discount_code else None
    shipping = next(
        (r for r in table.shipping_rates(country) if r.code == checkout.shipping_rate), None
    )
    priced = [pricing.PricedLine(ln.unit_price, ln.quantity) for ln in checkout.lines]
    totals = pricing.price(
        priced,
        checkout.currency,
        table,
        discount=_as_discount(code, checkout.currency, table) if code else None,
        shipping=shipping,
        tax=table.tax_for(country, (checkout.shipping_address or {}).get("region")),
    )
    for line, done in zip(checkout.lines, priced, strict=True):
        line.discount, line.tax = done.discount, done.tax
    checkout.subtotal, checkout.discount_total = totals.subtotal, totals.discount_total
    checkout.shipping_total, checkout.tax_total = totals.shipping_total, totals.tax_total
    checkout.taxes_included, checkout.total = totals.taxes_included, totals.total
    checkout.updated_at = now
    session.flush()


def renew_hold(session: Session, checkout: Checkout, now: datetime) -> None:
    """Hold the stock again after the hold lapsed, or say that it is gone."""
    held = stock.get_reservation(session, checkout.reservation_id)
    if held.status == "active" and held.expires_at > now:
        return
    checkout.holds += 1
    try:
        _hold(session, checkout, now)
    except InsufficientStock:
        raise CheckoutExpired(
            "Your items were held for 15 minutes and some sold out meanwhile."
        ) from None
    checkout.status = "open"  # the sweeper may have expired it


# ---------------------------------------------------------------- completing


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


def ready_to_pay(session: Session, checkout: Checkout, now: datetime) -> OrderCreate:
    """Everything an order needs, checked before any money moves: an attempt within the
    limit, the buyer's details, the stock held again if the hold lapsed, fresh totals."""
    _count_attempt(checkout, now)
    errors = _missing(checkout)
    if errors:
        raise ValidationFailed("Some details are missing.", errors)
    renew_hold(session, checkout, now)
    reprice(session, checkout, now)
    return order_for(session, checkout)


def hold_for_payment(session: Session, checkout: Checkout, now: datetime) -> None:
    # The hold must outlast the provider's answer.
    checkout.expires_at = stock.extend(
        session, checkout.reservation_id, int(PAYMENT_HOLD.total_seconds()), now=now
    ).expires_at


def payment_request(
    checkout: Checkout, customer, provider: PaymentProvider, key: str
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
    )


def answer(checkout: Checkout, payment, next_action_url: str | None = None) -> Completion:
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


def order_for(session: Session, checkout: Checkout) -> OrderCreate:
    address = dict(checkout.shipping_address or {})
    a = checkout.attribution or {}
    return OrderCreate(
        channel=CHANNEL,
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
        taxes_included=checkout.taxes_included,
        customer=Customer(name=address.get("name"), email=checkout.email, phone=checkout.phone),
        shipping_address=Address(**address) if address else None,
        attribution=Attribution(
            source=a.get("source"),
            campaign=a.get("campaign"),
            content_id=a.get("content_id"),
            creator=a.get("creator"),
            utm=a.get("utm", {}),
        ),
        payment_status="paid",
    )


def finish(
    session: Session,
    checkout: Checkout,
    data: OrderCreate,
    intent,
    provider_name: str | None,
    now: datetime,
) -> Completion:
    if intent is not None and (intent.amount, intent.currency.upper()) != (
        checkout.total,
        checkout.currency,
    ):
        raise Conflict("The payment does not match the checkout's total; nothing was placed.")
    stock.commit(session, checkout.reservation_id, actor=CHANNEL, now=now)
    order, _ = orders.create_order(session, data, actor=CHANNEL)
    # Its units were sold through the checkout's reservation: a cancel or return gives
    # them back like any order's.
    order.stock_state = "committed"
    if order.total != checkout.total:
        raise Conflict("The order's total differs from the checkout's; nothing was placed.")
    checkout.status, checkout.order_id, checkout.completed_at = "completed", order.id, now
    if checkout.remember:
        remembered = customers.remember(
            session,
            checkout.customer_id,
            email=checkout.email,
            phone=checkout.phone,
            name=(checkout.shipping_address or {}).get("name"),
            address=checkout.shipping_address,
            provider=provider_name,
            customer_ref=intent.customer_ref if intent else None,
            method_ref=intent.payment_method_ref if intent else None,
            method_label=intent.payment_method_label if intent else None,
        )
        checkout.customer_id = remembered.id if remembered else checkout.customer_id
    session.flush()
    return Completion("completed", checkout, order)


# ---------------------------------------------------------------- expiry


def expire_lapsed(session: Session, now: datetime | None = None, limit: int = 500) -> int:
    """Mark open checkouts whose hold lapsed as expired and give their stock back."""
    now = now or utcnow()
    lapsed = list(
        session.scalars(
            select(Checkout)
            .where(Checkout.status == "open", Checkout.expires_at <= now)
            .order_by(Checkout.expires_at)
            .limit(limit)
            .with_for_update()
        )
    )
    for checkout in lapsed:
        if checkout.reservation_id:
            stock.release(session, checkout.reservation_id, actor=CHANNEL, now=now)
        checkout.status, checkout.updated_at = "expired", now
    session.flush()
    return len(lapsed)


# ---------------------------------------------------------------- the checkout page


def send_login_link(
    session: Session, token: str, email: str | None, now: datetime | None = None
) -> None:
    """A returning buyer on a new device asks for a sign-in link to this checkout. Sent
    only if a customer has this email; the buyer is told the same either way."""
    try:
        address = contact.normalize_email(email or "")
    except ValueError:
        raise ValidationFailed(
            "Give the email address you shopped with.",
            [FieldError(("email",), "enter your email address")],
        ) from None
    checkout = get_checkout(session, token)
    # The mail sender delivers the link (customers.login_link_url); it is never logged.
    customers.request_login_link(session, address, checkout_id=checkout.id, now=now)


def sign_in(
    session: Session, link_token: str, now: datetime | None = None
) -> tuple[customers.SignedIn, str | None]:
    """Spend a sign-in link; return who signed in and a fresh token of the checkout it
    was asked from, now theirs with their saved address (None when that checkout is no
    longer open). The old token stops working: the checkout belongs to the link's holder.
    """
    now = now or utcnow()
    signed_in = customers.use_login_link(session, link_token, now)
    checkout = (
        session.scalar(
            select(Checkout).where(Checkout.id == signed_in.checkout_id).with_for_update()
        )
        if signed_in.checkout_id
        else None
    )
    if checkout is None or checkout.status == "completed":
        return signed_in, None
    customer = signed_in.customer
    token = random_token()
    checkout.token_hash = hash_token(token)
    checkout.customer_id, checkout.remember = customer.id, True
    checkout.email = customer.email or checkout.email
    checkout.phone = customer.phone or checkout.phone
    checkout.shipping_address = customer.address or checkout.shipping_address
    table = rates.load()
    _choose_default_shipping(checkout, table)
    _reprice(session, checkout, table, now)
    return signed_in, token


def uses_sandbox(session: Session) -> bool:
    return payments.provider(session).name == "sandbox"


def authenticate_in_sandbox(session: Session, token: str, approved: bool) -> None:
    """The sandbox's stand-in for the bank's 3-D Secure page."""
    checkout = get_checkout(session, token)
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
