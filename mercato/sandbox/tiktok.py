"""TikTok Shop product API simulator (API version 202309).

Every request must carry ``app_key``, a ``timestamp`` within 5 minutes and a valid ``sign``
(PLATFORMS.md §3.1), and the ``x-tts-access-token`` header. Answers use TikTok's envelope
``{code, message, request_id, data}``.
"""

from __future__ import annotations

import json
import time
from decimal import Decimal, InvalidOperation

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from mercato.catalog.text import is_valid_gtin
from mercato.channels.tiktok.signing import verify
from mercato.db import new_id
from mercato.sandbox.checks import link_ok
from mercato.sandbox.common import Simulator, control_router

# app_key -> app_secret; the PLATFORMS.md test vector's app is known from the start.
APPS = {"29a39d": "e59af819cc"}
CLOCK_SKEW = 300
PRODUCTS = "/product/202309/products"


def _answer(
    code: int, message: str, data=None, status: int = 200, retry_after: float | None = None
) -> JSONResponse:
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
    return JSONResponse(
        {"code": code, "message": message, "request_id": new_id("req"), "data": data},
        status_code=status,
        headers=headers,
    )


def product_errors(body: dict, country: str = "US") -> list[str]:
    errors = []
    title = body.get("title") or ""
    low = 1 if country in ("US", "GB") else 25
    if not low <= len(title) <= 255:
        errors.append(f"title must be {low}-255 characters")
    if len(body.get("description") or "") > 10000:
        errors.append("description exceeds 10000 characters")
    if not str(body.get("category_id") or "").isdigit():
        errors.append("category_id must be a leaf category id")
    images = body.get("main_images") or []
    if not 1 <= len(images) <= 9 or not all(link_ok(i.get("uri")) for i in images):
        errors.append("main_images must hold 1-9 images")
    if not body.get("package_weight"):
        errors.append("package_weight is required")
    skus = body.get("skus") or []
    if not 1 <= len(skus) <= 100:
        errors.append("skus must hold 1-100 SKUs")
    for sku in skus:
        try:
            amount = Decimal(sku.get("price", {}).get("amount", ""))
        except InvalidOperation:
            amount = Decimal(-1)
        if not Decimal("0.01") <= amount <= Decimal("7600"):
            errors.append(f"SKU {sku.get('seller_sku')}: price out of range 0.01-7600")
        code = (sku.get("identifier_code") or {}).get("code")
        if code and not is_valid_gtin(code):
            errors.append(
                f"SKU {sku.get('seller_sku')}: identifier_code {code} is not a valid GTIN"
            )
        if len(sku.get("sales_attributes") or []) > 3:
            errors.append("at most 3 sales attributes")
    return errors


def create_app() -> FastAPI:
    app = FastAPI(title="TikTok Shop API (simulator)")
    sim = Simulator()
    sim.pending_reads: dict[str, int] = {}
    app.state.sim = sim
    app.include_router(control_router(sim))

    async def checked(request: Request):
        """(body, None) for a well-signed request, else (None, error answer)."""
        kind = sim.request_fault()
        if kind == "expired_token":
            return None, _answer(105002, "Expired credentials: access token expired", status=401)
        if kind == "429":
            return None, _answer(429, "Too many requests", status=429, retry_after=sim.retry_after)
        if kind == "500":
            return None, _answer(500, "Internal error", status=500)
        params = dict(request.query_params)
        secret = APPS.get(params.get("app_key", ""))
        if secret is None:
            return None, _answer(106011, "Invalid app_key", status=401)
        timestamp = params.get("timestamp", "")
        if not timestamp.isdigit() or abs(int(timestamp) - time.time()) > CLOCK_SKEW:
            return None, _answer(106002, "Invalid timestamp", status=401)
        raw = await request.body()
        if not verify(
            secret,
            request.url.path.removeprefix(request.scope.get("root_path", "")),
            params,
            raw,
            params.get("sign", ""),
        ):
            return None, _answer(106001, "Invalid signature", status=401)
        if not request.headers.get("x-tts-access-token"):
            return None, _answer(105001, "Missing access token", status=401)
        return (json.loads(raw) if raw else {}), None

    def store(product_id: str, body: dict) -> dict:
        skus = [{**sku, "id": sku.get("id") or new_id("sku")} for sku in body["skus"]]
        sim.items_received += len(skus)
        if not sim.take("drop"):
            sim.items[product_id] = {**body, "id": product_id, "skus": skus, "status": "ACTIVATE"}
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
        body, error = await checked(request)
        if error:
            return error
        if problems := product_errors(body):
            return _answer(12052700, "; ".join(problems), status=400)
        with sim.lock:
            return _answer(0, "Success", store(new_id("prd"), body))

    @app.put(PRODUCTS + "/{product_id}")
    async def edit(product_id: str, request: Request):
        body, error = await checked(request)
        if error:
            return error
        if problems := product_errors(body):
            return _answer(12052700, "; ".join(problems), status=400)
        with sim.lock:
            if product_id not in sim.items:
                return _answer(12052048, f"Product {product_id} does not exist", status=404)
            return _answer(0, "Success", store(product_id, body))

    @app.get(PRODUCTS + "/{product_id}")
    async def get(product_id: str, request: Request):
        _, error = await checked(request)
        if error:
            return error
        with sim.lock:
            product = sim.items.get(product_id)
            if product is None:
                return _answer(12052048, f"Product {product_id} does not exist", status=404)
            if sim.pending_reads.get(product_id, 0) > 0:
                sim.pending_reads[product_id] -= 1
                return _answer(0, "Success", {**product, "status": "PENDING"})
            return _answer(0, "Success", product)

    @app.delete(PRODUCTS)
    async def delete(request: Request):
        body, error = await checked(request)
        if error:
            return error
        with sim.lock:
            for product_id in body.get("product_ids", []):
                sim.items.pop(product_id, None)
        return _answer(0, "Success", {})

    @app.post(PRODUCTS + "/search")
    async def search(request: Request):
        body, error = await checked(request)
        if error:
            return error
        wanted = set(body.get("seller_skus") or [])
        with sim.lock:
            products = [
                p
                for p in sim.items.values()
                if not wanted or any(sku.get("seller_sku") in wanted for sku in p["skus"])
            ]
        return _answer(0, "Success", {"products": products, "total_count": len(products)})

    return app
