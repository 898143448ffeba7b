"""Pinterest orders: Pinterest documents no order API or order webhook (PLATFORMS.md §4),
so a Pinterest connection is read as a generic source [U]: webhooks signed with Standard
Webhooks (``webhook-id``, ``webhook-timestamp``, ``webhook-signature``, §6) that carry
the whole order, and a small order API (``/v5/commerce/orders``) of the same shape.
Everything platform-specific about it is in this file."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from datetime import UTC, datetime
from typing import Any

import httpx

from mercato.channels.http import AuthExpired, PlatformError, send
from mercato.channels.orders import Inbound, Notice, Page, PlatformOrder
from mercato.money import to_minor
from mercato.orders.schemas import Address, Attribution, Customer, OrderCreate, OrderLineCreate

STAGE = {
    "CREATED": "unpaid",
    "PAID": "paid",
    "SHIPPED": "shipped",
    "DELIVERED": "delivered",
    "COMPLETED": "completed",
    "CANCELLED": "cancelled",
}
TOLERANCE = 300  # seconds, as the Standard Webhooks reference library
ORDERS = "/v5/commerce/orders"


def standard_signature(secret: str, msg_id: str, timestamp: str, raw: bytes) -> str:
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{msg_id}.{timestamp}.".encode() + raw
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def verify(credentials: dict[str, str], raw: bytes, headers, now: float | None = None) -> bool:
    secret = credentials.get("webhook_secret", "")
    msg_id, stamp = headers.get("webhook-id", ""), headers.get("webhook-timestamp", "")
    if not (secret and msg_id and stamp.isdigit()):
        return False
    if abs(int(stamp) - (now or time.time())) > TOLERANCE:
        return False
    try:
        expected = standard_signature(secret, msg_id, stamp, raw)
    except ValueError:
        return False
    given = headers.get("webhook-signature", "").split()
    # Compare with every entry (rotation) without stopping early.
    return sum(hmac.compare_digest(expected, entry) for entry in given) > 0


def read(body: Any, raw: bytes, headers) -> Inbound:
    if not isinstance(body, dict) or not isinstance(body.get("data"), dict):
        raise ValueError("a webhook needs a data object")
    order = body["data"]
    notices = [Notice(str(order["id"]), order)] if order.get("id") else []
    return Inbound(headers.get("webhook-id", ""), notices)


def _when(text: str | None) -> datetime:
    value = datetime.fromisoformat((text or "1970-01-01T00:00:00+00:00").replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def to_order(doc: dict, channel_id: str) -> PlatformOrder:
    currency = doc.get("currency", "USD")
    buyer, address = doc.get("buyer") or {}, doc.get("shipping_address") or {}
    status = doc.get("status", "PAID")
    order = OrderCreate(
        channel=channel_id,
        external_id=str(doc["id"]),
        currency=currency,
        lines=[
            OrderLineCreate(
                sku=line.get("item_id"),
                title=line.get("title"),
                quantity=int(line["quantity"]),
                unit_price=to_minor(line["unit_price"], currency),
            )
            for line in doc.get("line_items") or []
        ],
        shipping_total=to_minor(doc.get("shipping") or "0", currency),
        customer=Customer(name=buyer.get("name"), email=buyer.get("email")),
        shipping_address=Address(**address) if address.get("line1") else None,
        attribution=Attribution(source="pinterest", content_id=doc.get("pin_id")),
        payment_status="pending" if status == "CREATED" else "paid",
        placed_at=_when(doc.get("created_at")),
    )
    return PlatformOrder(
        str(doc["id"]), STAGE.get(status, "paid"), status, _when(doc.get("updated_at")), order
    )


class OrderClient:
    def __init__(self, settings: dict, credentials: dict[str, str], http: httpx.Client):
        self.http = http
        self.headers = {"Authorization": f"Bearer {credentials.get('access_token', '')}"}

    def _call(self, method: str, path: str, key: str | None = None, **kwargs) -> dict:
        headers = {**self.headers, **({"Idempotency-Key": key} if key else {})}
        response = send(self.http, method, path, headers=headers, **kwargs)
        body = response.json()
        if response.status_code == 401:
            raise AuthExpired(body.get("message", "authentication failed"), 401)
        if response.status_code >= 400:
            raise PlatformError(f"Pinterest: {body.get('message')}", response.status_code)
        return body

    def get_order(self, external_id: str) -> dict | None:
        return self._call("GET", f"{ORDERS}/{external_id}")

    def list_orders(self, updated_since: datetime | None, cursor: str | None) -> Page:
        params: dict[str, Any] = {"page_size": 50}
        if updated_since is not None:
            params["updated_after"] = updated_since.isoformat()
        if cursor:
            params["bookmark"] = cursor
        body = self._call("GET", ORDERS, params=params)
        return Page(body.get("items") or [], body.get("bookmark"))

    def acknowledge(self, external_id: str, reference: str, key: str) -> None:
        pass

    def ship(self, external_id, items, carrier, tracking_number, key) -> None:
        self._call(
            "POST",
            f"{ORDERS}/{external_id}/shipments",
            key,
            json={"items": items, "carrier": carrier, "tracking_number": tracking_number},
        )

    def cancel(self, external_id, items, reason, restock, key) -> None:
        self._call(
            "POST",
            f"{ORDERS}/{external_id}/cancellations",
            key,
            json={"items": items, "reason": reason},
        )

    def refund(self, external_id, items, amount, currency, reason, key) -> None:
        self._call(
            "POST",
            f"{ORDERS}/{external_id}/refunds",
            key,
            json={"items": items, "amount": amount, "currency": currency, "reason": reason},
        )
