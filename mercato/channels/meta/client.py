"""Meta catalog Batch API client (PLATFORMS.md §1.3): translate and talk HTTP only.

Every path starts with the Graph API version, one setting for all Meta channels
(``MERCATO_META_GRAPH_VERSION``), never part of a channel's stored base URL."""

from __future__ import annotations

import json

import httpx

from mercato.channels.adapter import Outcome, Upsert, platform_issue
from mercato.channels.http import AuthExpired, PlatformError, send
from mercato.channels.meta.mapping import read_summary
from mercato.channels.target import Target
from mercato.config import get_settings

BATCH_LIMIT = 3000  # below the 5,000 maximum, as Meta recommends
FINAL = ("finished", "error", "canceled", "cancelled")
READ_FIELDS = "retailer_id,name,price,sale_price,currency,availability"


class Client:
    kind = "meta"

    def __init__(self, target: Target, credentials: dict[str, str], http: httpx.Client):
        catalog = target.settings.get("catalog_id") or credentials.get("catalog_id")
        if not catalog:
            raise PlatformError("the Meta channel needs a catalog_id setting")
        self.version = f"/{get_settings().meta_graph_version}"
        self.root = f"{self.version}/{catalog}"
        self.http = http
        self.headers = {"Authorization": f"Bearer {credentials.get('access_token', '')}"}
        self.localized = target.localized

    def _call(self, method: str, path: str, **kwargs) -> dict:
        """A call on the catalog's node (``path`` below it)."""
        return self._graph(method, self.root + path, **kwargs)

    def _graph(self, method: str, url: str, **kwargs) -> dict:
        response = send(self.http, method, url, headers=self.headers, **kwargs)
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
        if self.localized:
            return self._push_overrides(upserts)
        requests = [{"method": "UPDATE", "data": u.payload} for u in upserts]
        requests += [{"method": "DELETE", "data": {"id": item_id}} for item_id in deletes]
        outcomes: list[Outcome] = []
        for start in range(0, len(requests), BATCH_LIMIT):
            chunk = requests[start : start + BATCH_LIMIT]
            body = self._call(
                "POST",
                "/items_batch",
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
                    issues = [
                        platform_issue("item", e.get("message", "")) for e in refused[item_id]
                    ]
                    outcomes.append(Outcome(item_id, "rejected", issues))
                else:
                    outcomes.append(Outcome(item_id, "pending", ref=handle))
        return outcomes

    def _push_overrides(self, upserts: list[Upsert]) -> list[Outcome]:
        """A localized channel's items: their language and country overrides, sent to
        ``localized_items_batch`` (which never creates an item: the channel filling the
        catalog does). An item's overrides go in one call; deleting an item is that
        channel's work, so deletes send nothing here."""
        outcomes: list[Outcome] = []
        chunk: list[dict] = []
        owners: list[str] = []

        def flush():
            if not chunk:
                return
            body = self._call(
                "POST",
                "/localized_items_batch",
                json={"item_type": "PRODUCT_ITEM", "requests": list(chunk)},
            )
            handle = body["handles"][0]
            refused = {
                s.get("retailer_id"): s.get("errors", []) for s in body.get("validation_status", [])
            }
            for item_id in dict.fromkeys(owners):
                if item_id in refused:
                    issues = [
                        platform_issue("item", e.get("message", "")) for e in refused[item_id]
                    ]
                    outcomes.append(Outcome(item_id, "rejected", issues))
                else:
                    outcomes.append(Outcome(item_id, "pending", ref=handle))
            chunk.clear()
            owners.clear()

        for upsert in upserts:
            requests = [
                {"method": "UPDATE", "data": o["data"], "localization": o["localization"]}
                for o in upsert.payload["overrides"]
            ]
            if len(chunk) + len(requests) > BATCH_LIMIT:
                flush()
            chunk.extend(requests)
            owners.extend(upsert.item_id for _ in requests)
        flush()
        return outcomes

    def poll(self, ref: str, item_ids: list[str]) -> list[Outcome]:
        """Verdicts from the complete list of invalid ids, never from the sampled errors
        (PLATFORMS.md §1.3 verdict rule)."""
        body = self._call(
            "GET",
            "/check_batch_request_status",
            params={"handle": ref, "load_ids_of_invalid_requests": "true"},
        )
        status = body["data"][0]
        state = str(status.get("status", "")).lower()
        if state not in FINAL:
            return []
        invalid = set(status.get("ids_of_invalid_requests") or [])
        if status.get("errors_total_count") and not invalid:
            return []  # errors counted but their ids not loaded yet: ask again
        issues: dict[str, list[dict]] = {}
        for severity in ("error", "warning"):
            for entry in status.get(f"{severity}s") or []:
                issues.setdefault(entry.get("retailer_id") or entry.get("id"), []).append(
                    platform_issue(entry.get("field", "item"), entry.get("message", ""), severity)
                )
        outcomes = []
        for item_id in item_ids:
            found = issues.get(item_id, [])
            if item_id in invalid:
                errors = [i for i in found if i["severity"] == "error"] or [
                    platform_issue("item", "Meta refused this item (no message in its sample)")
                ]
                outcomes.append(Outcome(item_id, "rejected", errors))
            elif state == "finished":
                outcomes.append(Outcome(item_id, "warning" if found else "approved", found))
            else:
                note = f"Meta's batch ended with status {state}: this item is sent again"
                outcomes.append(
                    Outcome(item_id, "resend", [platform_issue("item", note, "warning")])
                )
        return outcomes

    def save_product_set(self, set_id: str | None, name: str, retailer_ids: list[str]) -> str:
        """The catalog's product set holding exactly these items: created
        (``POST /{catalog_id}/product_sets``) or its filter replaced
        (``POST /{product_set_id}``); its id. PLATFORMS.md §1.3, product sets."""
        rule = json.dumps({"retailer_id": {"is_any": retailer_ids}}, separators=(",", ":"))
        body = {"name": name, "filter": rule}
        if set_id is None:
            return str(self._call("POST", "/product_sets", json=body)["id"])
        self._graph("POST", f"{self.version}/{set_id}", json=body)
        return set_id

    def delete_product_set(self, set_id: str) -> None:
        """``DELETE /{product_set_id}``."""
        self._graph("DELETE", f"{self.version}/{set_id}")

    def verify(self) -> str:
        """One call proving the token, the Graph version and the catalog: its name."""
        catalog = self._call("GET", "", params={"fields": "id,name"})
        return f"Meta catalog {catalog.get('name') or catalog.get('id')}"

    def remote_items(self, expected: list[str]) -> dict[str, dict] | None:
        if self.localized:
            return None  # the catalog's items are the other channel's; overrides aren't listed
        out: dict[str, dict] = {}
        after = None
        while True:
            params = {"fields": READ_FIELDS, "limit": 1000, **({"after": after} if after else {})}
            body = self._call("GET", "/products", params=params)
            for item in body.get("data", []):
                out[item["retailer_id"]] = read_summary(item)
            after = body.get("paging", {}).get("cursors", {}).get("after")
            if not after:
                return out
