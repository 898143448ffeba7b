"""Meta Commerce Platform orders (PLATFORMS.md §1.4–1.5): webhook reading, order mapping
and the order management API. Order webhooks name the order (field ``commerce_order``,
[U]); the order itself is fetched. Meta keeps no event id in the body, so a delivery is
known by the SHA-256 of its raw bytes: a redelivery is byte-identical."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

import httpx

from mercato.channels.http import AuthExpired, PlatformError, send
from mercato.channels.meta import webhooks
from mercato.channels.orders import Inbound, Notice, Page, PlatformOrder
from mercato.money import to_minor
from mercato.orders.schemas import Address, Attribution, Customer, OrderCreate, OrderLineCreate

STAGE = {
    "FB_PROCESSING": "unpaid",
    "CREATED": "paid",
    "IN_PROGRESS": "paid",
    "COMPLETED": "shipped",
    "CANCELLED": "cancelled",
}
FIELDS = (
    "id,order_status,created,last_updated,buyer_details,shipping_address,channel,"
    "items,estimated_payment_details,merchant_order_id"
)
SIGNATURE_HEADER = "x-hub-signature-256"


def verify(credentials: dict[str, str], raw: bytes, headers) -> bool:
    return webhooks.verify(credentials.get("app_secret", ""), raw, headers.get(SIGNATURE_HEADER))


def challenge(credentials: dict[str, str], params: dict[str, str]) -> str | None:
    token = credentials.get("verify_token")
    return webhooks.challenge(params, token) if token else None


def read(body: Any, raw: bytes, headers) -> Inbound:
    if not isinstance(body, dict) or not isinstance(body.get("entry"), list):
        raise ValueError("a Meta notification needs an entry list")
    notices = []
    for entry in body["entry"]:
        for change in (entry or {}).get("changes") or []:
            value = change.get("value") or {}
            if change.get("field") == "commerce_order" and value.get("order_id"):
                notices.append(Notice(str(value["order_id"])))
    return Inbound("sha256:" + hashlib.sha256(raw).hexdigest(), notices)


def _when(text: str | None) -> datetime:
    if not text:
        return datetime.fromtimestamp(0, UTC)
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _money(amount: dict | None, currency: str) -> int:
    return to_minor((amount or {}).get("amount") or "0", currency)


def to_order(doc: dict, channel_id: str) -> PlatformOrder:
    items = (doc.get("items") or {}).get("data") or []
    payment = doc.get("estimated_payment_details") or {}
    currency = (payment.get("total_amount") or {}).get("currency") or (
        items[0]["price_per_unit"]["currency"] if items else "USD"
    )
    address = doc.get("shipping_address") or {}
    buyer = doc.get("buyer_details") or {}
    state = (doc.get("order_status") or {}).get("state", "CREATED")
    lines = [
        OrderLineCreate(
            sku=item.get("retailer_id"),
            title=item.get("product_name"),
            external_id=item.get("id"),
            quantity=int(item["quantity"]),
            unit_price=_money(item.get("price_per_unit"), currency),
        )
        for item in items
    ]
    order = OrderCreate(
        channel=channel_id,
        external_id=str(doc["id"]),
        currency=currency,
        lines=lines,
        shipping_total=_money((payment.get("subtotal") or {}).get("shipping"), currency),
        customer=Customer(name=buyer.get("name"), email=buyer.get("email")),
        shipping_address=Address(
            name=address.get("name"),
            line1=address["street1"],
            line2=address.get("street2"),
            city=address.get("city") or "-",
            region=address.get("state"),
            postal_code=address.get("postal_code"),
            country=address.get("country") or "US",
        )
        if address.get("street1")
        else None,
        attribution=Attribution(source=doc.get("channel") or "facebook"),
        payment_status="pending" if state == "FB_PROCESSING" else "paid",
        placed_at=_when(doc.get("created")),
    )
    return PlatformOrder(
        str(doc["id"]),
        STAGE.get(state, "paid"),
        state,
        _when(doc.get("last_updated")),
        order,
        needs_acknowledgement=state == "CREATED",
    )


class OrderClient:
    def __init__(self, settings: dict, credentials: dict[str, str], http: httpx.Client):
        self.cms = settings.get("cms_id") or settings.get("catalog_id")
        if not self.cms:
            raise PlatformError("the Meta channel needs a cms_id setting for orders")
        self.http = http
        self.headers = {"Authorization": f"Bearer {credentials.get('access_token', '')}"}

    def _call(self, method: str, path: str, **kwargs) -> dict:
        response = send(self.http, method, path, headers=self.headers, **kwargs)
        body = response.json()
        error = body.get("error") if isinstance(body, dict) else None
        if error or response.status_code >= 400:
            error = error or {}
            if error.get("code") in (190, 102, 463) or response.status_code == 401:
                raise AuthExpired(error.get("message", "token expired"), response.status_code)
            raise PlatformError(
                f"Meta: {error.get('message', response.status_code)}", response.status_code
            )
        return body

    def get_order(self, external_id: str) -> dict | None:
        return self._call("GET", f"/{external_id}", params={"fields": FIELDS})

    def list_orders(self, updated_since: datetime | None, cursor: str | None) -> Page:
        params = {"fields": FIELDS, "limit": 50}
        if updated_since is not None:
            params["updated_after"] = int(updated_since.timestamp())
        if cursor:
            params["after"] = cursor
        body = self._call("GET", f"/{self.cms}/commerce_orders", params=params)
        return Page(
            body.get("data") or [],
            (body.get("paging") or {}).get("cursors", {}).get("after")
            if (body.get("paging") or {}).get("next")
            else None,
        )

    def acknowledge(self, external_id: str, reference: str, key: str) -> None:
        self._call(
            "POST",
            f"/{self.cms}/acknowledge_orders",
            json={
                "orders": [{"id": external_id, "merchant_order_reference": reference}],
                "idempotency_key": key,
            },
        )

    def ship(self, external_id, items, carrier, tracking_number, key) -> None:
        self._call(
            "POST",
            f"/{external_id}/shipments",
            json={
                "items": [{"retailer_id": i["sku"], "quantity": i["quantity"]} for i in items],
                "tracking_info": {"tracking_number": tracking_number, "carrier": carrier},
                "idempotency_key": key,
            },
        )

    def cancel(self, external_id, items, reason, restock, key) -> None:
        self._call(
            "POST",
            f"/{external_id}/cancellations",
            json={
                "cancel_reason": {"reason_code": "OTHER", "reason_description": reason or ""},
                "restock_items": restock,
                "idempotency_key": key,
                **(
                    {"items": [{"retailer_id": i["sku"], "quantity": i["quantity"]} for i in items]}
                    if items
                    else {}
                ),
            },
        )

    def refund(self, external_id, items, amount, currency, reason, key) -> None:
        self._call(
            "POST",
            f"/{external_id}/refunds",
            json={
                "reason_code": "REFUND_REASON_OTHER",
                "reason_text": reason or "",
                "idempotency_key": key,
                **(
                    {"items": [{"retailer_id": i["sku"], "quantity": i["quantity"]} for i in items]}
                    if items
                    else {}
                ),
            },
        )
