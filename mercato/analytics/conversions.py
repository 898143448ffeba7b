"""Purchases sent back to ad platforms: where they go (destinations), which orders are
sent (paid, with consent), and one delivery per (destination, event), recorded before the
platform is called and sent by a job (docs/platforms/conversions.md)."""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from cryptography.fernet import InvalidToken
from sqlalchemy import Row, select
from sqlalchemy.orm import Session, sessionmaker

from mercato import jobs
from mercato.analytics.conversion_models import (
    PLATFORMS,
    ConversionDelivery,
    ConversionDestination,
)
from mercato.channels import conversions as kit
from mercato.channels.http import PlatformUnavailable
from mercato.channels.meta import conversions as meta
from mercato.channels.pinterest import conversions as pinterest
from mercato.channels.tiktok import events as tiktok
from mercato.checkout import service as checkouts
from mercato.config import get_settings
from mercato.crypto import fernet
from mercato.customers import consent
from mercato.db import new_id, transaction, utcnow
from mercato.errors import FieldError, NotFound, ValidationFailed
from mercato.inserts import insert_or_ignore
from mercato.money import to_decimal
from mercato.orders.models import Order
from mercato.outbound import require_safe_url

SEND_JOB = "analytics.send_conversion"
PURCHASE = "purchase"
_CONTEXT = b"mercato/conversion-destinations/v1"
DEFAULT_BASE_URLS = {
    "meta": "https://graph.facebook.com",
    "tiktok": tiktok.BASE_URL,
    "pinterest": "https://api.pinterest.com",
}
SENDERS = {"meta": meta.send, "tiktok": tiktok.send, "pinterest": pinterest.send}
# What each platform calls its source, for error messages.
SOURCE_NAMES = {"meta": "pixel_id", "tiktok": "pixel_code", "pinterest": "ad_account_id"}
_SOURCE_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def purchase_event_id(order_number: int) -> str:
    """The purchase's event id, the same on the server event and on the order confirmation
    page (``data-purchase-event-id``) for the merchant's pixel: the platforms count it once."""
    return f"order-{order_number}"


# ---------------------------------------------------------------- destinations


@dataclass(frozen=True)
class DestinationInput:
    platform: str
    source_id: str
    access_token: str
    test_code: str | None = None
    consent_implied: bool = False
    base_url: str | None = None


def connect(session: Session, data: DestinationInput) -> ConversionDestination:
    """A new destination, its token encrypted; one per (platform, source id)."""
    errors = []
    if data.platform not in PLATFORMS:
        errors.append(FieldError(("platform",), f"one of {', '.join(PLATFORMS)}"))
    source_field = SOURCE_NAMES.get(data.platform, "source_id")
    if not _SOURCE_ID.match(data.source_id or ""):
        errors.append(FieldError((source_field,), "letters, digits, - or _ (at most 64)"))
    if not (data.access_token or "").strip():
        errors.append(FieldError(("access_token",), "required"))
    if errors:
        raise ValidationFailed("The destination cannot be connected.", errors)
    base_url = (data.base_url or DEFAULT_BASE_URLS[data.platform]).rstrip("/")
    found = session.scalar(
        select(ConversionDestination).where(
            ConversionDestination.platform == data.platform,
            ConversionDestination.source_id == data.source_id,
        )
    )
    if found is not None:
        raise ValidationFailed(
            "This destination is connected already.",
            [FieldError((source_field,), f"{data.source_id} is connected as {found.id}")],
        )
    destination = ConversionDestination(
        id=new_id("cdst"),
        platform=data.platform,
        source_id=data.source_id,
        base_url=require_safe_url(base_url, ("base_url",)),
        access_token_encrypted=fernet(_CONTEXT).encrypt(data.access_token.encode()).decode(),
        test_code=data.test_code or None,
        consent_implied=data.consent_implied,
        enabled=True,
    )
    session.add(destination)
    session.flush()
    return destination


def list_destinations(session: Session) -> list[ConversionDestination]:
    return list(
        session.scalars(select(ConversionDestination).order_by(ConversionDestination.created_at))
    )


def get_destination(session: Session, destination_id: str) -> ConversionDestination:
    destination = session.get(ConversionDestination, destination_id)
    if destination is None:
        raise NotFound(f"No conversion destination {destination_id!r}.")
    return destination


def update_destination(
    session: Session, destination_id: str, changes: dict
) -> ConversionDestination:
    """Enable or disable, change the test code or the consent setting."""
    destination = get_destination(session, destination_id)
    for key in ("enabled", "consent_implied"):
        if changes.get(key) is not None:
            setattr(destination, key, bool(changes[key]))
    if "test_code" in changes:
        destination.test_code = changes["test_code"] or None
    return destination


def disconnect(session: Session, destination_id: str) -> None:
    session.delete(get_destination(session, destination_id))


def _token(destination: ConversionDestination) -> str:
    try:
        return fernet(_CONTEXT).decrypt(destination.access_token_encrypted.encode()).decode()
    except InvalidToken:
        raise ValidationFailed(
            "The destination's token cannot be decrypted: the secret key changed.",
            [FieldError(("access_token",), "connect the destination again")],
        ) from None


# ---------------------------------------------------------------- deliveries


MEASUREMENT = consent.Need("analytics")


def should_send(order: Order, destination: ConversionDestination, consented: bool) -> bool:
    """A paid order from the shop's own checkout, to an enabled destination, of a buyer
    whose consent to analytics (ad measurement) is on record (``consented``), or whose
    merchant says every buyer gave it before checking out (``consent_implied``)."""
    return (
        destination.enabled
        and (consented or destination.consent_implied)
        and order.payment_status == "paid"
        and order.channel == "storefront"
    )


def queue_for(session: Session, batch: Sequence[Row], now: datetime) -> int:
    """Record a delivery per (enabled destination, paid order), each with its send job,
    in the dispatcher's transaction. A purchase seen twice (``order.paid`` handed over
    again, or paid after being created) inserts nothing the second time."""
    order_ids = [e.payload.get("order_id") for e in batch if e.type == "order.paid"]
    if not order_ids:
        return 0
    destinations = list(
        session.scalars(select(ConversionDestination).where(ConversionDestination.enabled))
    )
    if not destinations:
        return 0
    orders = session.scalars(select(Order).where(Order.id.in_(order_ids)))
    made = 0
    for order in orders:
        consented = consent.allows(session, order.customer_id, MEASUREMENT)
        for destination in destinations:
            if not should_send(order, destination, consented):
                continue
            delivery_id = session.scalar(
                insert_or_ignore(
                    session,
                    ConversionDelivery,
                    ("destination_id", "event_name", "event_id"),
                )
                .values(
                    id=new_id("cdlv"),
                    destination_id=destination.id,
                    event_name=PURCHASE,
                    event_id=purchase_event_id(order.number),
                    order_id=order.id,
                    status="queued",
                    attempts=0,
                    created_at=now,
                    updated_at=now,
                )
                .returning(ConversionDelivery.id)
            )
            if delivery_id is not None:
                jobs.enqueue(session, SEND_JOB, {"delivery_id": delivery_id})
                made += 1
    return made


def purchase_of(order: Order, client: dict | None = None) -> kit.Purchase:
    """The order as the platforms are told of it: only what the shop knows, with the IP
    address and user agent of the buyer's browser (``client``) when it paid in the shop."""
    client = client or {}
    address = order.shipping_address or order.billing_address or {}
    name = (address.get("name") or order.customer_name or "").split()
    utm = (order.attribution or {}).get("utm") or {}
    click_ids = {}
    if utm.get("fbclid"):
        # Meta's fbc from a click id: fb.1.<ms when first seen>.<fbclid> [V].
        click_ids["fbc"] = f"fb.1.{int(order.placed_at.timestamp() * 1000)}.{utm['fbclid']}"
    for key in ("ttclid", "epik"):
        if utm.get(key):
            click_ids[key] = utm[key]
    base = get_settings().base_url.rstrip("/")
    return kit.Purchase(
        event_id=purchase_event_id(order.number),
        event_time=int(order.placed_at.timestamp()),
        order_id=str(order.number),
        currency=order.currency,
        value=to_decimal(order.total, order.currency),
        lines=tuple(
            kit.Line(
                content_id=line.variant_id or line.sku or line.id,
                quantity=line.quantity,
                item_price=to_decimal(line.unit_price, order.currency),
                title=line.title,
            )
            for line in order.lines
        ),
        buyer=kit.Buyer(
            email=order.customer_email,
            phone=order.customer_phone,
            first_name=name[0] if name else None,
            last_name=name[-1] if len(name) > 1 else None,
            city=address.get("city"),
            region=address.get("region"),
            postal_code=address.get("postal_code"),
            country=address.get("country"),
            external_id=order.customer_email,
            client_ip=_ip_address(client.get("ip")),
            user_agent=client.get("user_agent"),
        ),
        url=f"{base}/shop",
        click_ids=click_ids,
    )


def _ip_address(text: str | None) -> str | None:
    """The client's address if it is one (a test client or a proxy may say otherwise)."""
    try:
        return str(ipaddress.ip_address(text)) if text else None
    except ValueError:
        return None


class NotYetSent(Exception):
    """The platform could not be reached this time (429, 5xx, timeout): logged, retried."""


def deliver(sessions: sessionmaker[Session], delivery_id: str, *, last_attempt: bool) -> str:
    """One attempt at a delivery: read in one short transaction, the platform called with
    none open, the outcome recorded in another. A refusal is final; an unreachable
    platform raises NotYetSent so that the job retries with backoff."""
    with sessions() as session:
        delivery = session.get(ConversionDelivery, delivery_id)
        if delivery is None or delivery.status != "queued":
            return "done already"
        destination = session.get(ConversionDestination, delivery.destination_id)
        target = kit.Destination(
            base_url=destination.base_url,
            source_id=destination.source_id,
            access_token=_token(destination),
            test_code=destination.test_code,
        )
        order = session.get(Order, delivery.order_id)
        purchase = purchase_of(order, checkouts.client_of_order(session, order.id))
        send = SENDERS[destination.platform]
    try:
        accepted = send(target, purchase)
        outcome, answer, error = "sent", accepted.answer, None
    except kit.ConversionRefused as exc:
        outcome, answer, error = "failed", exc.answer, str(exc)
    except PlatformUnavailable as exc:
        outcome, answer, error = "unavailable", None, str(exc)
    with transaction(sessions) as session:
        delivery = session.get(ConversionDelivery, delivery_id)
        delivery.attempts += 1
        delivery.updated_at = utcnow()
        if outcome == "sent":
            delivery.status, delivery.sent_at, delivery.last_error = "sent", utcnow(), None
            delivery.answer = answer
        elif outcome == "failed":
            delivery.status, delivery.last_error = "failed", error
            delivery.answer = answer if isinstance(answer, dict) else {"body": answer}
        else:
            delivery.last_error = error
            delivery.status = "failed" if last_attempt else "queued"
    if outcome == "unavailable" and not last_attempt:
        raise NotYetSent(error)
    return outcome


def list_deliveries(
    session: Session, status: str | None = None, limit: int = 100
) -> list[ConversionDelivery]:
    query = select(ConversionDelivery).order_by(ConversionDelivery.created_at.desc())
    if status is not None:
        query = query.where(ConversionDelivery.status == status)
    return list(session.scalars(query.limit(limit)))


def shown(delivery: ConversionDelivery) -> str:
    return json.dumps(delivery.answer, sort_keys=True) if delivery.answer else ""
