"""Pinterest catalogs API v5 simulator: items batch, batch status, the item lookup,
catalogs and feeds.

Every request is checked against Pinterest's own OpenAPI description
(``contracts.pinterest``) and refused with Pinterest's 400 when it breaks it; every
response is checked too (a response that breaks it is a simulator bug: 500). Like
Pinterest (PLATFORMS.md §4):
- a batch is judged asynchronously: PROCESSING, then COMPLETED or FAILED, with a record
  per item (SUCCESS, or FAILURE with its errors);
- UPSERT is refused once the catalog has a feed data source (``POST /v5/catalogs/feeds``);
- items are read back by id through ``POST /v5/catalogs/items``; there is no order API.

Extra fault: ``batch_failed`` (the next batch ends FAILED with records for only the first
half of its items).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from mercato.db import new_id
from mercato.sandbox import ad_reports, conversions
from mercato.sandbox.checks import common_errors
from mercato.sandbox.common import Simulator, control_router
from mercato.sandbox.contracts import pinterest as contract

REQUIRED = ("title", "description", "link", "image_link", "price", "availability")
AVAILABILITY = ("in stock", "out of stock", "preorder")
CATALOG_ID = "2680059592705"
FEED_REFUSES_UPSERT = (
    "UPSERT is not available for a catalog with a feed data source: update it through "
    "the feed, or ask Pinterest to move the catalog to the API"
)


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


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


def _shown(attributes: dict) -> dict:
    """Stored attributes as ``ItemAttributes``: ``image_link`` is always an array."""
    image = attributes.get("image_link")
    return {**attributes, "image_link": [image] if isinstance(image, str) else image}


def create_app() -> FastAPI:
    app = FastAPI(title="Pinterest catalogs API (simulator)")
    sim = Simulator()
    sim.batches: dict[str, dict[str, Any]] = {}
    sim.feeds: list[dict[str, Any]] = []
    # Conversions API events recorded: (ad account, event); ``?test=true`` records none.
    sim.conversions: list[dict[str, Any]] = []
    app.state.sim = sim
    app.include_router(control_router(sim))

    @app.get("/_sandbox/conversions")
    def accepted_conversions():
        with sim.lock:
            return {"events": list(sim.conversions)}

    # Ad accounts: {"currency", "name", "campaigns": {id: name}, "rows": analytics rows}.
    sim.ad_accounts: dict[str, dict[str, Any]] = {}

    @app.put("/_sandbox/ad_accounts/{ad_account_id}")
    def put_ad_account(ad_account_id: str, account: dict[str, Any]):
        with sim.lock:
            sim.ad_accounts[ad_account_id] = account
        return account

    async def admitted(request: Request) -> tuple[Any, JSONResponse | None]:
        """The request's JSON body, or the answer refusing it (fault, token, contract)."""
        if (fault := _fault(sim)) is not None:
            return None, fault
        if not request.headers.get("authorization", "").startswith("Bearer "):
            return None, _error(401, 2, "Authentication failed.")
        raw = await request.body()
        body = None
        if raw:
            try:
                body = await request.json()
            except ValueError:
                return None, _error(400, 1, "Invalid request: the body is not JSON")
        path = request.url.path.removeprefix(request.scope.get("root_path", ""))
        problems = contract.request_errors(
            request.method, path, request.query_params.multi_items(), body
        )
        if problems:
            return None, _error(400, 1, f"Invalid request: {body} ({'; '.join(problems)})")
        return body, None

    def answer(request: Request, content: dict | list, body=None, status: int = 200):
        path = request.url.path.removeprefix(request.scope.get("root_path", ""))
        problems = contract.response_errors(
            request.method, path, status, content, request.query_params.multi_items(), body
        )
        if problems:
            raise RuntimeError(f"the simulator broke Pinterest's contract: {problems}")
        return JSONResponse(content, status_code=status)

    def batch_view(batch_id: str, batch: dict) -> dict:
        return {
            "catalog_type": "RETAIL",
            "batch_id": batch_id,
            "created_time": batch["created_time"],
            "completed_time": batch.get("completed_time"),
            "status": batch["status"],
            "items": batch["items"] if batch["status"] != "PROCESSING" else [],
        }

    @app.post("/v5/catalogs/items/batch")
    async def items_batch(request: Request):
        body, refused = await admitted(request)
        if refused is not None:
            return refused
        items = body["items"]
        if sim.feeds and any(entry["operation"] == "UPSERT" for entry in items):
            return _error(400, 1, FEED_REFUSES_UPSERT)
        records = []
        with sim.lock:
            drop = sim.take("drop")
            stop = len(items) // 2 if sim.take("batch_failed") else len(items)
            for entry in items[:stop]:
                item_id, operation = entry["item_id"], entry["operation"]
                sim.items_received += 1
                existing = sim.items.get(item_id)
                errors = []
                if operation == "DELETE":
                    sim.items.pop(item_id, None)
                elif operation == "CREATE" and existing is not None:
                    errors.append(("item_id", "An item with this id exists already"))
                elif operation == "UPDATE" and existing is None:
                    errors.append(("item_id", "No item with this id to update"))
                else:
                    base = existing if operation == "UPDATE" else {}
                    merged = {**(base or {}), **entry["attributes"]}
                    errors = common_errors(merged, REQUIRED, AVAILABILITY)
                    if not errors and not drop:
                        sim.items[item_id] = merged
                records.append(
                    {
                        "item_id": item_id,
                        "status": "FAILURE" if errors else "SUCCESS",
                        "errors": [{"attribute": a, "code": 100, "message": m} for a, m in errors],
                        "warnings": [],
                    }
                )
            batch_id = uuid.uuid4().hex  # the path parameter is alphanumeric
            failed = stop < len(items) or all(r["status"] == "FAILURE" for r in records)
            sim.batches[batch_id] = {
                "created_time": _now(),
                "completed_time": _now(),
                "final": "FAILED" if failed else "COMPLETED",
                "status": "PROCESSING",
                "items": records,
                "polls_pending": sim.faults.pop("delay_verdicts", 0),
            }
            view = batch_view(batch_id, {**sim.batches[batch_id], "completed_time": None})
        return answer(request, view, body)

    @app.get("/v5/catalogs/items/batch/{batch_id}")
    async def batch_status(batch_id: str, request: Request):
        _, refused = await admitted(request)
        if refused is not None:
            return refused
        with sim.lock:
            batch = sim.batches.get(batch_id)
            if batch is None:
                return _error(404, 4331, "Sorry! We could not find your batch ID.")
            if batch["polls_pending"] > 0:
                batch["polls_pending"] -= 1
            else:
                batch["status"] = batch["final"]
            view = batch_view(
                batch_id,
                batch if batch["status"] != "PROCESSING" else {**batch, "completed_time": None},
            )
        return answer(request, view)

    @app.post("/v5/catalogs/items")
    async def get_items(request: Request):
        body, refused = await admitted(request)
        if refused is not None:
            return refused
        found = []
        with sim.lock:
            for item_id in body["filters"]["item_ids"]:
                if item_id in sim.items:
                    found.append(
                        {
                            "catalog_type": "RETAIL",
                            "item_id": item_id,
                            "attributes": _shown(sim.items[item_id]),
                            "pins": [],
                        }
                    )
                else:
                    message = f"Item {item_id} was not found in the catalog"
                    found.append(
                        {
                            "catalog_type": "RETAIL",
                            "item_id": item_id,
                            "errors": [{"attribute": "item_id", "code": 4, "message": message}],
                        }
                    )
        return answer(request, {"items": found}, body)

    @app.get("/v5/catalogs")
    async def catalogs(request: Request):
        _, refused = await admitted(request)
        if refused is not None:
            return refused
        stamp = "2026-01-01T00:00:00Z"
        catalog = {"id": CATALOG_ID, "name": "Sandbox catalog", "catalog_type": "RETAIL"}
        content = {"items": [{**catalog, "created_at": stamp, "updated_at": stamp}]}
        return answer(request, {**content, "bookmark": None})

    @app.post("/v5/catalogs/feeds")
    async def create_feed(request: Request):
        """A feed data source: from now on the catalog refuses API upserts."""
        body, refused = await admitted(request)
        if refused is not None:
            return refused
        stamp = _now()
        feed = {
            "id": str(len(sim.feeds) + 1),
            "created_at": stamp,
            "updated_at": stamp,
            "catalog_type": "RETAIL",
            "credentials": body.get("credentials"),
            "default_availability": body.get("default_availability"),
            "default_country": body["default_country"],
            "default_currency": body.get("default_currency"),
            "default_locale": body["default_locale"],
            "format": body["format"],
            "location": body["location"],
            "name": body["name"],
            "preferred_processing_schedule": body.get("preferred_processing_schedule"),
            "status": "ACTIVE",
        }
        with sim.lock:
            sim.feeds.append(feed)
        return answer(request, feed, body, status=201)

    @app.get("/v5/catalogs/feeds")
    async def list_feeds(request: Request):
        _, refused = await admitted(request)
        if refused is not None:
            return refused
        with sim.lock:
            content = {"items": list(sim.feeds), "bookmark": None}
        return answer(request, content)

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
        content = {
            "access_token": f"pina_{new_id('tok')}",
            "token_type": "bearer",
            "expires_in": 2592000,
            "scope": "catalogs:read,catalogs:write",
            "refresh_token": f"pinr_{new_id('tok')}",
            "refresh_token_expires_in": 5184000,
        }
        return answer(request, content)

    async def ad_account(ad_account_id: str, request: Request) -> tuple[dict, JSONResponse | None]:
        """The simulated ad account, or the answer refusing the request."""
        _, refused = await admitted(request)
        if refused is not None:
            return {}, refused
        with sim.lock:
            account = sim.ad_accounts.get(ad_account_id)
        if account is None:
            return {}, _error(404, 2903, "Ad account not found.")
        return account, None

    @app.get("/v5/ad_accounts/{ad_account_id}")
    async def get_ad_account(ad_account_id: str, request: Request):
        account, refused = await ad_account(ad_account_id, request)
        if refused is not None:
            return refused
        shown = {
            "id": ad_account_id,
            "name": account.get("name", ""),
            "currency": account["currency"],
        }
        return answer(request, shown)

    @app.get("/v5/ad_accounts/{ad_account_id}/campaigns")
    async def list_campaigns(ad_account_id: str, request: Request):
        account, refused = await ad_account(ad_account_id, request)
        if refused is not None:
            return refused
        campaigns = sorted(account.get("campaigns", {}).items())
        size = int(request.query_params.get("page_size", 25))
        start = int(request.query_params.get("bookmark") or 0)
        page = campaigns[start : start + size]
        more = start + size < len(campaigns)
        items = [{"id": cid, "name": name, "ad_account_id": ad_account_id} for cid, name in page]
        return answer(request, {"items": items, "bookmark": str(start + size) if more else None})

    @app.get("/v5/ad_accounts/{ad_account_id}/campaigns/analytics")
    async def campaign_analytics(ad_account_id: str, request: Request):
        account, refused = await ad_account(ad_account_id, request)
        if refused is not None:
            return refused
        query = request.query_params.multi_items()
        if problems := ad_reports.pinterest_refusals(dict(query), datetime.now(UTC).date()):
            return _error(400, 1, f"Invalid request: {'; '.join(problems)}")
        return answer(request, ad_reports.pinterest_rows(account.get("rows", []), query))

    @app.post("/v5/ad_accounts/{ad_account_id}/events")
    async def conversion_events(ad_account_id: str, request: Request):
        """Conversions API (PLATFORMS.md §4.7): the body is checked against
        ``ConversionEvents`` by ``admitted``, then the documented names and hashes."""
        body, refused = await admitted(request)
        if refused is not None:
            return refused
        problems = conversions.pinterest_errors(body)
        if problems:
            return _error(400, 4196, f"The request was invalid: {'; '.join(problems)}")
        test = request.query_params.get("test") == "true"
        with sim.lock:
            if not test:
                sim.conversions.extend(
                    {"ad_account_id": ad_account_id, "event": event} for event in body["data"]
                )
        received = len(body["data"])
        content = {
            "num_events_received": received,
            "num_events_processed": received,
            "events": [{"status": "processed", "error_message": None, "warning_message": None}]
            * received,
        }
        return answer(request, content, body)

    return app
