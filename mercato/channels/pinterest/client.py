"""Pinterest catalogs API v5 client (PLATFORMS.md §4): items/batch and batch status; the
catalog's products listed through the product group filters endpoint."""

from __future__ import annotations

import httpx

from mercato.channels.adapter import Outcome, Upsert, platform_issue
from mercato.channels.http import AuthExpired, PlatformError, SetupError, send
from mercato.channels.items import Target
from mercato.channels.pinterest.mapping import summary

BATCH_LIMIT = 1000
# Pinterest pages hold at most 250 records (page_size), followed by a bookmark.
PAGE_SIZE = 250


class Client:
    kind = "pinterest"

    def __init__(self, target: Target, credentials: dict[str, str], http: httpx.Client):
        self.http = http
        self.scope = {"country": target.country, "language": target.language.upper()}
        self.headers = {"Authorization": f"Bearer {credentials.get('access_token', '')}"}

    def _call(self, method: str, path: str, **kwargs) -> dict:
        response = send(self.http, method, path, headers=self.headers, **kwargs)
        body = response.json()
        if response.status_code == 401:
            raise AuthExpired(body.get("message", "authentication failed"), 401)
        if response.status_code >= 400:
            raise PlatformError(f"Pinterest: {body.get('message')}", response.status_code)
        return body

    def _batch(self, operation: str, items: list[dict]) -> str:
        body = self._call(
            "POST",
            "/v5/catalogs/items/batch",
            json={"catalog_type": "RETAIL", **self.scope, "operation": operation, "items": items},
        )
        return body["batch_id"]

    def push(self, upserts: list[Upsert], deletes: list[str]) -> list[Outcome]:
        outcomes = []
        for start in range(0, len(upserts), BATCH_LIMIT):
            chunk = upserts[start : start + BATCH_LIMIT]
            batch_id = self._batch("UPSERT", [u.payload for u in chunk])
            outcomes += [Outcome(u.item_id, "pending", ref=batch_id) for u in chunk]
        for start in range(0, len(deletes), BATCH_LIMIT):
            self._batch("DELETE", [{"item_id": i} for i in deletes[start : start + BATCH_LIMIT]])
        return outcomes

    def poll(self, ref: str, item_ids: list[str]) -> list[Outcome]:
        body = self._call("GET", f"/v5/catalogs/items/batch/{ref}")
        if body.get("status") != "COMPLETED":
            return []
        outcomes = []
        for result in body.get("items", []):
            issues = [
                platform_issue(e.get("attribute", "item"), e.get("message", ""))
                for e in result.get("errors", [])
            ]
            issues += [
                platform_issue(w.get("attribute", "item"), w.get("message", ""), "warning")
                for w in result.get("warnings", [])
            ]
            verdict = (
                "rejected"
                if result.get("status") == "FAILURE"
                else "warning"
                if issues
                else "approved"
            )
            outcomes.append(Outcome(result["item_id"], verdict, issues))
        return outcomes

    def remote_items(self, expected: list[str]) -> dict[str, dict]:
        """Every item of the catalog (extras included), listed page by page."""
        out, bookmark = {}, None
        while True:
            params = {"page_size": PAGE_SIZE, **({"bookmark": bookmark} if bookmark else {})}
            body = self._call(
                "POST",
                "/v5/catalogs/products/get_by_product_group_filters",
                params=params,
                json={"catalog_type": "RETAIL", **self.scope, "filters": {}},
            )
            for product in body.get("items", []):
                metadata = product.get("metadata") or {}
                if metadata.get("item_id"):
                    out[metadata["item_id"]] = summary({"attributes": metadata})
            bookmark = body.get("bookmark")
            if not bookmark:
                return out

    def verify(self) -> str:
        """One cheap read proving the token and its catalog scope (channel set-up)."""
        catalogs = self._call("GET", "/v5/catalogs", params={"page_size": 25}).get("items", [])
        if not catalogs:
            raise SetupError("Pinterest: this account has no catalog yet; create one first")
        return "catalogs " + ", ".join(c.get("name") or c["id"] for c in catalogs)
