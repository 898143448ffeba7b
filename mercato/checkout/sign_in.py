"""A returning buyer signs in from the checkout: a sign-in link by mail (sent only to a
known customer; the buyer is told the same either way), and spending it, which hands the
checkout to the link's holder with their saved details."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from mercato.checkout import contact, rates, service
from mercato.checkout.models import Checkout
from mercato.crypto import hash_token
from mercato.customers import service as customers
from mercato.db import random_token, utcnow
from mercato.errors import FieldError, ValidationFailed


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
    checkout = service.get_checkout(session, token)
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
    service.redo_totals(session, checkout, rates.load(), now)
    return signed_in, token
