"""Meta catalog Graph API simulator: items_batch, check_batch_request_status, products.

Like Meta, a batch is accepted at once and judged asynchronously: per-item errors appear
in the batch status. Token errors are OAuthException code 190.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from mercato.db import new_id
from mercato.sandbox.checks import common_errors
from mercato.sandbox.common import Simulator, control_router

REQUIRED = (
    "id",
    "title",
    "description",
    "availability",
    "condition",
    "price",
    "link",
    "image_link",
)
AVAILABILITY = (
    "in stock",
    "out of stock",
    "preorder",
    "available for order",
    "discontinued",
    "pending",
    "mark_as_sold",
    "mark_as_expired",
)
MAX_REQUESTS = 5000


def _error(
    status: int,
    message: str,
    code: int,
    type_: str = "OAuthException",
    retry_after: float | None = None,
    **extra,
) -> JSONResponse:
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
    return JSONResponse(
        {
            "error": {
                "message": message,
                "type": type_,
                "code": code,
                "fbtrace_id": new_id("fbt"),
                **extra,
            }
        },
        status_code=status,
        headers=headers,
    )


def _fault(sim: Simulator) -> JSONResponse | None:
    kind = sim.request_fault()
    if kind == "expired_token":
        return _error(
            401, "Error validating access token: Session has expired.", 190, error_subcode=463
        )
    if kind == "429":
        return _error(
            429,
            "(#80014) There have been too many calls for this catalog.",
            80014,
            retry_after=sim.retry_after,
        )
    if kind == "500":
        return _error(
            500,
            "An unexpected error has occurred. Please retry your request later.",
            2,
            is_transient=True,
        )
    return None


def item_errors(data: dict, existing: dict | None) -> list[str]:
    merged = {**(existing or {}), **data}
    errors = [message for _, message in common_errors(merged, REQUIRED, AVAILABILITY)]
    if not merged.get("gtin") and not (merged.get("brand") and merged.get("mpn")):
        errors.append("Missing product identifier: provide gtin, or mpn and brand")
    return errors


def create_app() -> FastAPI:
    app = FastAPI(title="Meta catalog API (simulator)")
    sim = Simulator()
    sim.batches: dict[str, dict[str, Any]] = {}
    app.state.sim = sim
    app.include_router(control_router(sim))

    def authorized(request: Request) -> bool:
        return bool(
            request.headers.get("authorization") or request.query_params.get("access_token")
        )

    @app.post("/{catalog_id}/items_batch")
    async def items_batch(catalog_id: str, request: Request):
        if (fault := _fault(sim)) is not None:
            return fault
        if not authorized(request):
            return _error(400, "An access token is required to request this resource.", 104)
        body = await request.json()
        requests = body.get("requests")
        if isinstance(requests, str):
            requests = json.loads(requests)
        if body.get("item_type") != "PRODUCT_ITEM" or not isinstance(requests, list):
            return _error(
                400,
                "(#100) item_type must be PRODUCT_ITEM and requests a list",
                100,
                "GraphMethodException",
            )
        if len(requests) > MAX_REQUESTS:
            return _error(
                400,
                f"(#100) At most {MAX_REQUESTS} requests per batch",
                100,
                "GraphMethodException",
            )
        allow_upsert = body.get("allow_upsert", True)
        handle = new_id("handle")
        errors, invalid, validation_status = [], [], []
        with sim.lock:
            drop = sim.take("drop")
            for line, req in enumerate(requests):
                data = req.get("data") or {}
                retailer_id = data.get("id")
                method = req.get("method")
                if not retailer_id or method not in ("CREATE", "UPDATE", "DELETE"):
                    validation_status.append(
                        {
                            "retailer_id": retailer_id,
                            "errors": [{"message": "Each request needs a method and data.id"}],
                        }
                    )
                    continue
                sim.items_received += 1
                if method == "DELETE":
                    sim.items.pop(retailer_id, None)
                    continue
                existing = sim.items.get(retailer_id)
                if method == "UPDATE" and existing is None and not allow_upsert:
                    problems = ["Item does not exist and allow_upsert is false"]
                else:
                    problems = item_errors(data, existing if method == "UPDATE" else None)
                if problems:
                    invalid.append(retailer_id)
                    errors += [
                        {"line": line, "retailer_id": retailer_id, "message": message}
                        for message in problems
                    ]
                    continue
                if drop:
                    continue  # accepted, then silently lost: drift
                sim.items[retailer_id] = {**(existing or {}), **data, "review_status": "approved"}
            sim.batches[handle] = {
                "errors": errors,
                "invalid": invalid,
                "polls_pending": sim.faults.pop("delay_verdicts", 0),
            }
        return {"handles": [handle], "validation_status": validation_status}

    @app.get("/{catalog_id}/check_batch_request_status")
    def check_batch_request_status(catalog_id: str, handle: str, request: Request):
        if (fault := _fault(sim)) is not None:
            return fault
        with sim.lock:
            batch = sim.batches.get(handle)
            if batch is None:
                return _error(400, f"(#100) Invalid handle {handle}", 100, "GraphMethodException")
            if batch["polls_pending"] > 0:
                batch["polls_pending"] -= 1
                return {
                    "data": [
                        {
                            "handle": handle,
                            "status": "in_progress",
                            "errors": [],
                            "errors_total_count": 0,
                            "warnings": [],
                            "warnings_total_count": 0,
                        }
                    ]
                }
        ids = batch["invalid"] if request.query_params.get("load_ids_of_invalid_requests") else None
        return {
            "data": [
                {
                    "handle": handle,
                    "status": "finished",
                    "errors": batch["errors"],
                    "errors_total_count": len(batch["errors"]),
                    "warnings": [],
                    "warnings_total_count": 0,
                    "ids_of_invalid_requests": ids,
                }
            ]
        }

    @app.get("/{catalog_id}/products")
    def products(catalog_id: str, limit: int = 1000, after: str | None = None):
        if (fault := _fault(sim)) is not None:
            return fault
        with sim.lock:
            ids = sorted(sim.items)
            start = ids.index(after) + 1 if after in sim.items else 0
            page = ids[start : start + limit]
            data = [{"retailer_id": rid, **sim.items[rid]} for rid in page]
        paging = {"cursors": {"after": page[-1]}} if start + limit < len(ids) and page else {}
        return {"data": data, "paging": paging}

    return app
