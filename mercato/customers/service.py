"""Returning buyers: remembered after a purchase they asked to be remembered for, and
recognised on their device by a signed cookie that holds only their id, or on a new
device by a one-time sign-in link sent to their email."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from mercato import crypto
from mercato.config import get_settings
from mercato.customers.models import Customer, LoginLink, email_key, value_key
from mercato.db import utcnow
from mercato.errors import MercatoError
from mercato.events import service as events

COOKIE = "mercato_buyer"
COOKIE_MAX_AGE = 365 * 24 * 3600
_CONTEXT = b"mercato/buyer-cookie/v1"
_LINK_CONTEXT = b"mercato/login-link/v1"
LOGIN_LINK_TTL = timedelta(minutes=15)
# Links asked for in an hour, per customer and per checkout: no mailbox flooding.
MAX_LOGIN_LINKS = 5


def sign(customer_id: str, now: float | None = None) -> str:
    expires = int((now or time.time()) + COOKIE_MAX_AGE)
    body = f"{customer_id}.{expires}"
    return f"{body}.{crypto.sign(_CONTEXT, body)}"


def verify(value: str | None, now: float | None = None) -> str | None:
    """The customer id in a valid, unexpired cookie; None otherwise."""
    if not value or value.count(".") != 2:
        return None
    customer_id, expires, signature = value.split(".")
    if not crypto.signed(_CONTEXT, f"{customer_id}.{expires}", signature) or not expires.isdigit():
        return None
    return customer_id if int(expires) > (now or time.time()) else None


def get(session: Session, customer_id: str | None) -> Customer | None:
    return session.get(Customer, customer_id) if customer_id else None


def remember(
    session: Session,
    recognised_id: str | None,
    *,
    email: str | None,
    phone: str | None,
    name: str | None,
    address: dict[str, Any] | None,
    provider: str | None,
    customer_ref: str | None,
    method_ref: str | None,
    method_label: str | None,
) -> Customer | None:
    """Save the buyer's address and payment method token for next time.

    Returns the customer to recognise on this device, or None when the email or phone
    belongs to someone this device was not recognised as: their saved details are never
    handed to whoever types their email.
    """
    conditions = [
        c
        for c in (
            Customer.email_hash == email_key(email) if email else None,
            Customer.phone_hash == value_key(phone) if phone else None,
        )
        if c is not None
    ]
    existing = list(session.scalars(select(Customer).where(or_(*conditions)))) if conditions else []
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


# ---------------------------------------------------------------- sign-in links


class LoginLinkInvalid(MercatoError):
    slug = "login-link-invalid"
    title = "Sign-in link not valid"
    status = 410


@dataclass
class SentLink:
    customer: Customer
    link: LoginLink


@dataclass
class SignedIn:
    customer: Customer
    checkout_id: str | None


def _link_signature(link_id: str, expires: int) -> str:
    return crypto.sign(_LINK_CONTEXT, f"{link_id}.{expires}")


def request_login_link(
    session: Session, email: str, *, checkout_id: str | None = None, now: datetime | None = None
) -> SentLink | None:
    """A one-time sign-in link for the customer with this email, recorded as the event
    ``customer.login_link_requested`` (with the link's id, never the link) for the mail
    sender to deliver.

    None when no customer has this email or too many links were asked for: the caller
    answers the same either way, so nobody learns who shops here.
    """
    now = now or utcnow()
    customer = session.scalar(select(Customer).where(Customer.email_hash == email_key(email)))
    if customer is None:
        return None
    since = now - timedelta(hours=1)
    for owner in (
        LoginLink.customer_id == customer.id,
        LoginLink.checkout_id == checkout_id if checkout_id else None,
    ):
        if (
            owner is not None
            and session.scalar(
                select(func.count())
                .select_from(LoginLink)
                .where(owner, LoginLink.created_at > since)
            )
            >= MAX_LOGIN_LINKS
        ):
            return None
    link = LoginLink(
        customer_id=customer.id,
        checkout_id=checkout_id,
        expires_at=now + LOGIN_LINK_TTL,
        created_at=now,
    )
    session.add(link)
    session.flush()
    # The link itself signs a buyer in: it stays out of events (read by API tokens and
    # sent to webhook subscribers) and logs. The mail sender builds it from the row.
    events.record(
        session,
        "customer.login_link_requested",
        {
            "customer_id": customer.id,
            "email": customer.email,
            "login_link_id": link.id,
            "expires_at": link.expires_at.isoformat(),
        },
        key=customer.id,
    )
    return SentLink(customer, link)


def login_link_url(link: LoginLink) -> str:
    """The address a sign-in link's mail carries, for the mail sender only."""
    expires = int(link.expires_at.timestamp())
    token = f"{link.id}.{expires}.{_link_signature(link.id, expires)}"
    return f"{get_settings().base_url.rstrip('/')}/shop/login/{token}"


def use_login_link(session: Session, token: str, now: datetime | None = None) -> SignedIn:
    """The customer a valid, unexpired, unused link signs in; the link is spent."""
    now = now or utcnow()
    link_id, _, rest = token.partition(".")
    expires, _, signature = rest.partition(".")
    valid = expires.isdigit() and crypto.signed(
        _LINK_CONTEXT, f"{link_id}.{int(expires)}", signature
    )
    if not valid or int(expires) <= now.timestamp():
        raise LoginLinkInvalid("This sign-in link has expired. Ask for a new one at checkout.")
    # One conditional UPDATE: of two clicks at once, only one signs in.
    spent = session.execute(
        update(LoginLink)
        .where(LoginLink.id == link_id, LoginLink.used_at.is_(None), LoginLink.expires_at > now)
        .values(used_at=now)
    )
    link = session.get(LoginLink, link_id)
    if spent.rowcount != 1 or link is None:
        raise LoginLinkInvalid("This sign-in link was used already. Ask for a new one at checkout.")
    return SignedIn(session.get(Customer, link.customer_id), link.checkout_id)
