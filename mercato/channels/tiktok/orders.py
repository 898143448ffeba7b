"""TikTok Shop orders (PLATFORMS.md §3.3): webhook reading, order mapping and the order
API client. Order webhooks carry only the order id and status, so the full order is
fetched (Get Order Detail). Endpoints beyond §3 are [U]: keep them in this one file."""

from __future__ import annotations

import time
from collections import OrderedDict
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson

from mercato.channels.http import AuthExpired, PlatformError, send
from mercato.channels.orders import Inbound, Notice, Page, PlatformOrder
from mercato.channels.tiktok import webhooks
from mercato.channels.tiktok.signing import sign
from mercato.money import to_minor
from mercato.orders.schemas import Address, Attribution, Customer, OrderCreate, OrderLineCreate

ORDERS = "/order/202309/orders"
STAGE = {
    "UNPAID": "unpaid",
    "ON_HOLD": "paid",
    "AWAITING_SHIPMENT": "paid",
    "PARTIALLY_SHIPPING": "shipped",
    "AWAITING_COLLECTION": "shipped",
    "IN_TRANSIT": "shipped",
    "DELIVERED": "delivered",
    "COMPLETED": "completed",
    "CANCELLED": "cancelled",
}
ORDER_STATUS_CHANGE = 1
SIGNATURE_HEADER = "authorization"


# ---------------------------------------------------------------- webhooks


def verify(credentials: dict[str, str], raw: bytes, headers) -> bool:
    return webhooks.verify(
        credentials.get("app_key", ""),
        credentials.get("app_secret", ""),
        raw,
        headers.get(SIGNATURE_HEADER),
    )


def read(body: Any, raw: bytes, headers) -> Inbound:
    """Raises ValueError when the body is not a TikTok notification."""
    if not isinstance(body, dict) or not body.get("tts_notification_id"):
        raise ValueError("a TikTok Shop notification needs tts_notification_id")
    data = body.get("data") or {}
    if not isinstance(data, dict):
        raise ValueError("data must be an object")
    notices = []
    if body.get("type") == ORDER_STATUS_CHANGE and data.get("order_id"):
        notices.append(Notice(str(data["order_id"])))
    return Inbound(str(body["tts_notification_id"]), notices)


# ---------------------------------------------------------------- mapping


def _address(a: dict | None) -> Address | None:
    if not a or not a.get("address_line1"):
        return None
    return Address(
        name=a.get("name"),
        line1=a["address_line1"],
        line2=a.get("address_line2"),
        city=a.get("city") or "-",
        region=a.get("state"),
        postal_code=a.get("postal_code"),
        country=a.get("region_code") or "US",
        phone=a.get("phone_number"),
    )


def to_order(doc: dict, channel_id: str) -> PlatformOrder:
    """A Get Order Detail order -> Mercato's order input. TikTok lists one line item per
    unit; units of the same SKU become one line."""
    payment = doc.get("payment") or {}
    currency = payment.get("currency", "USD")
    lines: OrderedDict[str, dict] = OrderedDict()
    for item in doc.get("line_items") or []:
        sku = item.get("seller_sku") or item.get("sku_id")
        line = lines.setdefault(
            sku,
            {
                "sku": item.get("seller_sku"),
                "quantity": 0,
                "title": item.get("product_name"),
                "external_id": item.get("sku_id"),
                "unit_price": to_minor(item.get("original_price") or item["sale_price"], currency),
                "discount": 0,
            },
        )
        line["quantity"] += int(item.get("quantity", 1))
        line["discount"] += to_minor(item.get("seller_discount") or "0", currency)
    address = doc.get("recipient_address") or {}
    status = doc.get("status", "UNPAID")
    order = OrderCreate(
        channel=channel_id,
        external_id=str(doc["id"]),
        currency=currency,
        lines=[OrderLineCreate(**line) for line in lines.values()],
        shipping_total=to_minor(payment.get("shipping_fee") or "0", currency),
        customer=Customer(
            name=address.get("name"),
            email=doc.get("buyer_email"),
            phone=address.get("phone_number"),
        ),
        shipping_address=_address(address),
        attribution=Attribution(
            source="tiktok", content_id=doc.get("content_id"), creator=doc.get("creator_id")
        ),
        payment_status="pending" if status == "UNPAID" else "paid",
        placed_at=datetime.fromtimestamp(int(doc.get("create_time") or time.time()), UTC),
    )
    return PlatformOrder(
        str(doc["id"]),
        STAGE.get(status, "paid"),
        status,
        datetime.fromtimestamp(int(doc.get("update_time") or 0), UTC),
        order,
    )


# ---------------------------------------------------------------- client


class OrderClient:
    def __init__(self, settings: dict, credentials: dict[str, str], http: httpx.Client):
        self.app_key = credentials.get("app_key", "")
        self.secret = credentials.get("app_secret", "")
        if not (self.app_key and self.secret):
            raise PlatformError("the TikTok Shop channel needs app_key and app_secret")
        self.token = credentials.get("access_token", "")
        self.shop_cipher = settings.get("shop_cipher")
        self.http = http

    def _call(
        self, method: str, path: str, body: dict | None = None, query: dict | None = None
    ) -> dict:
        raw = orjson.dumps(body) if body is not None else b""
        params = {"app_key": self.app_key, "timestamp": str(int(time.time())), **(query or {})}
        if self.shop_cipher:
            params["shop_cipher"] = self.shop_cipher
        params["sign"] = sign(self.secret, path, params, raw)
        response = send(
            self.http,
            method,
            path,
            params=params,
            content=raw or None,
            headers={"x-tts-access-token": self.token, "content-type": "application/json"},
        )
        envelope = response.json()
        if envelope.get("code") in (105001, 105002, 105003):
            raise AuthExpired(envelope.get("message", "expired"), response.status_code)
        if envelope.get("code") != 0:
            raise PlatformError(f"TikTok Shop: {envelope.get('message')}", response.status_code)
        return envelope.get("data") or {}

    def get_order(self, external_id: str) -> dict | None:
        orders = self._call("GET", ORDERS, query={"ids": external_id}).get("orders") or []
        return orders[0] if orders else None

    def list_orders(self, updated_since: datetime | None, cursor: str | None) -> Page:
        body: dict[str, Any] = {}
        if updated_since is not None:
            body["update_time_ge"] = int(updated_since.timestamp())
        query = {"page_size": "50", **({"page_token": cursor} if cursor else {})}
        data = self._call("POST", ORDERS + "/search", body, query)
        return Page(data.get("orders") or [], data.get("next_page_token") or None)

    def acknowledge(self, external_id: str, reference: str, key: str) -> None:
        pass  # TikTok needs no acknowledgement

    def ship(self, external_id, items, carrier, tracking_number, key) -> None:
        self._call(
            "POST",
            f"/fulfillment/202309/orders/{external_id}/packages",
            {
                "items": items,
                "shipping_provider": carrier,
                "tracking_number": tracking_number,
                "idempotency_key": key,
            },
        )

    def cancel(self, external_id, items, reason, restock, key) -> None:
        self._call(
            "POST",
            "/return_refund/202309/cancellations",
            {
                "order_id": external_id,
                "items": items,
                "cancel_reason": reason or "seller",
                "idempotency_key": key,
            },
        )

    def refund(self, external_id, items, amount, currency, reason, key) -> None:
        self._call(
            "POST",
            "/return_refund/202309/refunds",
            {
                "order_id": external_id,
                "items": items,
                "amount": amount,
                "currency": currency,
                "reason": reason,
                "idempotency_key": key,
            },
        )
