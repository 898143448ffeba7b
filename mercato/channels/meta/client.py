"""Meta catalog Batch API client (PLATFORMS.md §1.3): translate and talk HTTP only."""

from __future__ import annotations

import httpx

from mercato.channels.adapter import Outcome, Upsert, platform_issue
from mercato.channels.http import AuthExpired, PlatformError, send
from mercato.channels.items import Target
from mercato.channels.meta.mapping import summary

BATCH_LIMIT = 3000  # below the 5,000 maximum, as Meta recommends


class Client:
    kind = "meta"

    def __init__(self, target: Target, credentials: dict[str, str], http: httpx.Client):
        self.catalog = target.settings.get("catalog_id") or credentials.get("catalog_id")
        if not self.catalog:
            raise PlatformError("the Meta channel needs a catalog_id setting")
        self.http = http
        self.headers = {"Authorization": f"Bearer {credentials.get('access_token', '')}"}

    def _call(self, method: str, path: str, **kwargs) -> dict:
        response = send(self.http, method, path, headers=self.headers, **kwargs)
        body = response.json()
        error = body.get("error") if isinstance(body, dict) else None
        if error:
            if error.get("code") in (190, 102, 463) or response.status_code == 401:
                raise AuthExpired(error.get("message", "token expired"), response.status_code)
            raise PlatformError(f"Meta: {error.get('message')}", response.status_code)
        if response.status_code >= 400:
            raise PlatformError(f"Meta: HTTP {response.status_code}", response.status_code)
        return body

    def push(self, upserts: list[Upsert], deletes: list[str]) -> list[Outcome]:
        requests = [{"method": "UPDATE", "data": u.payload} for u in upserts]
        requests += [{"method": "DELETE", "data": {"id": item_id}} for item_id in deletes]
        outcomes: list[Outcome] = []
        for start in range(0, len(requests), BATCH_LIMIT):
            chunk = requests[start : start + BATCH_LIMIT]
            body = self._call(
                "POST",
                f"/{self.catalog}/items_batch",
                json={"item_type": "PRODUCT_ITEM", "allow_upsert": True, "requests": chunk},
            )
            handle = body["handles"][0]
            refused = {
                s.get("retailer_id"): s.get("errors", []) for s in body.get("validation_status", [])
            }
            for req in chunk:
                item_id = req["data"]["id"]
                if req["method"] == "DELETE":
                    continue
                if item_id in refused:
                    outcomes.append(
                        Outcome(
                            item_id,
                            "rejected",
                            [
                                platform_issue("item", e.get("message", ""))
                                for e in refused[item_id]
                            ],
                        )
                    )
                else:
                    outcomes.append(Outcome(item_id, "pending", ref=handle))
        return outcomes

    def poll(self, ref: str, item_ids: list[str]) -> list[Outcome]:
        body = self._call(
            "GET",
            f"/{self.catalog}/check_batch_request_status",
            params={"handle": ref, "load_ids_of_invalid_requests": "true"},
        )
        status = body["data"][0]
        if status.get("status") != "finished":
            return []
        issues: dict[str, list[dict]] = {}
        for error in status.get("errors", []):
            issues.setdefault(error.get("retailer_id") or error.get("id"), []).append(
                platform_issue(error.get("field", "item"), error.get("message", ""))
            )
        for warning in status.get("warnings", []):
            issues.setdefault(warning.get("retailer_id"), []).append(
                platform_issue(warning.get("field", "item"), warning.get("message", ""), "warning")
            )
        outcomes = []
        for item_id in item_ids:
            found = issues.get(item_id, [])
            verdict = (
                "rejected"
                if any(i["severity"] == "error" for i in found)
                else "warning"
                if found
                else "approved"
            )
            outcomes.append(Outcome(item_id, verdict, found))
        return outcomes

    def remote_items(self, expected: list[str]) -> dict[str, dict]:
        out: dict[str, dict] = {}
        after = None
        while True:
            params = {
                "fields": "retailer_id,title,price,sale_price,availability",
                "limit": 1000,
                **({"after": after} if after else {}),
            }
            body = self._call("GET", f"/{self.catalog}/products", params=params)
            for item in body.get("data", []):
                out[item["retailer_id"]] = summary(item)
            after = body.get("paging", {}).get("cursors", {}).get("after")
            if not after:
                return out
