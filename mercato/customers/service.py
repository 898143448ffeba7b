"""Returning buyers: remembered after a purchase they asked to be remembered for, and
recognised on their device by a signed cookie that holds only their id."""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from mercato.config import get_settings
from mercato.customers.models import Customer
from mercato.db import utcnow

COOKIE = "mercato_buyer"
COOKIE_MAX_AGE = 365 * 24 * 3600
_CONTEXT = b"mercato/buyer-cookie/v1"


def _key() -> bytes:
    # Derived, not the raw secret key: that key also signs other things.
    return hashlib.sha256(_CONTEXT + b"\0" + get_settings().resolved_secret_key().encode()
                          ).digest()


def sign(customer_id: str, now: float | None = None) -> str:
    expires = int((now or time.time()) + COOKIE_MAX_AGE)
    body = f"{customer_id}.{expires}"
    return f"{body}.{hmac.new(_key(), body.encode(), hashlib.sha256).hexdigest()}"


def verify(value: str | None, now: float | None = None) -> str | None:
    """The customer id in a valid, unexpired cookie; None otherwise."""
    if not value or value.count(".") != 2:
        return None
    customer_id, expires, signature = value.split(".")
    expected = hmac.new(_key(), f"{customer_id}.{expires}".encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, signature) or not expires.isdigit():
        return None
    return customer_id if int(expires) > (now or time.time()) else None


def get(session: Session, customer_id: str | None) -> Customer | None:
    return session.get(Customer, customer_id) if customer_id else None


def remember(session: Session, recognised_id: str | None, *, email: str | None,
             phone: str | None, name: str | None, address: dict[str, Any] | None,
             provider: str | None, customer_ref: str | None, method_ref: str | None,
             method_label: str | None) -> Customer | None:
    """Save the buyer's address and payment method token for next time.

    Returns the customer to recognise on this device, or None when the email or phone
    belongs to someone this device was not recognised as: their saved details are never
    handed to whoever types their email.
    """
    conditions = [c for c in (Customer.email == email if email else None,
                              Customer.phone == phone if phone else None) if c is not None]
    existing = list(session.scalars(select(Customer).where(or_(*conditions)))) \
        if conditions else []
    recognised = get(session, recognised_id)
    if any(c.id != recognised_id for c in existing):
        return None
    customer = recognised or Customer()
    if recognised is None:
        session.add(customer)
    customer.email, customer.phone = email or customer.email, phone or customer.phone
    customer.name, customer.address = name or customer.name, address or customer.address
    if method_ref:
        customer.payment_provider, customer.payment_method_ref = provider, method_ref
        customer.payment_customer_ref = customer_ref
        customer.payment_method_label = method_label
    customer.updated_at = utcnow()
    session.flush()
    return customer


def forget_payment_method(session: Session, customer_id: str) -> None:
    customer = get(session, customer_id)
    if customer is not None:
        customer.payment_provider = customer.payment_method_ref = None
        customer.payment_customer_ref = customer.payment_method_label = None
