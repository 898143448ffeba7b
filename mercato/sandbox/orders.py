"""Orders in the TikTok Shop simulator (Meta and Pinterest have no order API,
PLATFORMS.md §0), from PLATFORMS.md §3.6.

Buyers buy from the stock Mercato pushed: an order for a SKU that was never pushed, or for
more units than the SKU has left, is refused and not placed; a placed order takes its
units. Every order route checks the request as the product routes do (signature,
timestamp, token, shop cipher). Shipping needs line-item ids and a shipping provider id of
the order's delivery option; cancelling needs a seller cancel reason valid for the order's
status; refunds are Create Return (there is no refund endpoint).

Control routes, under the simulator's prefix:
``POST /_sandbox/orders`` ``{lines: [{sku, quantity, price}], status?}`` places an order
(409 when the shop refuses it); ``POST /_sandbox/orders/{id}/status`` ``{status}`` changes
it; ``PUT /_sandbox/webhook`` ``{url}`` says where webhooks go;
``POST /_sandbox/webhooks/deliver`` ``{drop, duplicates, reverse}`` sends what is queued;
``GET /_sandbox/orders/{id}`` shows an order with what it received.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import httpx
import orjson
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from mercato.channels.tiktok.webhooks import signature as tiktok_signature
from mercato.db import new_id
from mercato.sandbox.tiktok import SHOP, Refused, Shop, answer, check_request, number, stock_of

Transport = Callable[[str, bytes, dict[str, str]], int]
DELIVERY_OPTION = "7091146663229654785"
# Shipping providers of the simulated delivery option.
PROVIDERS = [
    {"id": "6617675021119438849", "name": "UPS"},
    {"id": "6617675021119438850", "name": "USPS"},
    {"id": "6617675021119438851", "name": "FedEx"},
    {"id": "6617675021119438852", "name": "DHL eCommerce"},
]
# Seller cancel reasons by order status (US; partner docs "Cancel reasons").
CANCEL_REASONS = {
    "UNPAID": (
        "seller_cancel_unpaid_reason_out_of_stock",
        "seller_cancel_unpaid_reason_wrong_price",
        "seller_cancel_unpaid_reason_buyer_hasnt_paid_within_time_allowed",
        "seller_cancel_unpaid_reason_buyer_requested_cancellation",
    ),
    "ON_HOLD": (
        "seller_cancel_reason_out_of_stock",
        "seller_cancel_reason_wrong_price",
        "seller_cancel_paid_reason_address_not_deliver",
        "seller_cancel_paid_reason_buyer_requested_cancellation",
    ),
}
CANCEL_REASONS["AWAITING_SHIPMENT"] = CANCEL_REASONS["ON_HOLD"]
# Seller return reasons the simulator knows (examples in the partner docs; see
# docs/platforms/tiktok.md).
RETURN_REASONS = (
    "ecom_order_delivered_refund_reason_missing_product_seller",
    "ecom_order_delivered_refund_and_return_reason_wrong_product_seller",
)
RETURN_TYPES = ("REFUND", "RETURN_AND_REFUND")
SHIPPABLE = ("AWAITING_SHIPMENT", "PARTIALLY_SHIPPING")
RETURNABLE = ("AWAITING_COLLECTION", "IN_TRANSIT", "DELIVERED", "PARTIALLY_SHIPPING")
# The address is not given out while an order is unpaid or on hold (§3.6).
NO_ADDRESS = ("UNPAID", "ON_HOLD")
MAX_DETAIL_IDS = 50


def _post(url: str, content: bytes, headers: dict[str, str]) -> int:
    return httpx.post(url, content=content, headers=headers, timeout=10).status_code


class LineIn(BaseModel):
    sku: str
    quantity: int = 1
    price: str = "25.00"
    title: str | None = None


class OrderIn(BaseModel):
    lines: list[LineIn]
    status: str | None = None
    currency: str = "USD"
    email: str | None = "buyer@example.com"
    name: str | None = "Sam Buyer"


class StatusIn(BaseModel):
    status: str


class WebhookIn(BaseModel):
    url: str


class DeliverIn(BaseModel):
    drop: int = 0  # the first n queued webhooks are lost
    duplicates: int = 0  # every other one is sent 1 + n times
    reverse: bool = False  # sent newest first


class OrderRefused(Exception):
    """The shop would not sell this (SKU not on sale, not enough stock)."""


class OrderBook:
    """The shop's orders, kept in TikTok's shape, sold from the shop's stock."""

    def __init__(self, shop: Shop):
        self.kind = "tiktok"
        self.shop = shop
        self.lock = shop.lock  # stock and orders change together
        self.orders: dict[str, dict[str, Any]] = {}
        self.received: dict[str, list[dict[str, Any]]] = {}
        self.returns: dict[str, dict] = {}  # idempotency key -> answer
        self.outbox: list[tuple[bytes, dict[str, str]]] = []
        self.url: str | None = None
        self.app_key, self.app_secret = "29a39d", "e59af819cc"
        self.transport: Transport = _post
        self.last_tick = 0
        self.refused = 0

    def tick(self) -> int:
        """Update times strictly increase (TikTok stamps whole seconds)."""
        self.last_tick = max(int(time.time()), self.last_tick + 1)
        return self.last_tick

    # -------------------------------------------------------- buying

    def _on_sale(self) -> dict[str, tuple[dict, dict]]:
        """seller SKU -> (product, SKU) of every live product."""
        return {
            sku.get("seller_sku"): (product, sku)
            for product in self.shop.items.values()
            if product.get("status") == "ACTIVATE"
            for sku in product.get("skus") or []
        }

    def place(self, data: OrderIn) -> dict:
        """Raises OrderRefused (nothing placed, no stock taken) when the shop cannot sell it."""
        wanted = Counter()
        for line in data.lines:
            wanted[line.sku] += line.quantity
        with self.lock:
            on_sale = self._on_sale()
            for sku, quantity in wanted.items():
                if sku not in on_sale:
                    self.refused += 1
                    raise OrderRefused(f"SKU {sku} is not on sale in the shop")
                left = stock_of(on_sale[sku][1])
                if quantity > left:
                    self.refused += 1
                    raise OrderRefused(f"SKU {sku}: {quantity} wanted, {left} in stock")
            for sku, quantity in wanted.items():
                _take(on_sale[sku][1], quantity)
            now = self.tick()
            order_id = number()
            status = data.status or "AWAITING_SHIPMENT"
            doc = {
                "id": order_id,
                "status": status,
                "create_time": now,
                "update_time": now,
                "paid_time": None if status == "UNPAID" else now,
                "buyer_email": data.email,
                "user_id": "buyer-" + order_id[-6:],
                "delivery_option_id": DELIVERY_OPTION,
                "delivery_option_name": "Standard shipping",
                "shipping_type": "SELLER",
                "fulfillment_type": "FULFILLMENT_BY_SELLER",
                "warehouse_id": next(iter(on_sale.values()))[1]["inventory"][0]["warehouse_id"]
                if on_sale
                else None,
                "recipient_address": _address(data.name),
                "payment": _payment(data),
                "packages": [],
                "line_items": [
                    _line_item(on_sale[line.sku], line, data.currency, status)
                    for line in data.lines
                    for _ in range(line.quantity)
                ],
            }
            self.orders[order_id] = doc
            self.received[order_id] = []
            self._queue(doc)
        return doc

    def set_status(self, order_id: str, status: str) -> dict:
        with self.lock:
            doc = self.orders[order_id]
            if status == "CANCELLED" and doc["status"] != "CANCELLED":
                self._give_back(doc, doc["line_items"])
            doc["status"], doc["update_time"] = status, self.tick()
            for item in doc["line_items"]:
                if item["display_status"] != "CANCELLED":
                    item["display_status"] = status
            self._queue(doc)
            return doc

    def _give_back(self, doc: dict, items: list[dict]) -> None:
        """Cancelled units go back to the SKU's stock [I]."""
        skus = {sku["id"]: sku for p in self.shop.items.values() for sku in p.get("skus") or []}
        for item in items:
            if item["display_status"] != "CANCELLED" and item["sku_id"] in skus:
                _take(skus[item["sku_id"]], -1)

    def view(self, doc: dict) -> dict:
        """The order as the API shows it."""
        if doc["status"] in NO_ADDRESS:
            return {k: v for k, v in doc.items() if k != "recipient_address"}
        return doc

    # -------------------------------------------------------- webhooks

    def _queue(self, doc: dict) -> None:
        """Sign now, as the platform would at the time of the change."""
        raw = orjson.dumps(
            {
                "type": 1,
                "tts_notification_id": new_id("ntf"),
                "shop_id": SHOP["id"],
                "timestamp": int(time.time()),
                "data": {
                    "order_id": doc["id"],
                    "order_status": doc["status"],
                    "is_on_hold_order": False,
                    "update_time": doc["update_time"],
                },
            }
        )
        headers = {
            "Authorization": tiktok_signature(self.app_key, self.app_secret, raw),
            "content-type": "application/json",
        }
        self.outbox.append((raw, headers))

    def deliver(self, plan: DeliverIn) -> list[int]:
        with self.lock:
            queued, self.outbox = self.outbox[plan.drop :], []
        if plan.reverse:
            queued.reverse()
        statuses = []
        for raw, headers in queued:
            for _ in range(1 + plan.duplicates):
                if self.url:
                    statuses.append(self.transport(self.url, raw, headers))
        return statuses

    def listed(self, since: int | None) -> list[dict]:
        with self.lock:
            docs = [d for d in self.orders.values() if since is None or d["update_time"] >= since]
        return [self.view(d) for d in sorted(docs, key=lambda d: d["update_time"])]

    # -------------------------------------------------------- what the merchant sends

    def order(self, order_id: str) -> dict:
        doc = self.orders.get(str(order_id))
        if doc is None:
            raise Refused(21011001, f"Order {order_id} does not exist", 404)
        return doc

    def items_of(self, doc: dict, body: dict) -> list[dict]:
        """The line items a request names (by id, or by SKU and quantity); none: all."""
        by_id = {item["id"]: item for item in doc["line_items"]}
        if body.get("order_line_item_ids"):
            unknown = [i for i in body["order_line_item_ids"] if i not in by_id]
            if unknown:
                raise Refused(21011002, f"order_line_item_ids {unknown} are not in the order")
            return [by_id[i] for i in body["order_line_item_ids"]]
        if body.get("skus"):
            chosen = []
            for wanted in body["skus"]:
                matching = [
                    i
                    for i in doc["line_items"]
                    if i["sku_id"] == str(wanted.get("sku_id")) and i not in chosen
                ]
                if len(matching) < int(wanted.get("quantity") or 0):
                    raise Refused(21011002, f"the order has fewer units of {wanted.get('sku_id')}")
                chosen += matching[: int(wanted["quantity"])]
            return chosen
        return list(doc["line_items"])

    def ship(self, order_id: str, body: dict) -> dict:
        with self.lock:
            doc = self.order(order_id)
            if doc["status"] not in SHIPPABLE:
                raise Refused(21011005, f"An order in {doc['status']} cannot be shipped")
            if not body.get("tracking_number"):
                raise Refused(21011003, "tracking_number is required")
            if body.get("shipping_provider_id") not in {p["id"] for p in PROVIDERS}:
                raise Refused(
                    21011004,
                    f"shipping_provider_id {body.get('shipping_provider_id')!r} is not a "
                    "provider of the order's delivery option",
                )
            named = body.get("order_line_item_ids")
            items = self.items_of(doc, {"order_line_item_ids": named})
            if not named:  # everything not shipped yet
                items = [i for i in items if i["display_status"] in SHIPPABLE]
            done = [i["id"] for i in items if i["display_status"] not in SHIPPABLE]
            if done or not items:
                raise Refused(21011006, f"line items {done or 'left'} are already shipped")
            package_id = number()
            for item in items:
                item.update(
                    package_id=package_id,
                    tracking_number=body["tracking_number"],
                    shipping_provider_id=body["shipping_provider_id"],
                    display_status="AWAITING_COLLECTION",
                )
            doc["packages"].append({"id": package_id})
            left = [i for i in doc["line_items"] if i["display_status"] in SHIPPABLE]
            doc["status"] = "PARTIALLY_SHIPPING" if left else "AWAITING_COLLECTION"
            doc["update_time"] = self.tick()
            self._queue(doc)
            self.received[doc["id"]].append({"type": "fulfillment", "body": body})
            return {
                "order_id": doc["id"],
                "order_line_item_ids": [i["id"] for i in items],
                "package_id": package_id,
            }

    def cancel(self, body: dict) -> dict:
        with self.lock:
            doc = self.order(body.get("order_id"))
            allowed = CANCEL_REASONS.get(doc["status"])
            if allowed is None:
                raise Refused(25001020, f"An order in {doc['status']} cannot be cancelled")
            if body.get("cancel_reason") not in allowed:
                raise Refused(25001021, "Reason not match order status")
            partial = bool(body.get("order_line_item_ids") or body.get("skus"))
            items = self.items_of(doc, body)
            self._give_back(doc, items)
            for item in items:
                item["display_status"] = "CANCELLED"
                item["cancel_reason"] = body["cancel_reason"]
            if not partial or all(i["display_status"] == "CANCELLED" for i in doc["line_items"]):
                doc["status"] = "CANCELLED"
                doc["cancel_reason"] = body["cancel_reason"]
                doc["cancellation_initiator"] = "SELLER"
            doc["update_time"] = self.tick()
            self._queue(doc)
            self.received[doc["id"]].append({"type": "cancellation", "body": body})
            return {"cancel_id": number(), "cancel_status": "CANCELLATION_REQUEST_COMPLETE"}

    def create_return(self, body: dict, key: str | None) -> dict:
        with self.lock:
            if key and key in self.returns:
                return self.returns[key]
            doc = self.order(body.get("order_id"))
            if doc["status"] not in RETURNABLE:
                raise Refused(25002001, f"An order in {doc['status']} takes no return request")
            if body.get("return_type") not in RETURN_TYPES:
                raise Refused(25002002, f"return_type must be one of {', '.join(RETURN_TYPES)}")
            if body.get("return_reason") not in RETURN_REASONS:
                raise Refused(25002003, f"return_reason {body.get('return_reason')!r} is invalid")
            items = self.items_of(doc, body)
            if any(i["display_status"] in SHIPPABLE + ("CANCELLED",) for i in items):
                raise Refused(25002004, "only shipped line items can be returned")
            refundable = sum(Decimal(i["sale_price"]) for i in items) - sum(
                Decimal(i.get("refunded") or "0") for i in items
            )
            total = Decimal(body.get("refund_total") or refundable)
            if total > refundable:
                raise Refused(25002005, f"refund_total {total} exceeds the refundable {refundable}")
            if body.get("currency") and body["currency"] != doc["payment"]["currency"]:
                raise Refused(25002006, "currency must be the order's currency")
            for item in items:
                already = Decimal(item.get("refunded") or "0")
                share = min(total, Decimal(item["sale_price"]) - already)
                item["refunded"] = str(already + share)
                total -= share
            self.received[doc["id"]].append({"type": "return", "body": body, "key": key})
            made = {"return_id": number(), "return_status": "RETURN_OR_REFUND_REQUEST_SUCCESS"}
            if key:
                self.returns[key] = made
            return made


def _take(sku: dict, quantity: int) -> None:
    """Take ``quantity`` units from the SKU's warehouses (negative: give them back)."""
    stock = sku.get("inventory") or []
    if quantity < 0:
        stock[0]["quantity"] = int(stock[0]["quantity"]) - quantity
        return
    for row in stock:
        taken = min(int(row["quantity"]), quantity)
        row["quantity"] = int(row["quantity"]) - taken
        quantity -= taken


def _address(name: str | None) -> dict:
    return {
        "name": name,
        "phone_number": "(+1)512*****67",
        "full_address": "1 Main St, Austin, Travis, Texas, United States, 73301",
        "address_detail": "1 Main St",
        "address_line1": "1 Main St",
        "address_line2": "",
        "postal_code": "73301",
        "region_code": "US",
        "district_info": [
            {"address_level_name": level_name, "address_name": name, "address_level": level}
            for level_name, name, level in (
                ("Country", "United States", "L0"),
                ("State", "Texas", "L1"),
                ("County", "Travis", "L2"),
                ("City", "Austin", "L3"),
            )
        ],
    }


def _payment(data: OrderIn) -> dict:
    total = sum(Decimal(line.price) * line.quantity for line in data.lines)
    return {
        "currency": data.currency,
        "sub_total": str(total),
        "original_total_product_price": str(total),
        "shipping_fee": "0.00",
        "seller_discount": "0",
        "platform_discount": "0",
        "tax": "0",
        "total_amount": str(total),
    }


def _line_item(found: tuple[dict, dict], line: LineIn, currency: str, status: str) -> dict:
    product, sku = found
    return {
        "id": number(),
        "sku_id": sku["id"],
        "product_id": product["id"],
        "seller_sku": line.sku,
        "product_name": line.title or product.get("title"),
        "sku_name": ", ".join(a.get("value_name", "") for a in sku.get("sales_attributes") or []),
        "original_price": line.price,
        "sale_price": line.price,
        "seller_discount": "0",
        "platform_discount": "0",
        "currency": currency,
        "display_status": status,
        "sku_type": "NORMAL",
    }


def install(kind: str, app: FastAPI) -> OrderBook:
    """Add order routes (platform API + control) to the TikTok Shop simulator app."""
    book = OrderBook(app.state.sim)
    app.state.orders = book
    control = APIRouter(prefix="/_sandbox", tags=["sandbox orders"])

    @control.post("/orders")
    def place(data: OrderIn):
        try:
            return book.place(data)
        except OrderRefused as refused:
            return JSONResponse({"error": str(refused)}, status_code=409)

    @control.post("/orders/{order_id}/status")
    def status(order_id: str, data: StatusIn):
        return book.set_status(order_id, data.status)

    @control.get("/orders/{order_id}")
    def show(order_id: str):
        with book.lock:
            return {"order": book.orders.get(order_id), "received": book.received.get(order_id, [])}

    @control.put("/webhook")
    def webhook(data: WebhookIn):
        book.url = data.url
        return {"url": book.url}

    @control.post("/webhooks/deliver")
    def deliver(plan: DeliverIn):
        return {"statuses": book.deliver(plan)}

    app.router.routes[0:0] = control.routes  # before the platform's catch-all paths
    api = APIRouter()
    _routes(api, book)
    app.include_router(api)
    return book


def _routes(api: APIRouter, book: OrderBook) -> None:
    sim = book.shop

    @api.get("/order/202309/orders")
    async def detail(request: Request, ids: str = ""):
        await check_request(sim, request)
        wanted = [i for i in ids.split(",") if i]
        if not 1 <= len(wanted) <= MAX_DETAIL_IDS:
            return answer(36009003, f"ids must hold 1-{MAX_DETAIL_IDS} order ids", status=400)
        with book.lock:
            found = [book.view(book.orders[i]) for i in wanted if i in book.orders]
        return answer(0, "Success", {"orders": found})

    @api.post("/order/202309/orders/search")
    async def search(request: Request):
        body = await check_request(sim, request)
        size = request.query_params.get("page_size", "")
        if not size.isdigit() or not 1 <= int(size) <= 100:
            return answer(36009003, "page_size is required, 1-100", status=400)
        found = book.listed(body.get("update_time_ge"))
        token = request.query_params.get("page_token") or "0"
        start = int(token) if token.isdigit() else 0
        end = start + int(size)
        return answer(
            0,
            "Success",
            {
                "orders": found[start:end],
                "total_count": len(found),
                "next_page_token": str(end) if end < len(found) else "",
            },
        )

    @api.get("/logistics/202309/delivery_options/{option_id}/shipping_providers")
    async def providers(request: Request, option_id: str):
        await check_request(sim, request)
        if option_id != DELIVERY_OPTION:
            return answer(21011010, f"delivery option {option_id} does not exist", status=404)
        return answer(0, "Success", {"shipping_providers": PROVIDERS})

    @api.post("/fulfillment/202309/orders/{order_id}/packages")
    async def ship(request: Request, order_id: str):
        body = await check_request(sim, request)
        return answer(0, "Success", book.ship(order_id, body))

    @api.post("/return_refund/202309/cancellations")
    async def cancel(request: Request):
        body = await check_request(sim, request)
        return answer(0, "Success", book.cancel(body))

    @api.post("/return_refund/202309/returns")
    async def create_return(request: Request):
        body = await check_request(sim, request)
        key = request.query_params.get("idempotency_key")
        return answer(0, "Success", book.create_return(body, key))
