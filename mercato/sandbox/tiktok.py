"""TikTok Shop Partner API simulator (API version 202309), from PLATFORMS.md §3.

Rules enforced on every route (order routes included, see ``sandbox/orders.py``):
``app_key`` known, ``timestamp`` within 5 minutes, ``sign`` valid (multipart bodies not
signed), a live access token in ``x-tts-access-token``, and the shop's ``shop_cipher`` on
shop-scoped calls. Answers use TikTok's envelope ``{code, message, request_id, data}``.

The seller it simulates: one authorised local shop (``SHOP``, US) unless the test sets the
seller's shops (``PUT /_sandbox/shops``: a cross-border seller has a shop per country
market, PLATFORMS.md §3.4), each with its own ``shop_cipher``, region and products; SKU
prices in the shop region's currency and within its documented range (§3.2; that another
currency is refused is inferred [I]); its warehouses (``WAREHOUSES``),
images only as URIs from its upload route, products whose edits keep, create and delete
SKUs by id as TikTok does, stock per SKU (what Mercato pushed, less what buyers bought),
search that needs ``page_size`` and lists no external ids, deletes of at most 20.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import struct
import time
from decimal import Decimal, InvalidOperation

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from mercato.catalog.text import is_valid_gtin
from mercato.channels.tiktok.signing import verify
from mercato.channels.tiktok.spec import REGION_CURRENCY, price_range
from mercato.db import new_id
from mercato.sandbox.common import Simulator, control_router

# app_key -> app_secret; the PLATFORMS.md test vector's app is known from the start.
APPS = {"29a39d": "e59af819cc"}
CLOCK_SKEW = 300
PRODUCTS = "/product/202309/products"
SHOP = {
    "id": "7494049642642441621",
    "name": "Mercato Test Shop",
    "region": "US",
    "seller_type": "LOCAL",
    "cipher": "GCP_XF90igAAAABh00qsWgtvOiGFNqyubMt3",
    "code": "USLCLQB5ZM",
}
WAREHOUSES = [
    {
        "id": "7068517275539719942",
        "name": "Austin sales",
        "effect_status": "ENABLED",
        "type": "SALES_WAREHOUSE",
        "sub_type": "DOMESTIC_WAREHOUSE",
        "is_default": True,
        "address": {"region_code": "US", "city": "Austin", "postal_code": "73301"},
    },
    {
        "id": "7068517275539719943",
        "name": "Old sales",
        "effect_status": "DISABLED",
        "type": "SALES_WAREHOUSE",
        "sub_type": "DOMESTIC_WAREHOUSE",
        "is_default": False,
        "address": {"region_code": "US", "city": "Dallas", "postal_code": "75001"},
    },
    {
        "id": "7068517275539719944",
        "name": "Returns",
        "effect_status": "ENABLED",
        "type": "RETURN_WAREHOUSE",
        "sub_type": "DOMESTIC_WAREHOUSE",
        "is_default": False,
        "address": {"region_code": "US", "city": "Austin", "postal_code": "73301"},
    },
]
SALES_WAREHOUSES = {
    w["id"]
    for w in WAREHOUSES
    if w["type"] == "SALES_WAREHOUSE" and w["effect_status"] == "ENABLED"
}
# Refresh tokens the simulated seller authorisation handed out (one use each, as rotated).
REFRESH_TOKENS = ("tt-refresh-token", "demo-tiktok-refresh-token")
ACCESS_TOKEN_DAYS = 7
USE_CASES = (
    "MAIN_IMAGE",
    "ATTRIBUTE_IMAGE",
    "DESCRIPTION_IMAGE",
    "CERTIFICATION_IMAGE",
    "SIZE_CHART_IMAGE",
)
MAX_IMAGE_BYTES = 5 * 1024 * 1024
MAX_SEARCH_PAGE = 100
MAX_DELETE = 20
MAX_STOCK = 999_999
STATUSES = (
    "ALL",
    "DRAFT",
    "PENDING",
    "FAILED",
    "ACTIVATE",
    "SELLER_DEACTIVATED",
    "PLATFORM_DEACTIVATED",
    "FREEZE",
    "DELETED",
)


def answer(
    code: int, message: str, data=None, status: int = 200, retry_after: float | None = None
) -> JSONResponse:
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
    return JSONResponse(
        {"code": code, "message": message, "request_id": new_id("req"), "data": data},
        status_code=status,
        headers=headers,
    )


class Refused(Exception):
    """A request TikTok refuses: the answer to send."""

    def __init__(self, code: int, message: str, status: int = 400):
        super().__init__(message)
        self.response = answer(code, message, status=status)


class Shop(Simulator):
    """The simulated shop's state beside the products: uploads, tokens."""

    def __init__(self):
        super().__init__()
        self.pending_reads: dict[str, int] = {}
        self.uploads: dict[str, dict] = {}  # uri -> {url, width, height, use_case}
        self.refresh_tokens: set[str] = set(REFRESH_TOKENS)
        self.revoked_tokens: set[str] = set()
        # Buyer chats: conversation id -> {buyer, can_send_message, messages (oldest first)}
        self.chats: dict[str, dict] = {}
        self.chat_sent: list[dict] = []
        # The seller's authorised shops (Get Authorized Shops) and each product's shop.
        self.shops: list[dict] = [dict(SHOP)]
        self.product_shop: dict[str, str] = {}

    def shop_of(self, cipher: str | None) -> dict | None:
        return next((s for s in self.shops if s.get("cipher") == cipher), None)


async def check_request(
    sim: Shop, request: Request, shop_scoped: bool = True, multipart: bool = False
) -> dict:
    """The JSON body of a well-formed, well-signed request; raises Refused otherwise."""
    kind = sim.request_fault()
    if kind == "expired_token":
        raise Refused(105002, "Expired credentials: access token expired", 401)
    if kind == "429":
        raise Refused(429, "Too many requests", 429) from None
    if kind == "500":
        raise Refused(500, "Internal error", 500)
    params = dict(request.query_params)
    secret = APPS.get(params.get("app_key", ""))
    if secret is None:
        raise Refused(106011, "Invalid app_key", 401)
    timestamp = params.get("timestamp", "")
    if not timestamp.isdigit() or abs(int(timestamp) - time.time()) > CLOCK_SKEW:
        raise Refused(106002, "Invalid timestamp", 401)
    raw = b"" if multipart else await request.body()
    path = request.url.path.removeprefix(request.scope.get("root_path", ""))
    if not verify(secret, path, params, raw, params.get("sign", ""), multipart=multipart):
        raise Refused(106001, "Invalid signature", 401)
    token = request.headers.get("x-tts-access-token")
    if not token:
        raise Refused(105001, "Missing access token", 401)
    if token in sim.revoked_tokens:
        raise Refused(105002, "Expired credentials: access token expired", 401)
    if shop_scoped and sim.shop_of(params.get("shop_cipher")) is None:
        raise Refused(
            106012 if "shop_cipher" not in params else 106013,
            "shop_cipher is required" if "shop_cipher" not in params else "Invalid shop_cipher",
        )
    if multipart:
        return {}
    try:
        return json.loads(raw) if raw else {}
    except ValueError:
        raise Refused(36009003, "The body is not valid JSON") from None


# ---------------------------------------------------------------- images


def image_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) of a PNG or JPEG, else None."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) >= 24:
        return struct.unpack(">II", data[16:24])
    if data.startswith(b"\xff\xd8"):
        index = 2
        while index + 9 < len(data):
            if data[index] != 0xFF:
                return None
            marker = data[index + 1]
            length = struct.unpack(">H", data[index + 2 : index + 4])[0]
            if marker in (0xC0, 0xC1, 0xC2):
                height, width = struct.unpack(">HH", data[index + 5 : index + 9])
                return width, height
            index += 2 + length
    return None


def upload_errors(data: bytes | None, use_case: str | None) -> str | None:
    if use_case not in USE_CASES:
        return f"use_case must be one of {', '.join(USE_CASES)}"
    if not data:
        return "data (the image file) is required"
    if len(data) > MAX_IMAGE_BYTES:
        return "the image is over 5 MB"
    size = image_size(data)
    if size is None:
        return "the image must be a JPG, JPEG or PNG"
    if not all(100 <= side <= 20000 for side in size):
        return f"the image is {size[0]}x{size[1]}; 100x100 to 20000x20000 pixels are taken"
    return None


# ---------------------------------------------------------------- products


def product_errors(body: dict, sim: Shop, shop: dict | None = None) -> list[str]:
    errors = []
    shop = shop or SHOP
    country = shop.get("region") or ""
    title = body.get("title") or ""
    low = 1 if country in ("US", "GB") else 25
    if not low <= len(title) <= 255:
        errors.append(f"title must be {low}-255 characters")
    if len(body.get("description") or "") > 10000:
        errors.append("description exceeds 10000 characters")
    if not str(body.get("category_id") or "").isdigit():
        errors.append("category_id must be a leaf category id")
    images = body.get("main_images") or []
    if not 1 <= len(images) <= 9:
        errors.append("main_images must hold 1-9 images")
    for image in images:
        if image.get("uri") not in sim.uploads:
            errors.append(
                f"main_images uri {image.get('uri')!r} was not returned by the image upload API"
            )
    if not body.get("package_weight"):
        errors.append("package_weight is required")
    skus = body.get("skus") or []
    if not 1 <= len(skus) <= 100:
        errors.append("skus must hold 1-100 SKUs")
    for sku in skus:
        name = sku.get("seller_sku") or sku.get("id")
        if problem := price_errors(sku.get("price") or {}, shop):
            errors.append(f"SKU {name}: {problem}")
        code = (sku.get("identifier_code") or {}).get("code")
        if code and not is_valid_gtin(code):
            errors.append(f"SKU {name}: identifier_code {code} is not a valid GTIN")
        if len(sku.get("sales_attributes") or []) > 3:
            errors.append("at most 3 sales attributes")
        for attribute in sku.get("sales_attributes") or []:
            image = attribute.get("sku_img")
            if image and image.get("uri") not in sim.uploads:
                errors.append(f"SKU {name}: sku_img uri was not returned by the upload API")
        inventory = sku.get("inventory") or []
        if not inventory:
            errors.append(f"SKU {name}: inventory is required")
        for stock in inventory:
            errors += stock_errors(name, stock)
    return errors


def price_errors(price: dict, shop: dict) -> str | None:
    """What is wrong with a SKU's ``price{amount, currency}`` in the shop (§3.2)."""
    try:
        amount = Decimal(str(price.get("amount", "")))
    except InvalidOperation:
        return "price.amount must be a decimal string"
    region, currency = shop.get("region") or "", price.get("currency")
    expected = REGION_CURRENCY.get(region)
    if expected and currency != expected:
        return f"price.currency must be {expected} in region {region}"
    low_high = price_range(region, shop.get("seller_type"), currency or "")
    if low_high and not low_high[0] <= amount <= low_high[1]:
        return f"price out of range {low_high[0]}-{low_high[1]}"
    if amount <= 0:
        return "price out of range"
    return None


def stock_errors(name, stock: dict, required_warehouse: bool = True) -> list[str]:
    errors = []
    warehouse = stock.get("warehouse_id")
    if warehouse is None and required_warehouse:
        errors.append(f"SKU {name}: warehouse_id is required")
    elif warehouse is not None and warehouse not in SALES_WAREHOUSES:
        errors.append(f"SKU {name}: warehouse_id {warehouse} is not an enabled sales warehouse")
    quantity = stock.get("quantity")
    if not isinstance(quantity, int) or not 0 <= quantity <= MAX_STOCK:
        errors.append(f"SKU {name}: quantity must be 0-{MAX_STOCK}")
    return errors


def stock_of(sku: dict) -> int:
    return sum(int(i.get("quantity") or 0) for i in sku.get("inventory") or [])


def listed(product: dict) -> dict:
    """A product as Search Products lists it: no external ids, no ``price.amount``."""
    return {
        "id": product["id"],
        "title": product.get("title"),
        "status": product.get("status"),
        "sales_regions": ["US"],
        "create_time": product.get("create_time"),
        "update_time": product.get("update_time"),
        "is_not_for_sale": False,
        "product_sync_fail_reasons": [],
        "skus": [
            {
                "id": sku["id"],
                "seller_sku": sku.get("seller_sku"),
                "price": {
                    "currency": (sku.get("price") or {}).get("currency"),
                    "tax_exclusive_price": (sku.get("price") or {}).get("amount"),
                    "sale_price": (sku.get("price") or {}).get("amount"),
                },
                "inventory": [
                    {"warehouse_id": i.get("warehouse_id"), "quantity": i.get("quantity")}
                    for i in sku.get("inventory") or []
                ],
            }
            for sku in product.get("skus") or []
        ],
    }


def create_app() -> FastAPI:
    app = FastAPI(title="TikTok Shop API (simulator)")
    sim = Shop()
    app.state.sim = sim
    app.include_router(control_router(sim))

    @app.exception_handler(Refused)
    async def refused(request: Request, exc: Refused):
        return exc.response

    @app.get("/api/v2/token/refresh")
    def refresh(
        app_key: str = "", app_secret: str = "", refresh_token: str = "", grant_type: str = ""
    ):
        """Token refresh (§3.4): on TikTok's auth host, authenticated by the app secret."""
        if APPS.get(app_key) != app_secret:
            return answer(36004004, "Invalid app_key or app_secret")
        if grant_type != "refresh_token":
            return answer(36004005, "grant_type must be refresh_token")
        with sim.lock:
            if refresh_token not in sim.refresh_tokens:
                return answer(36004007, "Invalid or expired refresh_token")
            sim.refresh_tokens.discard(refresh_token)
            new_refresh = "rt-" + new_id("")[-16:]
            sim.refresh_tokens.add(new_refresh)
        now = int(time.time())
        return answer(
            0,
            "success",
            {
                "access_token": "at-" + new_id("")[-16:],
                "access_token_expire_in": now + ACCESS_TOKEN_DAYS * 86400,
                "refresh_token": new_refresh,
                "refresh_token_expire_in": now + 365 * 86400,
                "open_id": "open-1",
                "seller_name": SHOP["name"],
                "seller_base_region": SHOP["region"],
                "user_type": 0,
                "granted_scopes": ["seller.product.basic", "seller.order.info"],
            },
        )

    @app.get("/authorization/202309/shops")
    async def shops(request: Request):
        await check_request(sim, request, shop_scoped=False)
        with sim.lock:
            return answer(0, "Success", {"shops": [dict(s) for s in sim.shops]})

    @app.put("/_sandbox/shops")
    def set_shops(body: dict):
        """The seller's authorised shops (test control): ``{"shops": [{id, name, region,
        seller_type, cipher, code}]}``."""
        with sim.lock:
            sim.shops = [dict(s) for s in body.get("shops") or []]
            return {"shops": sim.shops}

    def request_shop(request: Request) -> dict:
        return sim.shop_of(request.query_params.get("shop_cipher")) or SHOP

    def owned(request: Request, product_id: str) -> dict | None:
        """The product, if it belongs to the request's shop."""
        product = sim.items.get(product_id)
        owner = sim.product_shop.get(product_id, SHOP["cipher"])
        if product is None or owner != request_shop(request)["cipher"]:
            return None
        return product

    @app.get("/logistics/202309/warehouses")
    async def warehouses(request: Request):
        await check_request(sim, request)
        return answer(0, "Success", {"warehouses": WAREHOUSES})

    @app.post("/product/202309/images/upload")
    async def upload(request: Request):
        await check_request(sim, request, shop_scoped=False, multipart=True)
        form = await request.form()
        file = form.get("data")
        data = await file.read() if hasattr(file, "read") else None
        use_case = form.get("use_case")
        if problem := upload_errors(data, use_case):
            return answer(12019003, problem, status=400)
        width, height = image_size(data)
        uri = "tos-maliva-i-o3syd03w52-us/" + hashlib.sha256(data).hexdigest()[:32]
        url = f"https://p16-oec-va.ibyteimg.com/{uri}~tplv-o3syd03w52-origin-jpeg.jpeg"
        with sim.lock:
            sim.uploads[uri] = {"url": url, "width": width, "height": height}
        return answer(
            0,
            "Success",
            {"uri": uri, "url": url, "width": width, "height": height, "use_case": use_case},
        )

    def store(product_id: str, body: dict, existing: dict | None) -> dict:
        """Create, or replace as Edit Product does: a SKU sent with its id is updated,
        one without an id is created, and one not sent is deleted."""
        now = int(time.time())
        skus = [{**sku, "id": sku.get("id") or number()} for sku in body["skus"]]
        sim.items_received += len(skus)
        if not sim.take("drop"):
            sim.items[product_id] = {
                **body,
                "id": product_id,
                "skus": skus,
                "status": "ACTIVATE",
                "create_time": existing["create_time"] if existing else now,
                "update_time": now,
            }
            sim.pending_reads[product_id] = sim.faults.pop("delay_verdicts", 0)
        return {
            "product_id": product_id,
            "skus": [
                {
                    "id": s["id"],
                    "seller_sku": s.get("seller_sku"),
                    "external_sku_id": s.get("external_sku_id"),
                }
                for s in skus
            ],
        }

    @app.post(PRODUCTS)
    async def create(request: Request):
        body = await check_request(sim, request)
        if any("id" in sku for sku in body.get("skus") or []):
            return answer(12052700, "a new product's SKUs cannot carry ids", status=400)
        if problems := product_errors(body, sim, request_shop(request)):
            return answer(12052700, "; ".join(problems), status=400)
        with sim.lock:
            product_id = number()
            sim.product_shop[product_id] = request_shop(request)["cipher"]
            return answer(0, "Success", store(product_id, body, None))

    @app.put(PRODUCTS + "/{product_id}")
    async def edit(request: Request, product_id: str):
        body = await check_request(sim, request)
        if problems := product_errors(body, sim, request_shop(request)):
            return answer(12052700, "; ".join(problems), status=400)
        with sim.lock:
            existing = owned(request, product_id)
            if existing is None:
                return answer(12052048, f"Product {product_id} does not exist", status=404)
            held = {sku["id"] for sku in existing.get("skus") or []}
            foreign = [s["id"] for s in body["skus"] if "id" in s and s["id"] not in held]
            if foreign:
                return answer(12052230, f"SKU ids {foreign} do not belong to product {product_id}")
            return answer(0, "Success", store(product_id, body, existing))

    @app.get(PRODUCTS + "/{product_id}")
    async def get(request: Request, product_id: str):
        await check_request(sim, request)
        with sim.lock:
            product = owned(request, product_id)
            if product is None:
                return answer(12052048, f"Product {product_id} does not exist", status=404)
            under_review = request.query_params.get("return_under_review_version") == "true"
            if sim.pending_reads.get(product_id, 0) > 0 and under_review:
                sim.pending_reads[product_id] -= 1
                return answer(0, "Success", {**product, "status": "PENDING"})
            return answer(0, "Success", product)

    async def sku_update(request: Request, product_id: str, body: dict, change) -> JSONResponse:
        with sim.lock:
            product = owned(request, product_id)
            if product is None:
                return answer(12052048, f"Product {product_id} does not exist", status=404)
            if product.get("status") != "ACTIVATE":
                return answer(12019125, f"Product {product_id} is not live; only live SKUs")
            skus = {sku["id"]: sku for sku in product["skus"]}
            errors = []
            for item in body.get("skus") or []:
                sku = skus.get(item.get("id"))
                if sku is None:
                    errors.append(_sku_error(item.get("id"), "SKU does not exist"))
                elif problem := change(sku, item):
                    errors.append(_sku_error(item["id"], problem))
            if not body.get("skus"):
                return answer(12052700, "skus is required", status=400)
            product["update_time"] = int(time.time())
            return answer(0, "Success", {"errors": errors} if errors else {})

    @app.post(PRODUCTS + "/{product_id}/inventory/update")
    async def inventory(request: Request, product_id: str):
        body = await check_request(sim, request)

        def change(sku: dict, item: dict) -> str | None:
            stock = item.get("inventory") or []
            problems = [e for s in stock for e in stock_errors(sku["id"], s, False)]
            if problems or not stock:
                return "; ".join(problems) or "inventory is required"
            sku["inventory"] = [
                {"warehouse_id": s.get("warehouse_id") or next(iter(SALES_WAREHOUSES)), **s}
                for s in stock
            ]
            return None

        return await sku_update(request, product_id, body, change)

    @app.post(PRODUCTS + "/{product_id}/prices/update")
    async def prices(request: Request, product_id: str):
        body = await check_request(sim, request)

        def change(sku: dict, item: dict) -> str | None:
            price = item.get("price") or {}
            if problem := price_errors(price, request_shop(request)):
                return problem
            sku["price"] = {"amount": str(price["amount"]), "currency": price.get("currency")}
            return None

        return await sku_update(request, product_id, body, change)

    @app.delete(PRODUCTS)
    async def delete(request: Request):
        body = await check_request(sim, request)
        ids = body.get("product_ids") or []
        if not 1 <= len(ids) <= MAX_DELETE:
            return answer(12019120, f"product_ids must hold 1-{MAX_DELETE} ids", status=400)
        errors = []
        with sim.lock:
            for product_id in ids:
                if owned(request, product_id) is None or sim.items.pop(product_id) is None:
                    errors.append(
                        {
                            "code": 12052048,
                            "message": "product does not exist",
                            "detail": {"product_id": product_id},
                        }
                    )
        return answer(0, "Success", {"errors": errors} if errors else {})

    @app.post(PRODUCTS + "/search")
    async def search(request: Request):
        body = await check_request(sim, request)
        size = request.query_params.get("page_size", "")
        if not size.isdigit() or not 1 <= int(size) <= MAX_SEARCH_PAGE:
            return answer(36009003, f"page_size is required, 1-{MAX_SEARCH_PAGE}", status=400)
        status = body.get("status") or "ALL"
        if status not in STATUSES:
            return answer(36009003, f"status must be one of {', '.join(STATUSES)}", status=400)
        wanted = set(body.get("seller_skus") or [])
        with sim.lock:
            products = [
                listed(p)
                for product_id, p in sorted(sim.items.items())
                if owned(request, product_id) is not None
                and (status == "ALL" or p.get("status") == status)
                and (not wanted or any(s.get("seller_sku") in wanted for s in p["skus"]))
            ]
        token = request.query_params.get("page_token") or "0"
        start = int(token) if token.isdigit() else 0
        end = start + int(size)
        return answer(
            0,
            "Success",
            {
                "total_count": len(products),
                "next_page_token": str(end) if end < len(products) else "",
                "products": products[start:end],
            },
        )

    chats(app, sim)
    return app


# ---------------------------------------------------------------- buyer chats

CHATS = "/customer_service/202309/conversations"
CHAT_TYPES = {"TEXT": ("content",), "PRODUCT_CARD": ("product_id",), "ORDER_CARD": ("order_id",)}


def _page(items: list, page_token: str | None, page_size: str | None, most: int) -> tuple:
    if not (page_size or "").isdigit() or not 1 <= int(page_size) <= most:
        raise Refused(36009004, f"page_size must be 1 to {most}")
    start = int(page_token) if (page_token or "").isdigit() else 0
    end = start + int(page_size)
    return items[start:end], str(end) if end < len(items) else ""


def _chat_message(message: dict) -> dict:
    return {k: message[k] for k in ("id", "type", "content", "create_time", "is_visible", "sender")}


def chats(app: FastAPI, sim: Shop) -> None:
    """The customer service API (docs/platforms/tiktok.md "Buyer chats"): conversations
    latest first (20 a page at most), their messages newest first (10 a page at most), and
    sending TEXT (2,000 characters at most), PRODUCT_CARD or ORDER_CARD where the
    conversation lets the shop write (``can_send_message``)."""

    @app.get(CHATS)
    async def conversations(request: Request):
        await check_request(sim, request)
        query = request.query_params
        with sim.lock:
            ordered = sorted(
                sim.chats.items(),
                key=lambda item: item[1]["messages"][-1]["create_time"],
                reverse=True,
            )
            page, after = _page(ordered, query.get("page_token"), query.get("page_size"), 20)
            found = [
                {
                    "id": chat_id,
                    "participant_count": 2,
                    "can_send_message": chat["can_send_message"],
                    "unread_count": chat["unread"],
                    "create_time": chat["messages"][0]["create_time"],
                    "participants": [chat["buyer"], SHOP_PARTICIPANT],
                    "latest_message": _chat_message(chat["messages"][-1]),
                }
                for chat_id, chat in page
            ]
        return answer(0, "Success", {"conversations": found, "next_page_token": after})

    @app.get(CHATS + "/{conversation_id}/messages")
    async def messages(request: Request, conversation_id: str):
        await check_request(sim, request)
        query = request.query_params
        with sim.lock:
            chat = sim.chats.get(conversation_id)
            if chat is None:
                raise Refused(36009010, "conversation not found")
            newest_first = [_chat_message(m) for m in reversed(chat["messages"])]
            page, after = _page(newest_first, query.get("page_token"), query.get("page_size"), 10)
        return answer(0, "Success", {"messages": page, "next_page_token": after})

    @app.post(CHATS + "/{conversation_id}/messages/read")
    async def read(request: Request, conversation_id: str):
        """Read Message: no body; the conversation's unread count goes to 0."""
        body = await check_request(sim, request)
        if body:
            raise Refused(36009004, "Read Message takes no body")
        with sim.lock:
            chat = sim.chats.get(conversation_id)
            if chat is None:
                raise Refused(36009010, "conversation not found")
            chat["unread"] = 0
        return answer(0, "Success", {})

    @app.post(CHATS + "/{conversation_id}/messages")
    async def send(request: Request, conversation_id: str):
        body = await check_request(sim, request)
        if set(body) != {"type", "content"} or not isinstance(body.get("content"), str):
            raise Refused(36009003, "type and content (a JSON string) are required")
        needed = CHAT_TYPES.get(body["type"])
        if needed is None:
            raise Refused(36009003, f"type {body['type']!r} is not supported")
        try:
            content = json.loads(body["content"])
        except ValueError:
            raise Refused(36009003, "content is not a JSON string") from None
        if not isinstance(content, dict) or any(not content.get(k) for k in needed):
            raise Refused(36009003, f"content needs {', '.join(needed)}")
        if body["type"] == "TEXT" and len(content["content"]) > 2000:
            raise Refused(36009003, "content is longer than 2000 characters")
        with sim.lock:
            chat = sim.chats.get(conversation_id)
            if chat is None:
                raise Refused(36009010, "conversation not found")
            if not chat["can_send_message"]:
                raise Refused(36009011, "this conversation does not accept messages")
            if body["type"] == "PRODUCT_CARD" and content["product_id"] not in sim.items:
                raise Refused(36009012, "product not found in this shop")
            book = getattr(app.state, "orders", None)  # the shop's orders, where served
            if (
                body["type"] == "ORDER_CARD"
                and book is not None
                and content["order_id"] not in book.orders
            ):
                raise Refused(36009012, "order not found in this shop")
            message_id = number()
            sent = {
                "id": message_id,
                "type": body["type"],
                "content": body["content"],
                "create_time": int(time.time()),
                "is_visible": True,
                "sender": SHOP_PARTICIPANT,
            }
            chat["messages"].append(sent)
            sim.chat_sent.append({"conversation_id": conversation_id, **sent})
        return answer(0, "Success", {"message_id": message_id})

    @app.post("/_sandbox/chats")
    async def buyer_writes(request: Request):
        """A buyer writes (a new conversation unless ``conversation_id`` names one)."""
        data = await request.json()
        with sim.lock:
            chat_id = data.get("conversation_id") or number()
            chat = sim.chats.setdefault(
                chat_id,
                {
                    "buyer": {
                        "im_user_id": number(),
                        "user_id": number(),
                        "role": "BUYER",
                        "nickname": data.get("nickname") or "buyer",
                        "avatar": "https://p16.tiktokcdn.test/avatar.jpeg",
                    },
                    "can_send_message": True,
                    "unread": 0,
                    "messages": [],
                },
            )
            if "can_send_message" in data:
                chat["can_send_message"] = bool(data["can_send_message"])
            if data.get("text"):
                chat["unread"] += 1
                chat["messages"].append(
                    {
                        "id": number(),
                        "type": data.get("type", "TEXT"),
                        "content": json.dumps({"content": data["text"]}),
                        "create_time": int(data.get("at") or time.time()),
                        "is_visible": True,
                        "sender": {
                            k: chat["buyer"][k]
                            for k in ("im_user_id", "role", "nickname", "avatar")
                        },
                    }
                )
            return {"conversation_id": chat_id, "messages": len(chat["messages"])}

    @app.get("/_sandbox/chats/sent")
    def chat_sent():
        with sim.lock:
            return {"messages": list(sim.chat_sent)}


SHOP_PARTICIPANT = {
    "im_user_id": "7000000000000000001",
    "role": "SHOP",
    "nickname": "Mercato Demo Shop",
    "avatar": "https://p16.tiktokcdn.test/shop.jpeg",
}


def number() -> str:
    """An id shaped like TikTok's (a 19-digit number)."""
    return str(10**18 + secrets.randbelow(9 * 10**18))


def _sku_error(sku_id, message: str) -> dict:
    return {"code": 12019126, "message": message, "detail": {"sku_id": sku_id}}
