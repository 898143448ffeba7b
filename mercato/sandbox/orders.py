"""Orders in the TikTok Shop simulator (Meta and Pinterest have no order API,
PLATFORMS.md §0): place orders, change their
status, send signed webhooks to a URL (with injected duplicates, reordering and drops),
list them for polling, and record the fulfilments, cancellations and refunds received
(each once per idempotency key).

Control routes, under each simulator's prefix:
``POST /_sandbox/orders`` ``{lines: [{sku, quantity, price}], status?}`` places an order;
``POST /_sandbox/orders/{id}/status`` ``{status}`` changes it; ``PUT /_sandbox/webhook``
``{url}`` says where webhooks go; ``POST /_sandbox/webhooks/deliver``
``{drop, duplicates, reverse}`` sends what is queued; ``GET /_sandbox/orders/{id}`` shows
an order with what it received.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
import orjson
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from mercato.channels.tiktok.webhooks import signature as tiktok_signature
from mercato.db import new_id

ORDER_KINDS = ("tiktok",)
Transport = Callable[[str, bytes, dict[str, str]], int]


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


class OrderBook:
    """One platform's orders, kept in that platform's own shape."""

    def __init__(self, kind: str):
        self.kind = kind
        self.lock = threading.RLock()
        self.orders: dict[str, dict[str, Any]] = {}
        self.received: dict[str, list[dict[str, Any]]] = {}
        self.keys: set[str] = set()
        self.outbox: list[tuple[bytes, dict[str, str]]] = []
        self.url: str | None = None
        self.app_key, self.app_secret = "29a39d", "e59af819cc"
        self.transport: Transport = _post
        self.last_tick = 0

    def tick(self) -> int:
        """Update times strictly increase (TikTok stamps whole seconds)."""
        self.last_tick = max(int(time.time()), self.last_tick + 1)
        return self.last_tick

    # -------------------------------------------------------- shapes

    def place(self, data: OrderIn) -> dict:
        now = self.tick()
        order_id = str(int(time.time() * 1000)) + new_id("")[-6:].lower()
        doc = {
            "id": order_id,
            "status": data.status or "AWAITING_SHIPMENT",
            "create_time": now,
            "update_time": now,
            "buyer_email": data.email,
            "recipient_address": {
                "name": data.name,
                "address_line1": "1 Main St",
                "city": "Austin",
                "postal_code": "73301",
                "region_code": "US",
            },
            "payment": {"currency": data.currency, "shipping_fee": "0.00"},
            "line_items": [
                {
                    "id": new_id("li"),
                    "seller_sku": line.sku,
                    "sku_id": "tt-" + line.sku,
                    "product_name": line.title or line.sku,
                    "sale_price": line.price,
                    "original_price": line.price,
                }
                for line in data.lines
                for _ in range(line.quantity)
            ],
        }
        with self.lock:
            self.orders[order_id] = doc
            self.received[order_id] = []
            self._queue(doc)
        return doc

    def set_status(self, order_id: str, status: str) -> dict:
        with self.lock:
            doc = self.orders[order_id]
            now = self.tick()
            doc["status"], doc["update_time"] = status, now
            self._queue(doc)
            return doc

    def updated(self, doc: dict) -> int:
        return doc["update_time"]

    # -------------------------------------------------------- webhooks

    def _queue(self, doc: dict) -> None:
        """Sign now, as the platform would at the time of the change."""
        now = int(time.time())
        raw = orjson.dumps(
            {
                "type": 1,
                "tts_notification_id": new_id("ntf"),
                "shop_id": "shop1",
                "timestamp": now,
                "data": {
                    "order_id": doc["id"],
                    "order_status": doc["status"],
                    "update_time": doc["update_time"],
                },
            }
        )
        headers = {"Authorization": tiktok_signature(self.app_key, self.app_secret, raw)}
        headers["content-type"] = "application/json"
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

    # -------------------------------------------------------- what the merchant sends

    def record(self, order_id: str, what: str, body: dict, key: str | None) -> JSONResponse:
        with self.lock:
            if order_id not in self.orders:
                return JSONResponse(
                    {
                        "code": 404,
                        "message": f"no order {order_id}",
                        "error": {"message": f"no order {order_id}"},
                    },
                    status_code=404,
                )
            if key and (key in self.keys):
                return JSONResponse(_ok(self.kind, {"replayed": True}))
            if key:
                self.keys.add(key)
            self.received[order_id].append({"type": what, "body": body, "key": key})
        return JSONResponse(_ok(self.kind, {"recorded": what}))

    def listed(self, since: int | None) -> list[dict]:
        with self.lock:
            docs = [d for d in self.orders.values() if since is None or self.updated(d) >= since]
        return sorted(docs, key=self.updated)


def _ok(kind: str, data: dict) -> dict:
    return {"code": 0, "message": "Success", "data": data} if kind == "tiktok" else data


def install(kind: str, app: FastAPI) -> OrderBook:
    """Add order routes (platform API + control) to a simulator app."""
    book = OrderBook(kind)
    app.state.orders = book
    control = APIRouter(prefix="/_sandbox", tags=["sandbox orders"])

    @control.post("/orders")
    def place(data: OrderIn):
        return book.place(data)

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
    _tiktok_routes(api, book)
    app.include_router(api)
    return book


def _tiktok_routes(api: APIRouter, book: OrderBook) -> None:
    from mercato.channels.tiktok.signing import verify
    from mercato.sandbox.tiktok import APPS

    async def signed(request: Request) -> tuple[dict | None, JSONResponse | None]:
        params = dict(request.query_params)
        secret = APPS.get(params.get("app_key", ""))
        raw = await request.body()
        path = request.url.path.removeprefix(request.scope.get("root_path", ""))
        if secret is None or not verify(secret, path, params, raw, params.get("sign", "")):
            return None, JSONResponse(
                {"code": 106001, "message": "Invalid signature"}, status_code=401
            )
        return (orjson.loads(raw) if raw else {}), None

    @api.get("/order/202309/orders")
    async def detail(request: Request, ids: str = ""):
        _, error = await signed(request)
        if error:
            return error
        with book.lock:
            found = [book.orders[i] for i in ids.split(",") if i in book.orders]
        return _ok("tiktok", {"orders": found})

    @api.post("/order/202309/orders/search")
    async def search(request: Request):
        body, error = await signed(request)
        if error:
            return error
        return _ok(
            "tiktok", {"orders": book.listed(body.get("update_time_ge")), "next_page_token": ""}
        )

    @api.post("/fulfillment/202309/orders/{order_id}/packages")
    async def ship(order_id: str, request: Request):
        body, error = await signed(request)
        return error or book.record(order_id, "fulfillment", body, body.get("idempotency_key"))

    @api.post("/return_refund/202309/cancellations")
    async def cancel(request: Request):
        body, error = await signed(request)
        return error or book.record(
            str(body.get("order_id")), "cancellation", body, body.get("idempotency_key")
        )

    @api.post("/return_refund/202309/refunds")
    async def refund(request: Request):
        body, error = await signed(request)
        return error or book.record(
            str(body.get("order_id")), "refund", body, body.get("idempotency_key")
        )
