"""Meta catalog Graph API simulator: items_batch, check_batch_request_status, products,
product sets.

Like Meta (PLATFORMS.md §1.3):
- every call names a Graph version in its path; unknown and expired versions are refused;
- parameters, item fields and enum values are checked against the official SDK's lists
  (``contracts.meta``): an unknown field or a bad value is refused;
- a batch is accepted at once and judged asynchronously; its status carries only a
  *sample* of the errors, their total, and the ids of every invalid request only when
  asked with ``load_ids_of_invalid_requests=true``;
- token errors are OAuthException code 190.

Extra faults: ``batch_error`` (the next batch stops half way with status ``error``) and
``ids_late`` (the next finished status has errors but its id list is not loaded yet).
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Any

from babel.numbers import format_currency
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from mercato.db import new_id
from mercato.sandbox import ad_reports, conversions, localization
from mercato.sandbox.checks import common_errors
from mercato.sandbox.common import Simulator, control_router
from mercato.sandbox.contracts import meta as contract

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
AVAILABILITY = tuple(sorted(contract.ITEM._enum_data["Availability"]))
MAX_REQUESTS = 5000
# How many errors a batch status shows; the rest are only counted.
ERRORS_SAMPLE = 2
# Graph API versions and the day each stops working (None: not announced).
VERSIONS = {
    "v21.0": date(2027, 1, 21),
    "v22.0": date(2027, 5, 20),
    "v23.0": date(2027, 10, 8),
    "v24.0": date(2028, 2, 18),
    "v25.0": date(2028, 7, 29),
    "v26.0": None,
    "v27.0": None,
}


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


def _refused(messages: list[str]) -> JSONResponse:
    return _error(400, "; ".join(messages), 100, "GraphMethodException")


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


def _version_refused(version: str, today: date | None = None) -> JSONResponse | None:
    if version not in VERSIONS:
        return _error(400, f"Unknown path components: /{version}", 2500)
    ends = VERSIONS[version]
    if ends is not None and (today or date.today()) >= ends:
        return _error(400, f"(#2635) You are calling a deprecated version {version}.", 2635)
    return None


def item_errors(data: dict, existing: dict | None) -> list[str]:
    """What the catalog refuses of an item, once its fields passed the contract."""
    merged = {**(existing or {}), **data}
    errors = [message for _, message in common_errors(merged, REQUIRED, AVAILABILITY)]
    if not merged.get("gtin") and not (merged.get("brand") and merged.get("mpn")):
        errors.append("Missing product identifier: provide gtin, or mpn and brand")
    return errors


def read_item(retailer_id: str, item: dict, fields: list[str]) -> dict:
    """An item in the Graph read schema: ``name``, and ``price`` display-formatted with a
    separate ``currency`` (PLATFORMS.md §1.3)."""
    amount, _, currency = str(item.get("price") or "0 USD").partition(" ")
    shown = {
        "id": f"fb-{retailer_id}",
        "retailer_id": retailer_id,
        "name": item.get("title"),
        "description": item.get("description"),
        "availability": item.get("availability"),
        "currency": currency,
        "price": format_currency(Decimal(amount), currency, locale="en_US"),
        "inventory": item.get("inventory"),
        "review_status": item.get("review_status"),
    }
    if item.get("sale_price"):
        sale, _, _ = str(item["sale_price"]).partition(" ")
        shown["sale_price"] = format_currency(Decimal(sale), currency, locale="en_US")
    return {key: shown.get(key) for key in ["id", *fields] if key in shown}


def _matches(rule: dict, retailer_id: str) -> bool:
    """Does an item belong to a product set? Only rules on ``retailer_id`` are judged
    here (the ones Mercato sends); a set with any other rule holds nothing [I]."""
    if "and" in rule:
        return all(_matches(part, retailer_id) for part in rule["and"])
    if "or" in rule:
        return any(_matches(part, retailer_id) for part in rule["or"])
    condition = rule.get("retailer_id")
    if not condition:
        return False
    [(operator, operand)] = condition.items()
    if operator == "is_any":
        return retailer_id in operand
    if operator == "eq":
        return retailer_id == operand
    return False


def create_app() -> FastAPI:
    app = FastAPI(title="Meta catalog API (simulator)")
    sim = Simulator()
    sim.batches: dict[str, dict[str, Any]] = {}
    # Localized catalog overrides: (retailer id, LANGUAGE|COUNTRY, code) -> fields.
    sim.overrides: dict[tuple[str, str, str], dict[str, Any]] = {}
    # Conversions API events accepted: (pixel id, test_event_code, event).
    sim.conversions: list[dict[str, Any]] = []
    app.state.sim = sim
    app.include_router(control_router(sim))

    @app.get("/_sandbox/conversions")
    def accepted_conversions():
        with sim.lock:
            return {"events": list(sim.conversions)}

    # Ads Insights rows per ad account, as Meta reports them (numbers as strings).
    sim.insights: dict[str, list[dict[str, Any]]] = {}

    @app.put("/_sandbox/insights/{account_id}")
    def put_insights(account_id: str, rows: list[dict[str, Any]]):
        with sim.lock:
            sim.insights[account_id] = rows
        return {"rows": len(rows)}

    def turned_away(
        version: str, request: Request, body_token: str | None = None
    ) -> JSONResponse | None:
        """The answer to a call refused before it is read: a fault, the version, no token."""
        if (fault := _fault(sim)) is not None:
            return fault
        if (refused := _version_refused(version)) is not None:
            return refused
        if not (
            request.headers.get("authorization")
            or request.query_params.get("access_token")
            or body_token
        ):
            return _error(400, "An access token is required to request this resource.", 104)
        return None

    async def read_batch(
        version: str, request: Request, body_errors, request_errors
    ) -> tuple[dict, JSONResponse | None]:
        """A batch call's body, or the answer refusing it whole: a fault, the version, no
        token, a bad parameter, too many requests, or one request that breaks the
        contract (as a bad parameter fails the whole call)."""
        if (refused := turned_away(version, request)) is not None:
            return {}, refused
        body = await request.json()
        if isinstance(body.get("requests"), str):
            body["requests"] = json.loads(body["requests"])
        if problems := body_errors(body):
            return body, _refused(problems)
        if len(body["requests"]) > MAX_REQUESTS:
            return body, _refused([f"(#100) At most {MAX_REQUESTS} requests per batch"])
        for line, req in enumerate(body["requests"]):
            if problems := request_errors(req):
                return body, _refused([f"requests[{line}]: {p}" for p in problems])
        return body, None

    @app.post("/{version}/{catalog_id}/items_batch")
    async def items_batch(version: str, catalog_id: str, request: Request):
        body, refused = await read_batch(
            version, request, contract.batch_errors, contract.request_errors
        )
        if refused is not None:
            return refused
        requests = body["requests"]
        allow_upsert = body.get("allow_upsert", True)
        handle = new_id("handle")
        errors, invalid = [], []
        with sim.lock:
            drop = sim.take("drop")
            # An Error batch stops half way: the rest is neither saved nor reported.
            stop = len(requests) // 2 if sim.take("batch_error") else len(requests)
            for line, req in enumerate(requests[:stop]):
                data, method = req["data"], req["method"]
                retailer_id = data["id"]
                sim.items_received += 1
                if method == "DELETE":
                    sim.items.pop(retailer_id, None)
                    continue
                existing = sim.items.get(retailer_id)
                if method == "UPDATE" and existing is None and not allow_upsert:
                    problems = ["Item does not exist and allow_upsert is false"]
                elif method == "CREATE" and existing is not None:
                    problems = ["An item with this id exists already"]
                else:
                    problems = item_errors(data, existing if method == "UPDATE" else None)
                if problems:
                    invalid.append(retailer_id)
                    errors += [
                        {"line": line, "id": retailer_id, "message": message}
                        for message in problems
                    ]
                    continue
                if drop:
                    continue  # accepted, then silently lost: drift
                sim.items[retailer_id] = {**(existing or {}), **data, "review_status": "approved"}
            sim.batches[handle] = {
                "status": "finished" if stop == len(requests) else "error",
                "errors": errors,
                "invalid": invalid,
                "polls_pending": sim.faults.pop("delay_verdicts", 0),
                "ids_late": sim.take("ids_late"),
            }
        return {"handles": [handle], "validation_status": []}

    @app.post("/{version}/{catalog_id}/localized_items_batch")
    async def localized_items_batch(version: str, catalog_id: str, request: Request):
        """Language and country overrides of existing items (docs/platforms/meta.md
        "Localized catalog"): an override of an item the catalog lacks, an unknown
        language or country, or a price in a language override is refused, item by item."""
        body, refused = await read_batch(
            version, request, contract.localized_batch_errors, localization.request_errors
        )
        if refused is not None:
            return refused
        requests = body["requests"]
        handle = new_id("handle")
        errors, invalid = [], []
        with sim.lock:
            for line, req in enumerate(requests):
                data, where = req["data"], req["localization"]
                retailer_id = data["id"]
                sim.items_received += 1
                problems = localization.override_errors(where, data, retailer_id in sim.items)
                if problems:
                    if retailer_id not in invalid:
                        invalid.append(retailer_id)
                    errors += [
                        {"line": line, "id": retailer_id, "message": message}
                        for message in problems
                    ]
                    continue
                key = (retailer_id, where["type"], where["value"])
                if req["method"] == "DELETE":
                    sim.overrides.pop(key, None)
                else:
                    sim.overrides[key] = {**sim.overrides.get(key, {}), **data}
            sim.batches[handle] = {
                "status": "finished",
                "errors": errors,
                "invalid": invalid,
                "polls_pending": sim.faults.pop("delay_verdicts", 0),
                "ids_late": False,
            }
        return {"handles": [handle], "validation_status": []}

    @app.get("/_sandbox/overrides")
    def overrides():
        with sim.lock:
            return {
                "overrides": [
                    {"id": rid, "type": kind, "key": value, "values": data}
                    for (rid, kind, value), data in sorted(sim.overrides.items())
                ]
            }

    @app.get("/{version}/{item_id}/override_details")
    def override_details(version: str, item_id: str, request: Request, keys: str = ""):
        """An item's overrides, as Meta's Overrides API lists them."""
        if (refused := turned_away(version, request)) is not None:
            return refused
        retailer_id = item_id.removeprefix("fb-")
        wanted = {k for k in keys.split(",") if k}
        with sim.lock:
            if retailer_id not in sim.items:
                return _error(400, f"Object with ID '{item_id}' does not exist", 100)
            found = [
                {"type": kind.lower(), "key": value, "values": data}
                for (rid, kind, value), data in sorted(sim.overrides.items())
                if rid == retailer_id and (not wanted or value in wanted)
            ]
        return {"override_details": found}

    @app.get("/{version}/{catalog_id}/check_batch_request_status")
    def check_batch_request_status(version: str, catalog_id: str, request: Request):
        if (refused := turned_away(version, request)) is not None:
            return refused
        params = dict(request.query_params)
        if problems := contract.status_query_errors(params):
            return _refused(problems)
        handle = params["handle"]
        with sim.lock:
            batch = sim.batches.get(handle)
            if batch is None:
                return _refused([f"(#100) Invalid handle {handle}"])
            if batch["polls_pending"] > 0:
                batch["polls_pending"] -= 1
                status = {"handle": handle, "status": "started", "errors": [], "warnings": []}
                return {"data": [{**status, "errors_total_count": 0, "warnings_total_count": 0}]}
            ids_late, batch["ids_late"] = batch["ids_late"], False
        wanted = params.get("load_ids_of_invalid_requests") in ("true", "1")
        return {
            "data": [
                {
                    "handle": handle,
                    "status": batch["status"],
                    "errors": batch["errors"][:ERRORS_SAMPLE],
                    "errors_total_count": len(batch["errors"]),
                    "warnings": [],
                    "warnings_total_count": 0,
                    "ids_of_invalid_requests": batch["invalid"] if wanted and not ids_late else [],
                }
            ]
        }

    @app.get("/{version}/{catalog_id}")
    def catalog(version: str, catalog_id: str, request: Request, fields: str = "id"):
        if (refused := turned_away(version, request)) is not None:
            return refused
        wanted = [f for f in fields.split(",") if f]
        unknown = [f for f in wanted if f not in contract.CATALOG_FIELDS]
        if unknown:
            return _refused([f"(#100) Tried accessing nonexisting field ({unknown[0]})"])
        shown = {"id": catalog_id, "name": f"Catalog {catalog_id}", "vertical": "commerce"}
        return {key: shown.get(key) for key in ["id", *wanted] if key in shown}

    # Product sets: {id: {"catalog_id", "name", "filter"}} (PLATFORMS.md §1.3).
    sim.product_sets: dict[str, dict[str, Any]] = {}

    async def _params(request: Request) -> dict[str, Any]:
        if request.headers.get("content-type", "").startswith("application/json"):
            return await request.json()
        return dict(await request.form())

    @app.post("/{version}/{catalog_id}/product_sets")
    async def create_product_set(version: str, catalog_id: str, request: Request):
        if (refused := turned_away(version, request)) is not None:
            return refused
        params = await _params(request)
        if problems := contract.product_set_errors(params, creating=True):
            return _refused(problems)
        with sim.lock:
            set_id = str(10**15 + len(sim.product_sets) + 1)
            sim.product_sets[set_id] = {
                "catalog_id": catalog_id,
                "name": params["name"],
                "filter": json.loads(params.get("filter") or "{}"),
            }
        return {"id": set_id}

    def _no_such_node(method: str, node_id: str) -> JSONResponse:
        return _error(
            400,
            f"Unsupported {method} request. Object with ID '{node_id}' does not exist, cannot "
            "be loaded due to missing permissions, or does not support this operation.",
            100,
            "GraphMethodException",
            error_subcode=33,
        )

    # Graph object ids are numeric: other paths stay the simulator's own (404).
    @app.post("/{version}/{node:int}")
    async def update_node(version: str, node: int, request: Request):
        node_id = str(node)
        if (refused := turned_away(version, request)) is not None:
            return refused
        params = await _params(request)
        with sim.lock:
            product_set = sim.product_sets.get(node_id)
            if product_set is None:
                return _no_such_node("post", node_id)
            if problems := contract.product_set_errors(params, creating=False):
                return _refused(problems)
            if "name" in params:
                product_set["name"] = params["name"]
            if "filter" in params:
                product_set["filter"] = json.loads(params["filter"])
        return {"success": True}

    @app.delete("/{version}/{node:int}")
    def delete_node(version: str, node: int, request: Request):
        node_id = str(node)
        if (refused := turned_away(version, request)) is not None:
            return refused
        with sim.lock:
            if sim.product_sets.pop(node_id, None) is None:
                return _no_such_node("delete", node_id)
        return {"success": True}

    @app.get("/{version}/{catalog_id}/products")
    def products(
        version: str,
        catalog_id: str,
        request: Request,
        fields: str = "id",
        limit: int = 1000,
        after: str | None = None,
    ):
        """The catalog's items, or a product set's (its id in place of the catalog's)."""
        if (refused := turned_away(version, request)) is not None:
            return refused
        wanted = [f for f in fields.split(",") if f]
        unknown = [f for f in wanted if f not in contract.READ_FIELDS]
        if unknown:
            return _refused([f"(#100) Tried accessing nonexisting field ({unknown[0]})"])
        with sim.lock:
            in_set = sim.product_sets.get(catalog_id)
            ids = sorted(
                rid for rid in sim.items if in_set is None or _matches(in_set["filter"], rid)
            )
            start = ids.index(after) + 1 if after in sim.items else 0
            page = ids[start : start + limit]
            data = [read_item(rid, sim.items[rid], wanted) for rid in page]
        paging = {"cursors": {"after": page[-1]}} if start + limit < len(ids) and page else {}
        return {"data": data, "paging": paging}

    @app.get("/{version}/act_{account_id}/insights")
    async def insights(version: str, account_id: str, request: Request):
        """Ads Insights of an ad account (docs/platforms/meta.md "Ads Insights")."""
        if (refused := turned_away(version, request)) is not None:
            return refused
        query = dict(request.query_params)
        if problems := ad_reports.meta_refusals(query):
            return _refused(problems)
        with sim.lock:
            rows = sim.insights.get(account_id)
        if rows is None:
            return _error(
                400,
                f"Unsupported get request. Object with ID 'act_{account_id}' does not exist",
                100,
                "GraphMethodException",
            )
        return ad_reports.meta_page(rows, query)

    @app.post("/{version}/{pixel_id}/events")
    async def events(version: str, pixel_id: str, request: Request):
        """Conversions API (PLATFORMS.md §1.7): one bad event refuses the whole request."""
        body = await request.json()
        token = body.get("access_token") if isinstance(body, dict) else None
        if (refused := turned_away(version, request, token)) is not None:
            return refused
        problems = conversions.meta_errors(body)
        if problems:
            return _error(400, "Invalid parameter", 100, error_user_msg="; ".join(problems))
        with sim.lock:
            for event in body["data"]:
                sim.conversions.append(
                    {
                        "pixel_id": pixel_id,
                        "test_event_code": body.get("test_event_code"),
                        "event": event,
                    }
                )
        return {"events_received": len(body["data"]), "messages": [], "fbtrace_id": new_id("fbt")}

    return app
