"""TikTok Shop product API client (PLATFORMS.md §3): signed requests, one TikTok product
per Mercato product (its variants are the SKUs)."""

from __future__ import annotations

import time

import httpx
import orjson

from mercato.channels.adapter import Outcome, Upsert, platform_issue
from mercato.channels.http import AuthExpired, PlatformError, send
from mercato.channels.items import Target
from mercato.channels.tiktok.mapping import to_product
from mercato.channels.tiktok.signing import sign

PRODUCTS = "/product/202309/products"
AUTH_CODES = (105001, 105002, 105003)
SEARCH_LIMIT = 100


class Client:
    kind = "tiktok"

    def __init__(self, target: Target, credentials: dict[str, str], http: httpx.Client):
        self.app_key = credentials.get("app_key", "")
        self.secret = credentials.get("app_secret", "")
        if not (self.app_key and self.secret):
            raise PlatformError("the TikTok Shop channel needs app_key and app_secret")
        self.token = credentials.get("access_token", "")
        self.shop_cipher = target.settings.get("shop_cipher")
        self.target = target
        self.http = http
        self._product_of_sku: dict[str, str] = {}
        self._skus_beside_ours: set[str] = set()

    def _call(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
        raw = orjson.dumps(body) if body is not None else b""
        params = {"app_key": self.app_key, "timestamp": str(int(time.time()))}
        if self.shop_cipher:
            params["shop_cipher"] = self.shop_cipher
        # The exact bytes sent are signed, so the body is serialised once, here.
        params["sign"] = sign(self.secret, path, params, raw)
        response = send(
            self.http,
            method,
            path,
            params=params,
            content=raw or None,
            headers={"x-tts-access-token": self.token, "content-type": "application/json"},
        )
        envelope = response.json()
        if envelope.get("code") in AUTH_CODES:
            raise AuthExpired(envelope.get("message", "expired"), response.status_code)
        if response.status_code == 401:
            raise PlatformError(f"TikTok Shop: {envelope.get('message')}", 401)
        return response.status_code, envelope

    def push(self, upserts: list[Upsert], deletes: list[str]) -> list[Outcome]:
        groups: dict[str, list[Upsert]] = {}
        for upsert in upserts:
            groups.setdefault(upsert.group, []).append(upsert)
        created = self._created_earlier(
            [g for g, members in groups.items() if not any(u.platform_ref for u in members)],
            [u for u in upserts if not u.platform_ref],
        )
        outcomes = []
        for product, group in groups.items():
            body = to_product([u.payload for u in group], self.target)
            existing = next((u.platform_ref for u in group if u.platform_ref), None) or created.get(
                product
            )
            status, envelope = (
                self._call("PUT", f"{PRODUCTS}/{existing}", body) if existing else (404, {})
            )
            if status == 404:  # new, or lost on the platform (drift): created (again)
                status, envelope = self._call("POST", PRODUCTS, body)
            if envelope.get("code") == 0:
                product_id = envelope["data"]["product_id"]
                outcomes += [
                    Outcome(u.item_id, "pending", ref=product_id, platform_ref=product_id)
                    for u in group
                ]
            else:
                issues = [platform_issue("product", envelope.get("message", ""))]
                outcomes += [Outcome(u.item_id, "rejected", issues) for u in group]
        if deletes:
            # Extra SKUs found by remote_items are deleted with their product.
            products = {
                self._product_of_sku.get(ref, ref)
                for ref in deletes
                if ref not in self._skus_beside_ours
            }
            if products:
                self._call("DELETE", PRODUCTS, {"product_ids": sorted(products)})
        return outcomes

    def _created_earlier(self, products: list[str], upserts: list[Upsert]) -> dict[str, str]:
        """TikTok ids of products created by an earlier push whose answer was never
        recorded (a crash in between): they are edited, not created a second time."""
        if not products:
            return {}
        skus = sorted({u.payload["seller_sku"] for u in upserts if u.payload.get("seller_sku")})
        found: dict[str, str] = {}
        for start in range(0, len(skus), SEARCH_LIMIT):
            _, envelope = self._call(
                "POST", f"{PRODUCTS}/search", {"seller_skus": skus[start : start + SEARCH_LIMIT]}
            )
            for product in (envelope.get("data") or {}).get("products", []):
                if product.get("external_product_id") in products:
                    found[product["external_product_id"]] = product["id"]
        return found

    def poll(self, ref: str, item_ids: list[str]) -> list[Outcome]:
        status, envelope = self._call("GET", f"{PRODUCTS}/{ref}")
        if status == 404:
            return []  # lost on the platform: reconciliation resends it
        product = envelope["data"]
        if product["status"] == "PENDING":
            return []
        reasons = [
            platform_issue("product", "; ".join(r.get("reasons", [])))
            for r in product.get("audit_failed_reasons", [])
        ]
        verdict = "rejected" if product["status"] == "FAILED" else "approved"
        return [Outcome(item_id, verdict, reasons) for item_id in item_ids]

    def remote_items(self, expected: list[str]) -> dict[str, dict]:
        """Every SKU the shop holds, by our item id (its external SKU id)."""
        _, envelope = self._call("POST", f"{PRODUCTS}/search", {})
        out = {}
        expected_set = set(expected)
        for product in envelope["data"]["products"]:
            skus = [sku.get("external_sku_id") or sku["id"] for sku in product["skus"]]
            for sku, item_id in zip(product["skus"], skus, strict=True):
                out[item_id] = {"price": sku["price"]["amount"], "title": product["title"]}
                # An extra SKU in a product that also holds ours goes when the product is
                # next sent whole; one in a product of its own goes with that product.
                if not expected_set.intersection(skus):
                    self._product_of_sku[item_id] = product["id"]
                elif item_id not in expected_set:
                    self._skus_beside_ours.add(item_id)
        return out
