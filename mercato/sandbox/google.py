"""Google Merchant API simulator: productInputs insert/delete, processed products.

As at Google, an insert is an upsert that checks only the request's shape; item-level
issues appear on the processed product (``productStatus.itemLevelIssues``), which shows
up later (``delay_verdicts``: that many reads answer 404 first).
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from mercato.catalog.text import is_valid_gtin
from mercato.sandbox.checks import link_ok
from mercato.sandbox.common import Simulator, control_router

FEED_LABEL = r"^[A-Z0-9_-]{1,20}$"
REQUIRED = ("title", "description", "link", "imageLink", "availability", "price")
AVAILABILITY = ("IN_STOCK", "OUT_OF_STOCK", "PREORDER", "BACKORDER", "LIMITED_AVAILABILITY")


def _error(status: int, code: str, message: str, retry_after: float | None = None):
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
    return JSONResponse(
        {"error": {"code": status, "message": message, "status": code}},
        status_code=status,
        headers=headers,
    )


def _fault(sim: Simulator) -> JSONResponse | None:
    kind = sim.request_fault()
    if kind == "expired_token":
        return _error(
            401,
            "UNAUTHENTICATED",
            "Request had invalid authentication credentials. Expected OAuth 2 access token.",
        )
    if kind == "429":
        return _error(429, "RESOURCE_EXHAUSTED", "Quota exceeded.", sim.retry_after)
    if kind == "500":
        return _error(503, "UNAVAILABLE", "The service is currently unavailable.")
    return None


def item_level_issues(attributes: dict) -> list[dict]:
    issues = []
    for name in REQUIRED:
        if attributes.get(name) in (None, "", []):
            issues.append(
                {
                    "code": "missing_required_attribute",
                    "severity": "DISAPPROVED",
                    "attribute": name,
                    "description": f"Missing value [{name}]",
                }
            )
    for name in ("link", "imageLink"):
        if attributes.get(name) and not link_ok(attributes[name]):
            issues.append(
                {
                    "code": "invalid_url",
                    "severity": "DISAPPROVED",
                    "attribute": name,
                    "description": f"Invalid URL [{name}]",
                }
            )
    for gtin in attributes.get("gtins") or []:
        if not is_valid_gtin(gtin):
            issues.append(
                {
                    "code": "invalid_gtin",
                    "severity": "DISAPPROVED",
                    "attribute": "gtins",
                    "description": f"Invalid GTIN [{gtin}]",
                }
            )
    if attributes.get("availability") not in (None, *AVAILABILITY):
        issues.append(
            {
                "code": "invalid_availability",
                "severity": "DISAPPROVED",
                "attribute": "availability",
                "description": "Invalid value",
            }
        )
    if (
        not attributes.get("gtins")
        and not attributes.get("mpn")
        and attributes.get("identifierExists") is not False
    ):
        issues.append(
            {
                "code": "missing_gtin",
                "severity": "NOT_IMPACTED",
                "attribute": "gtins",
                "description": "Missing product identifier",
            }
        )
    return issues


def create_app() -> FastAPI:
    import re

    app = FastAPI(title="Google Merchant API (simulator)")
    sim = Simulator()
    sim.reads_before_processed: dict[str, int] = {}
    app.state.sim = sim
    app.include_router(control_router(sim))
    prefix = "/products/v1/accounts/{account}"

    def name_of(body: dict) -> str:
        return f"{body['contentLanguage']}~{body['feedLabel']}~{body['offerId']}"

    @app.post(prefix + "/productInputs:insert")
    async def insert(account: str, request: Request, dataSource: str | None = None):  # noqa: N803
        if (fault := _fault(sim)) is not None:
            return fault
        if not request.headers.get("authorization"):
            return _error(401, "UNAUTHENTICATED", "Missing credentials.")
        body = await request.json()
        problems = [f for f in ("offerId", "contentLanguage", "feedLabel") if not body.get(f)]
        if not dataSource:
            problems.append("dataSource")
        if problems:
            return _error(
                400, "INVALID_ARGUMENT", f"Missing required field(s): {', '.join(problems)}"
            )
        if not re.match(FEED_LABEL, body["feedLabel"]):
            return _error(400, "INVALID_ARGUMENT", "Invalid feedLabel.")
        with sim.lock:
            sim.items_received += 1
            if not sim.take("drop"):
                name = name_of(body)
                sim.items[name] = {
                    "offerId": body["offerId"],
                    "name": name,
                    "productAttributes": body.get("productAttributes", {}),
                }
                sim.reads_before_processed[name] = sim.faults.pop("delay_verdicts", 0)
        return {
            **body,
            "name": f"accounts/{account}/productInputs/{name_of(body)}",
            "product": f"accounts/{account}/products/{name_of(body)}",
        }

    @app.delete(prefix + "/productInputs/{name}")
    def delete(account: str, name: str, dataSource: str | None = None):  # noqa: N803
        if (fault := _fault(sim)) is not None:
            return fault
        if not dataSource:
            return _error(400, "INVALID_ARGUMENT", "dataSource is required.")
        with sim.lock:
            sim.items_received += 1
            if sim.items.pop(name, None) is None:
                return _error(404, "NOT_FOUND", f"productInputs/{name} not found.")
        return {}

    def processed(account: str, item: dict) -> dict:
        issues = item_level_issues(item["productAttributes"])
        disapproved = any(i["severity"] == "DISAPPROVED" for i in issues)
        return {
            "name": f"accounts/{account}/products/{item['name']}",
            "offerId": item["offerId"],
            "productAttributes": item["productAttributes"],
            "productStatus": {
                "itemLevelIssues": issues,
                "destinationStatuses": [
                    {
                        "reportingContext": "SHOPPING_ADS",
                        "approvedCountries": [] if disapproved else ["US"],
                        "disapprovedCountries": ["US"] if disapproved else [],
                    }
                ],
            },
        }

    @app.get(prefix + "/products/{name}")
    def get_product(account: str, name: str):
        if (fault := _fault(sim)) is not None:
            return fault
        with sim.lock:
            item = sim.items.get(name)
            if item is not None and sim.reads_before_processed.get(name, 0) > 0:
                sim.reads_before_processed[name] -= 1
                item = None
        if item is None:
            return _error(404, "NOT_FOUND", f"products/{name} not found.")
        return processed(account, item)

    @app.get(prefix + "/products")
    def list_products(account: str, pageSize: int = 250, pageToken: str | None = None):  # noqa: N803
        if (fault := _fault(sim)) is not None:
            return fault
        with sim.lock:
            names = sorted(sim.items)
            start = int(pageToken or 0)
            page = [processed(account, sim.items[n]) for n in names[start : start + pageSize]]
        more = start + pageSize < len(names)
        return {"products": page, **({"nextPageToken": str(start + pageSize)} if more else {})}

    return app
