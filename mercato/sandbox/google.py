"""Google Merchant API simulator (docs/platforms/google.md): an OAuth token endpoint,
productInputs insert/delete, processed products, data sources.

Bodies go through the official ``google-shopping-merchant-products`` message types both
ways, as at Google: an insert with an unknown field (v1beta's ``attributes``) or a bad enum
value is refused with 400 INVALID_ARGUMENT, and responses leave out empty fields (a product
with no issues has no ``itemLevelIssues``). Product names are taken plain or as unpadded
base64url. Insert is an upsert that checks only the request's shape; item-level issues
appear on the processed product, which shows up later (``delay_verdicts``: that many reads
answer 404 first; ``in_review``: that many reads list the country as pending only).

Faults beyond the common ones: ``revoked`` (the grant behind the current tokens is revoked:
the next call is refused and so is every refresh with it), ``unregistered`` (the calling
GCP project is not registered with the account) and ``forbidden`` (no access to it).
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import time

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from google.protobuf.json_format import ParseError
from google.shopping import merchant_products_v1 as merchant

from mercato.catalog.text import is_valid_gtin
from mercato.sandbox import localization
from mercato.sandbox.checks import link_ok
from mercato.sandbox.common import Simulator, control_router

SCOPE = "https://www.googleapis.com/auth/content"
TOKEN_SECONDS = 3599
FEED_LABEL = r"^[A-Z0-9_-]{1,20}$"
REQUIRED = ("title", "description", "link", "imageLink", "availability", "price")
PROJECT = ("mercato-sandbox", "123456789012")


def _error(status: int, code: str, message: str, retry_after: float | None = None):
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
    return JSONResponse(
        {"error": {"code": status, "message": message, "status": code}},
        status_code=status,
        headers=headers,
    )


def _unauthenticated() -> JSONResponse:
    return _error(
        401,
        "UNAUTHENTICATED",
        "Request had invalid authentication credentials. Expected OAuth 2 access token, "
        "login cookie or other valid authentication credential.",
    )


def _json(message, cls) -> dict:
    """A message as Google's JSON: enum names, empty fields left out."""
    return json.loads(
        cls.to_json(
            message,
            use_integers_for_enums=False,
            always_print_fields_with_no_presence=False,
            indent=0,
        )
    )


def encode_name(plain: str) -> str:
    return base64.urlsafe_b64encode(plain.encode()).decode().rstrip("=")


def decode_name(segment: str) -> str | None:
    """The plain name of a `{product}` segment; a segment without `~` is base64url."""
    if "~" in segment:
        return segment
    try:
        plain = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    return plain if plain.count("~") >= 2 else None


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


class GoogleSimulator(Simulator):
    def __init__(self):
        super().__init__()
        # access token -> (expiry, grant it was minted from)
        self.tokens: dict[str, tuple[float, str]] = {}
        self.revoked_grants: set[str] = set()
        self.token_requests = 0
        # data source id -> {input, feedLabel, contentLanguage}; one never declared through
        # the control route is an API source that takes any label and language.
        self.data_sources: dict[str, dict] = {}
        self.reads_before_processed: dict[str, int] = {}
        self.reads_in_review: dict[str, int] = {}


def create_app() -> FastAPI:
    app = FastAPI(title="Google Merchant API (simulator)")
    sim = GoogleSimulator()
    app.state.sim = sim
    app.include_router(control_router(sim))
    prefix = "/products/v1/accounts/{account}"

    @app.put("/_sandbox/data_sources/{data_source}")
    def set_data_source(data_source: str, body: dict):
        """Declare a data source: its input (API, FILE, UI, AUTOFEED) and, optionally, the
        feedLabel and contentLanguage it is limited to."""
        sim.data_sources[data_source] = {"input": "API", **body}
        return {"dataSource": data_source, **sim.data_sources[data_source]}

    def source(data_source: str) -> dict:
        return sim.data_sources.get(data_source, {"input": "API"})

    @app.post("/_sandbox/expire_tokens")
    def expire_tokens():
        """Every access token minted so far expires now (the hour has passed)."""
        with sim.lock:
            sim.tokens.clear()
        return {"expired": True}

    # ------------------------------------------------------------ OAuth 2 token endpoint

    @app.post("/token")
    async def token(request: Request):
        form = await request.form()
        with sim.lock:
            sim.token_requests += 1
        grant_type = form.get("grant_type")
        if grant_type == "refresh_token":
            if not all(form.get(k) for k in ("client_id", "client_secret", "refresh_token")):
                return _oauth_error("invalid_request", "Missing required parameter.")
            grant = f"refresh:{form['refresh_token']}"
            scope = form.get("scope") or SCOPE
        elif grant_type == "urn:ietf:params:oauth:grant-type:jwt-bearer":
            claims = _jwt_claims(form.get("assertion") or "")
            if claims is None or not claims.get("iss"):
                return _oauth_error("invalid_grant", "Invalid JWT: malformed assertion.")
            if claims.get("exp", 0) < time.time():
                return _oauth_error(
                    "invalid_grant", "Invalid JWT: Token must be a short-lived token."
                )
            grant = f"sa:{claims['iss']}"
            scope = claims.get("scope", "")
        else:
            return _oauth_error("unsupported_grant_type", "Invalid grant_type.")
        if SCOPE not in str(scope).split():
            return _oauth_error("invalid_scope", f"The content scope {SCOPE} was not requested.")
        with sim.lock:
            if grant in sim.revoked_grants:
                return _oauth_error("invalid_grant", "Token has been expired or revoked.")
            access = f"ya29.sim-{secrets.token_urlsafe(16)}"
            sim.tokens[access] = (time.time() + TOKEN_SECONDS, grant)
        return {
            "access_token": access,
            "expires_in": TOKEN_SECONDS,
            "scope": SCOPE,
            "token_type": "Bearer",
        }

    def refused(request: Request) -> JSONResponse | None:
        """The transport faults, then the caller's token, registration and access."""
        kind = sim.request_fault()
        if kind == "expired_token":
            return _unauthenticated()
        if kind == "429":
            return _error(429, "RESOURCE_EXHAUSTED", "Quota exceeded.", sim.retry_after)
        if kind == "500":
            return _error(503, "UNAVAILABLE", "The service is currently unavailable.")
        header = request.headers.get("authorization", "")
        access = header.removeprefix("Bearer ")
        with sim.lock:
            minted = sim.tokens.get(access) if header.startswith("Bearer ") else None
            if minted is None or minted[0] < time.time():
                return _unauthenticated()
            if sim.take("revoked"):
                sim.revoked_grants.add(minted[1])
                for key in [k for k, v in sim.tokens.items() if v[1] == minted[1]]:
                    del sim.tokens[key]
                return _unauthenticated()
        if sim.take("unregistered"):
            return _error(
                401,
                "UNAUTHENTICATED",
                f"GCP project with id {PROJECT[0]} and number {PROJECT[1]} is not registered "
                "with the merchant account. Please follow these steps "
                "https://developers.google.com/merchant/api/guides/quickstart.",
            )
        if sim.take("forbidden"):
            return _error(
                403, "PERMISSION_DENIED", "The caller does not have access to the accounts."
            )
        return None

    # ------------------------------------------------------------ data sources

    @app.get("/datasources/v1/accounts/{account}/dataSources/{data_source}")
    def get_data_source(account: str, data_source: str, request: Request):
        if (refusal := refused(request)) is not None:
            return refusal
        declared = source(data_source)
        return {
            "name": f"accounts/{account}/dataSources/{data_source}",
            "dataSourceId": data_source,
            "displayName": f"Data source {data_source}",
            "input": declared["input"],
            "primaryProductDataSource": {
                k: declared[k] for k in ("feedLabel", "contentLanguage") if k in declared
            },
        }

    # ------------------------------------------------------------ product inputs

    @app.post(prefix + "/productInputs:insert")
    async def insert(account: str, request: Request, dataSource: str | None = None):  # noqa: N803
        if (refusal := refused(request)) is not None:
            return refusal
        raw = await request.body()
        try:
            parsed = merchant.ProductInput.from_json(raw, ignore_unknown_fields=False)
        except (ParseError, ValueError) as exc:
            return _error(400, "INVALID_ARGUMENT", f"Invalid JSON payload received. {exc}")
        body = _json(parsed, merchant.ProductInput)
        problems = [f for f in ("offerId", "contentLanguage", "feedLabel") if not body.get(f)]
        if not dataSource:
            problems.append("dataSource")
        if problems:
            return _error(
                400, "INVALID_ARGUMENT", f"Missing required field(s): {', '.join(problems)}"
            )
        if not re.match(FEED_LABEL, body["feedLabel"]):
            return _error(400, "INVALID_ARGUMENT", "Invalid feedLabel.")
        if not localization.is_language(body["contentLanguage"]):
            return _error(
                400,
                "INVALID_ARGUMENT",
                f"Invalid contentLanguage {body['contentLanguage']!r}: an ISO 639-1 code.",
            )
        match = re.fullmatch(rf"accounts/{re.escape(account)}/dataSources/([^/]+)", dataSource)
        if match is None:
            return _error(400, "INVALID_ARGUMENT", f"Invalid dataSource {dataSource!r}.")
        declared = source(match.group(1))
        if declared["input"] not in ("API", "FILE"):
            return _error(
                400, "INVALID_ARGUMENT", f"Data source {dataSource} does not accept API inputs."
            )
        limited = [k for k in ("feedLabel", "contentLanguage") if k in declared]
        if any(declared[k] != body[k] for k in limited):
            return _error(
                400,
                "INVALID_ARGUMENT",
                f"Data source {dataSource} only accepts products with "
                + ", ".join(f"{k} {declared[k]}" for k in limited)
                + ".",
            )
        plain = f"{body['contentLanguage']}~{body['feedLabel']}~{body['offerId']}"
        with sim.lock:
            sim.items_received += 1
            if not sim.take("drop"):
                sim.items[plain] = {
                    "offerId": body["offerId"],
                    "contentLanguage": body["contentLanguage"],
                    "feedLabel": body["feedLabel"],
                    "dataSource": dataSource,
                    "productAttributes": body.get("productAttributes", {}),
                }
                sim.reads_before_processed[plain] = sim.faults.pop("delay_verdicts", 0)
                sim.reads_in_review[plain] = sim.faults.pop("in_review", 0)
        parsed.name = f"accounts/{account}/productInputs/{plain}"
        parsed.product = f"accounts/{account}/products/{plain}"
        return _json(parsed, merchant.ProductInput)

    @app.delete(prefix + "/productInputs/{name}")
    def delete(account: str, name: str, request: Request, dataSource: str | None = None):  # noqa: N803
        if (refusal := refused(request)) is not None:
            return refusal
        if not dataSource:
            return _error(400, "INVALID_ARGUMENT", "dataSource is required.")
        plain = decode_name(name)
        if plain is None:
            return _error(400, "INVALID_ARGUMENT", f"Invalid product input name {name!r}.")
        with sim.lock:
            sim.items_received += 1
            if sim.items.pop(plain, None) is None:
                return _error(404, "NOT_FOUND", f"productInputs/{plain} not found.")
        return {}

    # ------------------------------------------------------------ processed products

    def processed(account: str, plain: str, item: dict, in_review: bool) -> dict:
        attributes = item.get("productAttributes") or {}
        issues = item_level_issues(attributes)
        disapproved = any(i["severity"] == "DISAPPROVED" for i in issues)
        country = item.get("feedLabel", "US")
        destination = merchant.ProductStatus.DestinationStatus(
            reporting_context="SHOPPING_ADS",
            approved_countries=[] if disapproved or in_review else [country],
            pending_countries=[country] if in_review and not disapproved else [],
            disapproved_countries=[country] if disapproved else [],
        )
        product = merchant.Product(
            name=f"accounts/{account}/products/{plain}",
            base64_encoded_name=f"accounts/{account}/products/{encode_name(plain)}",
            offer_id=item.get("offerId", ""),
            content_language=item.get("contentLanguage", ""),
            feed_label=item.get("feedLabel", ""),
            data_source=item.get("dataSource", ""),
            product_attributes=merchant.ProductAttributes.from_json(json.dumps(attributes)),
            product_status=merchant.ProductStatus(
                item_level_issues=[merchant.ProductStatus.ItemLevelIssue(**i) for i in issues],
                destination_statuses=[destination],
            ),
        )
        return _json(product, merchant.Product)

    @app.get(prefix + "/products/{name}")
    def get_product(account: str, name: str, request: Request):
        if (refusal := refused(request)) is not None:
            return refusal
        plain = decode_name(name)
        if plain is None:
            return _error(400, "INVALID_ARGUMENT", f"Invalid product name {name!r}.")
        with sim.lock:
            item = sim.items.get(plain)
            if item is not None and sim.reads_before_processed.get(plain, 0) > 0:
                sim.reads_before_processed[plain] -= 1
                item = None
            in_review = sim.reads_in_review.get(plain, 0) > 0
            if item is not None and in_review:
                sim.reads_in_review[plain] -= 1
        if item is None:
            return _error(404, "NOT_FOUND", f"products/{plain} not found.")
        return processed(account, plain, item, in_review)

    @app.get(prefix + "/products")
    def list_products(
        account: str,
        request: Request,
        pageSize: int = 25,  # noqa: N803
        pageToken: str | None = None,  # noqa: N803
    ):
        if (refusal := refused(request)) is not None:
            return refusal
        size = min(max(pageSize, 1), 1000)
        with sim.lock:
            names = sorted(sim.items)
            start = int(pageToken or 0)
            page = [(n, sim.items[n]) for n in names[start : start + size]]
        more = start + size < len(names)
        return _json(
            merchant.ListProductsResponse(
                products=[
                    merchant.Product.from_json(json.dumps(processed(account, n, item, False)))
                    for n, item in page
                ],
                next_page_token=str(start + size) if more else "",
            ),
            merchant.ListProductsResponse,
        )

    return app


def _oauth_error(error: str, description: str) -> JSONResponse:
    return JSONResponse({"error": error, "error_description": description}, status_code=400)


def _jwt_claims(assertion: str) -> dict | None:
    """The claims of a JWT assertion (the simulator trusts the signature)."""
    parts = assertion.split(".")
    if len(parts) != 3:
        return None
    try:
        return json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except ValueError:
        return None
