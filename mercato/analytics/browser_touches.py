"""Touches a shop visitor's browser reports (POST /api/v1/analytics/touches): trusted for
what the browser saw, never for money. A purchase names its order's event id, so the
browser's and the server's report of one sale are one row."""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy.orm import Session

from mercato.analytics import ledger
from mercato.analytics.schemas import BrowserTouchCreate
from mercato.checkout.service import attribution_from_link
from mercato.customers import consent, identities
from mercato.errors import FieldError, ValidationFailed
from mercato.orders.models import Order

PURCHASE_ID = re.compile(r"^order:([A-Za-z0-9_]{1,40}):purchase$")
# The shop's question, word for word (storefront/templates/base.html shows it): a browser
# sends a visitor id only after "Yes".
CONSENT_WORDING = "May we remember this browser to see which posts bring visitors who buy?"


def record(session: Session, data: BrowserTouchCreate, now: datetime) -> tuple[str, bool]:
    """Append the browser's touch; returns its event id and whether it was new."""
    touch = {
        "kind": data.kind,
        "source": "browser",
        # The server's clock: a browser's may be anywhere.
        "at": now,
        "visitor_id": data.visitor_id,
        "product_id": data.product_id if data.kind in ("product_view", "add_to_cart") else None,
    }
    if data.kind == "purchase":
        order = _order_of(session, data.event_id)
        touch.update(event_id=data.event_id, order_id=order.id, currency=order.currency)
        if data.visitor_id and order.customer_id:
            _buyer_consented(session, order, data.visitor_id, now)
    else:
        # Its own namespace: a browser can never claim a server event's id.
        touch["event_id"] = f"web:{data.event_id}"
        link = attribution_from_link(data.params.model_dump(exclude_none=True))
        touch.update(ledger.from_attribution(link))
        if data.kind == "visit" and not touch.get("channel"):
            touch["channel"] = "direct"
    return touch["event_id"], ledger.record(session, [touch]) == 1


def _buyer_consented(session: Session, order: Order, visitor_id: str, now: datetime) -> None:
    """A purchase reported with a visitor id: the buyer said yes to the shop's question.
    Their answer goes on their profile (analytics, with its words), and the browser
    becomes one of their devices."""
    identities.resolve(
        session,
        identities.Observation(
            f"order:{order.id}",
            [identities.Claim("device", visitor_id[:320])],
            known_customer_id=order.customer_id,
        ),
        now,
    )
    if not consent.allows(session, order.customer_id, consent.Need("analytics")):
        consent.record(
            session,
            order.customer_id,
            consent.Need("analytics"),
            True,
            source="storefront_checkout",
            wording=CONSENT_WORDING,
            reference=f"order:{order.id}",
            now=now,
        )


def _order_of(session: Session, event_id: str) -> Order:
    found = PURCHASE_ID.match(event_id)
    order = session.get(Order, found.group(1)) if found else None
    if order is None:
        raise ValidationFailed(
            "A purchase names an order.",
            [FieldError(("body", "event_id"), "order:<order id>:purchase, of an order placed")],
        )
    return order
