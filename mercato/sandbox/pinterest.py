"""Pinterest catalogs API v5 simulator: items/batch, batch status, items lookup, and the
product listing by product group filters (paged with ``page_size`` and ``bookmark``)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from mercato.db import new_id
from mercato.sandbox.checks import common_errors
from mercato.sandbox.common import Simulator, control_router

REQUIRED = ("title", "description", "link", "image_link", "price", "availability")
AVAILABILITY = ("in stock", "out of stock", "preorder")
OPERATIONS = ("CREATE", "UPDATE", "UPSERT", "DELETE", "DELETE_DISCONTINUED")
MAX_ITEMS = 1000
# Pinterest pagination: page_size defaults to 25, at most 250; a bookmark for the next page.
PAGE_SIZE, MAX_PAGE_SIZE = 25, 250


def _error(status: int, code: int, message: str, retry_after: float | None = None):
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
    return JSONResponse({"code": code, "message": message}, status_code=status, headers=headers)


def _fault(sim: Simulator):
    kind = sim.request_fault()
    if kind == "expired_token":
        return _error(401, 2, "Authentication failed.")
    if kind == "429":
        return _error(
            429, 8, "You have exceeded your rate limit. Try again later.", sim.retry_after
        )
    if kind == "500":
        return _error(500, 1, "Internal server error.")
    return None


def create_app() -> FastAPI:
    app = FastAPI(title="Pinterest catalogs API (simulator)")
    sim = Simulator()
    sim.batches: dict[str, dict[str, Any]] = {}
    app.state.sim = sim
    app.include_router(control_router(sim))

    @app.post("/v5/catalogs/items/batch")
    async def items_batch(request: Request):
        if (fault := _fault(sim)) is not None:
            return fault
        if not request.headers.get("authorization"):
            return _error(401, 2, "Authentication failed.")
        body = await request.json()
        operation, items = body.get("operation"), body.get("items") or []
        missing = [f for f in ("country", "language") if not body.get(f)]
        if missing or operation not in OPERATIONS:
            return _error(400, 1, f"Invalid request: {', '.join(missing) or 'operation'}")
        if len(items) > MAX_ITEMS:
            return _error(400, 1, f"At most {MAX_ITEMS} items per batch")
        results = []
        with sim.lock:
            drop = sim.take("drop")
            for entry in items:
                item_id = entry.get("item_id")
                sim.items_received += 1
                if operation in ("DELETE", "DELETE_DISCONTINUED"):
                    if operation == "DELETE":
                        sim.items.pop(item_id, None)
                    elif item_id in sim.items:
                        sim.items[item_id]["availability"] = "out of stock"
                    results.append({"item_id": item_id, "status": "SUCCESS", "errors": []})
                    continue
                attributes = entry.get("attributes") or {}
                existing = sim.items.get(item_id) if operation == "UPDATE" else None
                merged = {**(existing or {}), **attributes}
                errors = [
                    {"attribute": a, "code": 100, "message": m}
                    for a, m in common_errors(merged, REQUIRED, AVAILABILITY)
                ]
                if not item_id:
                    errors.append({"attribute": "item_id", "code": 100, "message": "required"})
                if not errors and not drop:
                    sim.items[item_id] = merged
                results.append(
                    {
                        "item_id": item_id,
                        "status": "FAILURE" if errors else "SUCCESS",
                        "errors": errors,
                        "warnings": [],
                    }
                )
            batch_id = new_id("batch")
            sim.batches[batch_id] = {
                "items": results,
                "polls_pending": sim.faults.pop("delay_verdicts", 0),
            }
        return {"batch_id": batch_id, "status": "PROCESSING"}

    @app.get("/v5/catalogs/items/batch/{batch_id}")
    def batch_status(batch_id: str):
        if (fault := _fault(sim)) is not None:
            return fault
        with sim.lock:
            batch = sim.batches.get(batch_id)
            if batch is None:
                return _error(404, 4, "Batch not found.")
            if batch["polls_pending"] > 0:
                batch["polls_pending"] -= 1
                return {"batch_id": batch_id, "status": "PROCESSING", "items": []}
        return {"batch_id": batch_id, "status": "COMPLETED", "items": batch["items"]}

    @app.get("/v5/catalogs/items")
    def get_items(country: str, language: str, item_ids: str):
        if (fault := _fault(sim)) is not None:
            return fault
        with sim.lock:
            found = [
                {"item_id": i, "attributes": sim.items[i]}
                for i in item_ids.split(",")
                if i in sim.items
            ]
        return {"items": found}

    @app.post("/v5/catalogs/products/get_by_product_group_filters")
    async def products_by_filters(
        request: Request, page_size: int = PAGE_SIZE, bookmark: str | None = None
    ):
        """Every product Pin of the catalog (the simulator takes empty filters as "all")."""
        if (fault := _fault(sim)) is not None:
            return fault
        if not request.headers.get("authorization"):
            return _error(401, 2, "Authentication failed.")
        body = await request.json()
        if "filters" not in body or not 1 <= page_size <= MAX_PAGE_SIZE:
            return _error(400, 1, "Invalid request: filters and a page_size of 1-250")
        with sim.lock:
            ids = sorted(sim.items)
            start = int(bookmark) if bookmark and bookmark.isdigit() else 0
            page = [
                {"metadata": {"item_id": i, **sim.items[i]}, "pin": {"id": f"pin-{i}"}}
                for i in ids[start : start + page_size]
            ]
        more = start + page_size < len(ids)
        return {"items": page, "bookmark": str(start + page_size) if more else None}

    @app.get("/v5/catalogs")
    def list_catalogs(request: Request):
        """The account's catalogs (one RETAIL catalog here)."""
        if (fault := _fault(sim)) is not None:
            return fault
        if not request.headers.get("authorization"):
            return _error(401, 2, "Authentication failed.")
        now = "2026-01-01T00:00:00"
        catalog = {"id": "864344156814050986", "name": "Sandbox catalog"}
        return {
            "items": [{**catalog, "catalog_type": "RETAIL", "created_at": now, "updated_at": now}],
            "bookmark": None,
        }

    @app.post("/v5/oauth/token")
    async def oauth_token(request: Request):
        """Token refresh (grant_type=refresh_token, app id and secret as Basic auth). The
        ``expired_token`` fault, queued twice, refuses the refresh too (a revoked grant)."""
        form = await request.form()
        basic = request.headers.get("authorization", "")
        if not basic.startswith("Basic ") or form.get("grant_type") != "refresh_token":
            return _error(401, 2, "Authentication failed.")
        if not form.get("refresh_token") or sim.take("expired_token"):
            return _error(400, 1, "Invalid refresh token.")
        return {
            "access_token": f"pina_{new_id('tok')}",
            "token_type": "bearer",
            "expires_in": 2592000,
            "scope": "catalogs:read,catalogs:write",
            "refresh_token": f"pinr_{new_id('tok')}",
            "refresh_token_expires_in": 5184000,
        }

    return app
