"""Pinterest catalogs API v5 client (PLATFORMS.md §4): the per-vertical items batch
(``CatalogsRetailBatchRequest``: every item names its own operation), batch status
(COMPLETED and FAILED both settle), and read-back through the item lookup
``POST /v5/catalogs/items``.

A Pinterest channel is either pushed to by API or fed by a feed, chosen with its
``catalog_mode`` setting: Pinterest refuses API upserts on a catalog that has a feed data
source, so a channel in feed mode is never pushed to."""

from __future__ import annotations

import httpx

from mercato.channels.adapter import Outcome, Upsert, platform_issue
from mercato.channels.http import AuthExpired, PlatformError, SetupError, send
from mercato.channels.pinterest.mapping import read_summary
from mercato.channels.pinterest.spec import locale
from mercato.channels.target import Target

BATCH_LIMIT = 1000
LOOKUP_LIMIT = 1000
MODES = ("api", "feed")
SETTLED = ("COMPLETED", "FAILED")


def catalog_mode(settings: dict) -> str:
    mode = settings.get("catalog_mode")
    if mode not in MODES:
        raise SetupError(
            "the Pinterest channel needs the catalog_mode setting: api (Mercato pushes its "
            "items) or feed (Pinterest fetches the feed URL)"
        )
    return mode


class Client:
    kind = "pinterest"

    def __init__(self, target: Target, credentials: dict[str, str], http: httpx.Client):
        self.mode = catalog_mode(target.settings)
        self.http = http
        self.scope = {"country": target.country, "language": locale(target)}
        catalog_id = target.settings.get("catalog_id")
        self.catalog = {"catalog_id": str(catalog_id)} if catalog_id else {}
        self.headers = {"Authorization": f"Bearer {credentials.get('access_token', '')}"}

    def _call(self, method: str, path: str, **kwargs) -> dict:
        response = send(self.http, method, path, headers=self.headers, **kwargs)
        body = response.json()
        if response.status_code == 401:
            raise AuthExpired(body.get("message", "authentication failed"), 401)
        if response.status_code >= 400:
            raise PlatformError(f"Pinterest: {body.get('message')}", response.status_code)
        return body

    def _batch(self, items: list[dict]) -> str:
        body = {"catalog_type": "RETAIL", **self.catalog, **self.scope, "items": items}
        return self._call("POST", "/v5/catalogs/items/batch", json=body)["batch_id"]

    def push(self, upserts: list[Upsert], deletes: list[str]) -> list[Outcome]:
        if self.mode == "feed":
            raise SetupError(
                "this Pinterest channel takes its catalog from a feed (catalog_mode feed): "
                "nothing is pushed; Pinterest fetches the feed URL"
            )
        outcomes = []
        for start in range(0, len(upserts), BATCH_LIMIT):
            chunk = upserts[start : start + BATCH_LIMIT]
            batch_id = self._batch([{"operation": "UPSERT", **u.payload} for u in chunk])
            outcomes += [Outcome(u.item_id, "pending", ref=batch_id) for u in chunk]
        for start in range(0, len(deletes), BATCH_LIMIT):
            chunk = deletes[start : start + BATCH_LIMIT]
            self._batch([{"operation": "DELETE", "item_id": item_id} for item_id in chunk])
        return outcomes

    def poll(self, ref: str, item_ids: list[str]) -> list[Outcome]:
        """Verdicts once the batch is COMPLETED or FAILED: each item from its own record;
        an item with no record in a settled batch is sent again, never assumed."""
        body = self._call("GET", f"/v5/catalogs/items/batch/{ref}")
        if body.get("status") not in SETTLED:
            return []
        records = {r.get("item_id"): r for r in body.get("items") or []}
        outcomes = []
        for item_id in item_ids:
            record = records.get(item_id)
            if record is None:
                note = f"Pinterest's batch ended {body['status']} without this item: sent again"
                outcomes.append(
                    Outcome(item_id, "resend", [platform_issue("item", note, "warning")])
                )
                continue
            if record.get("status") == "PROCESSING":
                continue
            issues = [
                platform_issue(e.get("attribute") or "item", e.get("message", ""))
                for e in record.get("errors") or []
            ]
            issues += [
                platform_issue(w.get("attribute") or "item", w.get("message", ""), "warning")
                for w in record.get("warnings") or []
            ]
            if record.get("status") == "FAILURE" or record.get("errors"):
                verdict = "rejected"
            else:
                verdict = "warning" if issues else "approved"
            outcomes.append(Outcome(item_id, verdict, issues))
        return outcomes

    def remote_items(self, expected: list[str]) -> dict[str, dict]:
        """What Pinterest holds of the expected items, by id (at most 1,000 a call). The
        lookup cannot list items Mercato does not know of."""
        out, ids = {}, list(expected)
        for start in range(0, len(ids), LOOKUP_LIMIT):
            filters = {
                "catalog_type": "RETAIL",
                "item_ids": ids[start : start + LOOKUP_LIMIT],
                **self.catalog,
            }
            body = self._call("POST", "/v5/catalogs/items", json={**self.scope, "filters": filters})
            for item in body.get("items") or []:
                if item.get("item_id") and "attributes" in item:
                    out[item["item_id"]] = read_summary(item["attributes"])
        return out

    def verify(self) -> str:
        """One look at the account: its catalogs, and whether one has a feed data source
        (then Pinterest refuses API upserts)."""
        catalogs = self._call("GET", "/v5/catalogs", params={"page_size": 25}).get("items") or []
        if not catalogs:
            raise SetupError("Pinterest: this account has no catalog yet; create one first")
        feeds = self._call("GET", "/v5/catalogs/feeds", params={"page_size": 25}).get("items")
        if self.mode == "feed":
            return f"Pinterest feed mode: {len(feeds or [])} feed(s) on the account"
        if feeds:
            raise SetupError(
                f"the Pinterest catalog has a feed data source ({feeds[0].get('name')}): "
                "Pinterest refuses API upserts there; set catalog_mode to feed"
            )
        return "catalogs " + ", ".join(c.get("name") or c["id"] for c in catalogs)
