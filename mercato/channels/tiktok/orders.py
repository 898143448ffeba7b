"""TikTok Shop orders (PLATFORMS.md §3.3, §3.6): webhook reading, order mapping and the
order API client. Order webhooks carry only the order id and status, so the full order is
fetched (Get Order Detail). Each line item is one unit; units of a SKU become one line."""

from __future__ import annotations

import re
import time
from collections import OrderedDict
from datetime import UTC, datetime
from typing import Any

import httpx

from mercato.channels.http import PlatformError
from mercato.channels.orders import Inbound, Notice, Page, PlatformOrder
from mercato.channels.tiktok import webhooks
from mercato.channels.tiktok.api import Api
from mercato.money import format_plain, to_minor
from mercato.orders.schemas import Address, Attribution, Customer, OrderCreate, OrderLineCreate

ORDERS = "/order/202309/orders"
DETAIL_IDS = 50  # order ids one Get Order Detail request takes (PLATFORMS.md §3.6)
PROVIDERS = "/logistics/202309/delivery_options/{}/shipping_providers"
SHIPPABLE = ("AWAITING_SHIPMENT", "PARTIALLY_SHIPPING")
# Seller cancel reasons (partner docs "Cancel reasons", US): by the order's status, and
# the words in the merchant's reason that choose one.
CANCEL_REASONS = {
    "out_of_stock": ("stock", "sold out", "oversold"),
    "wrong_price": ("price", "pricing"),
    "address_not_deliver": ("address", "deliver"),
    "buyer_requested_cancellation": (),
}
CANCEL_CODE = {
    "UNPAID": "seller_cancel_unpaid_reason_{}",
    "paid": {
        "out_of_stock": "seller_cancel_reason_out_of_stock",
        "wrong_price": "seller_cancel_reason_wrong_price",
        "address_not_deliver": "seller_cancel_paid_reason_address_not_deliver",
        "buyer_requested_cancellation": "seller_cancel_paid_reason_buyer_requested_cancellation",
    },
}
# Create Return's reason when the channel sets none (docs/platforms/tiktok.md: [U]).
RETURN_REASON = "ecom_order_delivered_refund_reason_missing_product_seller"
REASON_CODE = re.compile(r"^[a-z][a-z0-9_]+$")
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


def _district(address: dict, *names: str) -> str | None:
    """The ``district_info`` entry of the first level named ``names`` (TikTok gives no
    city or state fields)."""
    levels = {
        (d.get("address_level_name") or "").casefold(): d.get("address_name")
        for d in address.get("district_info") or []
    }
    return next((levels[n] for n in names if levels.get(n)), None)


def _address(a: dict | None) -> Address | None:
    if not a or not a.get("address_line1"):
        return None  # not given while the order is unpaid or on hold
    return Address(
        name=a.get("name"),
        line1=a["address_line1"],
        line2=a.get("address_line2") or None,
        city=_district(a, "city", "town", "district", "county") or "-",
        region=_district(a, "state", "province", "region"),
        postal_code=a.get("postal_code"),
        country=a.get("region_code") or "US",
        phone=a.get("phone_number"),
    )


def to_order(doc: dict, channel_id: str) -> PlatformOrder:
    """A Get Order Detail order -> Mercato's order input. TikTok lists one line item per
    unit; the units of a SKU become one line."""
    payment = doc.get("payment") or {}
    currency = payment.get("currency", "USD")
    lines: OrderedDict[str, dict] = OrderedDict()
    for item in doc.get("line_items") or []:
        line = lines.setdefault(
            str(item["sku_id"]),
            {
                "sku": item.get("seller_sku"),
                "quantity": 0,
                "title": item.get("product_name"),
                "external_id": str(item["sku_id"]),
                "unit_price": to_minor(item.get("original_price") or item["sale_price"], currency),
                "discount": 0,
            },
        )
        line["quantity"] += 1
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
            external_id=doc.get("user_id"),
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


def cancel_reason(reason: str | None, status: str) -> str:
    """A seller cancel reason code valid for the order's status: the merchant's own code,
    or the one their words point to (free text is not a code TikTok takes)."""
    if reason and REASON_CODE.match(reason) and reason.startswith("seller_cancel"):
        return reason
    text = (reason or "").casefold()
    kind = next(
        (k for k, words in CANCEL_REASONS.items() if any(w in text for w in words)),
        "buyer_requested_cancellation",
    )
    if status == "UNPAID":
        return CANCEL_CODE["UNPAID"].format(kind)
    return CANCEL_CODE["paid"][kind]


# ---------------------------------------------------------------- client


class OrderClient:
    def __init__(self, settings: dict, credentials: dict[str, str], http: httpx.Client):
        self.api = Api(settings, credentials, http)
        self.settings = settings

    def get_order(self, external_id: str) -> dict | None:
        orders = self.get_orders([external_id])
        return orders[0] if orders else None

    def get_orders(self, external_ids: list[str]) -> list[dict]:
        """Get Order Detail for many orders, ``DETAIL_IDS`` per request (TikTok takes no
        more); orders TikTok does not know are left out."""
        wanted = list(dict.fromkeys(external_ids))
        found: list[dict] = []
        for start in range(0, len(wanted), DETAIL_IDS):
            chunk = ",".join(wanted[start : start + DETAIL_IDS])
            found += self.api.call("GET", ORDERS, query={"ids": chunk}).get("orders") or []
        return found

    def list_orders(self, updated_since: datetime | None, cursor: str | None) -> Page:
        body: dict[str, Any] = {}
        if updated_since is not None:
            body["update_time_ge"] = int(updated_since.timestamp())
        query = {"page_size": "50", **({"page_token": cursor} if cursor else {})}
        data = self.api.call("POST", ORDERS + "/search", body, query)
        return Page(data.get("orders") or [], data.get("next_page_token") or None)

    def _order(self, external_id: str) -> dict:
        doc = self.get_order(external_id)
        if doc is None:
            raise PlatformError(f"TikTok Shop: no order {external_id}")
        return doc

    @staticmethod
    def _line_items(doc: dict, items: list[dict], usable) -> list[str]:
        """Line-item ids for Mercato's lines (SKU id + quantity): one per unit, taken from
        the units ``usable`` accepts; all usable ones when ``items`` is empty."""
        if not items:
            return [i["id"] for i in doc.get("line_items") or [] if usable(i)]
        chosen = []
        for wanted in items:
            units = [
                i["id"]
                for i in doc.get("line_items") or []
                if str(i.get("sku_id")) == str(wanted["line_id"]) and usable(i)
            ]
            chosen += units[: wanted["quantity"]]
        return chosen

    def _provider(self, doc: dict, carrier: str | None) -> str:
        """The shipping provider id for a carrier name, from the order's delivery option
        (a carrier name is not an id TikTok takes)."""
        option = doc.get("delivery_option_id")
        providers = self.api.call("GET", PROVIDERS.format(option)).get("shipping_providers") or []
        wanted = (carrier or self.settings.get("shipping_provider") or "").casefold()
        for provider in providers:
            if wanted and provider.get("name", "").casefold() == wanted:
                return str(provider["id"])
        names = ", ".join(p.get("name", "") for p in providers)
        raise PlatformError(
            f"TikTok Shop has no shipping provider named {carrier!r} for this order's "
            f"delivery option; use one of: {names}"
            if carrier
            else f"TikTok Shop needs the carrier: one of {names}"
        )

    def ship(self, external_id, items, carrier, tracking_number, key) -> None:
        if not tracking_number:
            raise PlatformError("TikTok Shop needs a tracking number to mark a package shipped")
        doc = self._order(external_id)

        def unshipped(item: dict) -> bool:
            return item.get("display_status") in SHIPPABLE and not item.get("package_id")

        line_ids = self._line_items(doc, items, unshipped)
        if not line_ids:
            return  # already shipped (a retry after an answer that was lost)
        self.api.call(
            "POST",
            f"/fulfillment/202309/orders/{external_id}/packages",
            {
                "order_line_item_ids": line_ids,
                "tracking_number": tracking_number,
                "shipping_provider_id": self._provider(doc, carrier),
            },
        )

    def cancel(self, external_id, items, reason, restock, key) -> None:
        doc = self._order(external_id)
        if doc.get("status") == "CANCELLED":
            return  # done already (a retry, or TikTok cancelled it)
        self.api.call(
            "POST",
            "/return_refund/202309/cancellations",
            {
                "order_id": external_id,
                "cancel_reason": cancel_reason(reason, doc.get("status", "")),
            },
        )

    def refund(self, external_id, items, amount, currency, reason, key) -> None:
        """A seller refund is a Create Return of type REFUND (there is no refund call)."""
        doc = self._order(external_id)
        line_ids = self._line_items(
            doc, items, lambda i: i.get("display_status") not in SHIPPABLE + ("CANCELLED",)
        )
        code = (
            reason if reason and reason.startswith("ecom_") and REASON_CODE.match(reason) else None
        )
        self.api.call(
            "POST",
            "/return_refund/202309/returns",
            {
                "order_id": external_id,
                **({"order_line_item_ids": line_ids} if line_ids else {}),
                "return_reason": code or self.settings.get("return_reason") or RETURN_REASON,
                "return_type": "REFUND",
                "refund_total": format_plain(amount, currency),
                "currency": currency,
            },
            query={"idempotency_key": key[:255]},
        )
