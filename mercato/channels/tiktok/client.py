"""TikTok Shop product API client (PLATFORMS.md §3.2, §3.5): one TikTok product per
Mercato product (its variants are the SKUs).

- Images are uploaded to TikTok and sent as the URIs it returns (cached per channel).
- Stock goes to a sales warehouse read from the logistics API.
- Every edit names the SKU ids TikTok gave (a SKU left out is deleted by TikTok).
- When only stock or price changed, their own update calls are used: no edit, no review.
"""

from __future__ import annotations

import httpx

from mercato.channels.adapter import Outcome, Upsert, platform_issue
from mercato.channels.http import ImageUnavailable, PlatformError, SetupError
from mercato.channels.target import Target
from mercato.channels.tiktok import mapping
from mercato.channels.tiktok.api import Api, TikTokError

PRODUCTS = "/product/202309/products"
IMAGES = "/product/202309/images/upload"
WAREHOUSES = "/logistics/202309/warehouses"
PAGE_SIZE = 100  # search's maximum
DELETE_LIMIT = 20  # product ids per Delete Products call
NOT_FOUND = 12052048
# Product statuses other than live (ACTIVATE) and under review (PENDING): what the
# merchant is told.
NOT_LIVE = {
    "DRAFT": "saved as a draft on TikTok Shop, not listed",
    "SELLER_DEACTIVATED": "deactivated in TikTok Seller Center",
    "PLATFORM_DEACTIVATED": "deactivated by TikTok Shop",
    "FREEZE": "frozen by TikTok Shop",
}


class Client:
    kind = "tiktok"
    uploads_images = True

    def __init__(self, target: Target, credentials: dict[str, str], http: httpx.Client, images):
        self.api = Api(target.settings, credentials, http)
        self.target = target
        self.images = images
        self._warehouse: str | None = None
        # Extra SKUs found by remote_items, by their ref: those in products of their own
        # (deleted with the product) and those beside ours (dropped by the next edit).
        self._extra_products: dict[str, str] = {}
        self._beside_ours: set[str] = set()

    # ------------------------------------------------------------ set-up reads

    def verify(self) -> str:
        """One read proving the app, the seller's token and the authorised shop (channel
        set-up, mercato.channels.setup)."""
        shops = self.api.shops()
        if not shops:
            raise SetupError("TikTok Shop: the seller authorised no shop for this app")
        return "shops " + ", ".join(f"{s.get('name')} ({s.get('region')})" for s in shops)

    def shop(self) -> dict:
        """The channel's shop, with its region (``channels.markets`` maps a market to it)."""
        return self.api.shop()

    def warehouse(self) -> str:
        """The sales warehouse stock goes to: the channel's ``warehouse_id``, else the
        shop's default enabled sales warehouse (read once per client)."""
        if self._warehouse is None:
            sales = [
                w
                for w in self.api.call("GET", WAREHOUSES).get("warehouses") or []
                if w.get("type") == "SALES_WAREHOUSE" and w.get("effect_status") == "ENABLED"
            ]
            wanted = self.target.settings.get("warehouse_id")
            if wanted and not any(str(w["id"]) == str(wanted) for w in sales):
                raise PlatformError(
                    f"TikTok Shop: warehouse_id {wanted} is not an enabled sales warehouse "
                    f"of the shop; enabled ones: {', '.join(str(w['id']) for w in sales) or 'none'}"
                )
            if not sales:
                raise PlatformError("TikTok Shop: the shop has no enabled sales warehouse")
            default = next((w for w in sales if w.get("is_default")), sales[0])
            self._warehouse = str(wanted or default["id"])
        return self._warehouse

    def _image_uri(self, url: str) -> str:
        def upload(data: bytes, name: str) -> tuple[str, str | None]:
            answer = self.api.upload(IMAGES, {"use_case": "MAIN_IMAGE"}, name or "image", data)
            return answer["uri"], answer.get("url")

        if self.images is None:
            raise PlatformError("TikTok Shop needs images uploaded; no image store was given")
        return self.images.uri_for(url, upload)

    # ------------------------------------------------------------ push

    def push(self, upserts: list[Upsert], deletes: list[str]) -> list[Outcome]:
        groups: dict[str, list[Upsert]] = {}
        for upsert in upserts:
            groups.setdefault(upsert.group, []).append(upsert)
        created = self._created_earlier(
            [u for group in groups.values() for u in group if not u.platform_ref]
        )
        outcomes = []
        for group in groups.values():
            try:
                outcomes += self._push_product(group, created)
            except (TikTokError, ImageUnavailable) as exc:
                issues = [platform_issue("product", str(exc))]
                outcomes += [Outcome(u.item_id, "rejected", issues) for u in group]
        if deletes:
            self._delete(deletes)
        return outcomes

    def _push_product(self, group: list[Upsert], created: dict[str, str]) -> list[Outcome]:
        refs = {
            u.item_id: mapping.split_ref(u.platform_ref or created.get(u.item_id)) for u in group
        }
        product_id = next((p for p, _ in refs.values() if p), None)
        sku_ids = {item_id: sku for item_id, (_, sku) in refs.items() if sku}
        if product_id and self._only_stock_and_price(group, sku_ids):
            try:
                self._update_stock_and_price(product_id, group, sku_ids)
                return [Outcome(u.item_id, "pending", ref=product_id) for u in group]
            except TikTokError as exc:
                # Lost on TikTok (drift): created again. Not live (its first review is
                # pending): only an edit can carry the change.
                if exc.code == NOT_FOUND:
                    product_id, sku_ids = None, {}
        body = mapping.to_product([u.payload for u in group], self.warehouse(), sku_ids)
        body["main_images"] = [{"uri": self._image_uri(i["uri"])} for i in body["main_images"]]
        data = None
        if product_id:
            try:
                data = self.api.call("PUT", f"{PRODUCTS}/{product_id}", body)
            except TikTokError as exc:
                if exc.code != NOT_FOUND:
                    raise
                # Lost on TikTok (drift): created again, without the SKU ids it forgot.
                for sku in body["skus"]:
                    sku.pop("id", None)
        if data is None:
            data = self.api.call("POST", PRODUCTS, body)
        product_id = str(data["product_id"])
        given = {sku.get("external_sku_id"): str(sku["id"]) for sku in data.get("skus") or []}
        return [
            Outcome(
                u.item_id,
                "pending",
                ref=product_id,
                platform_ref=mapping.ref(product_id, given[u.item_id])
                if u.item_id in given
                else None,
            )
            for u in group
        ]

    @staticmethod
    def _only_stock_and_price(group: list[Upsert], sku_ids: dict[str, str]) -> bool:
        """Every SKU already on TikTok and nothing but stock or price changed."""
        return all(
            u.item_id in sku_ids
            and u.previous
            and u.previous.get("listing") == mapping.listing_digest(u.payload)
            for u in group
        )

    def _update_stock_and_price(
        self, product_id: str, group: list[Upsert], sku_ids: dict[str, str]
    ) -> None:
        warehouse = self.warehouse()
        # Stock of every SKU, changed or not: TikTok's own count may have moved (it takes
        # back the units of orders it cancels), so ours is set again.
        stock = [
            {
                "id": sku_ids[u.item_id],
                "inventory": [{"warehouse_id": warehouse, "quantity": u.payload["quantity"]}],
            }
            for u in group
        ]
        prices = []
        for u in group:
            sku_id, row = sku_ids[u.item_id], u.payload
            if u.previous.get("price") != mapping.price_text(row["price"]):
                prices.append(
                    {"id": sku_id, "price": {"amount": row["price"], "currency": row["currency"]}}
                )
        # Stock first: a sell-out must not wait for anything.
        self._sku_update(f"{PRODUCTS}/{product_id}/inventory/update", stock)
        if prices:
            self._sku_update(f"{PRODUCTS}/{product_id}/prices/update", prices)

    def _sku_update(self, path: str, skus: list[dict]) -> None:
        data = self.api.call("POST", path, {"skus": skus})
        errors = data.get("errors") or []
        if errors:
            raise TikTokError(
                errors[0].get("code"),
                "; ".join(
                    f"SKU {(e.get('detail') or {}).get('sku_id')}: {e.get('message')}"
                    for e in errors
                ),
            )

    def _delete(self, refs: list[str]) -> None:
        products = sorted(
            {
                self._extra_products.get(ref) or mapping.split_ref(ref)[0]
                for ref in refs
                if ref not in self._beside_ours
            }
            - {None}
        )
        for start in range(0, len(products), DELETE_LIMIT):
            self.api.call(
                "DELETE", PRODUCTS, {"product_ids": products[start : start + DELETE_LIMIT]}
            )

    def _created_earlier(self, new: list[Upsert]) -> dict[str, str]:
        """Refs of SKUs an earlier push created but whose answer was never recorded (a crash
        in between), found by seller SKU: they are edited, not created a second time."""
        by_sku = {u.payload["seller_sku"]: u.item_id for u in new if u.payload.get("seller_sku")}
        found: dict[str, str] = {}
        wanted = sorted(by_sku)
        for start in range(0, len(wanted), PAGE_SIZE):
            for product in self._search({"seller_skus": wanted[start : start + PAGE_SIZE]}):
                for sku in product.get("skus") or []:
                    item_id = by_sku.get(sku.get("seller_sku"))
                    if item_id:
                        found[item_id] = mapping.ref(str(product["id"]), str(sku["id"]))
        return found

    def _search(self, body: dict) -> list[dict]:
        """Every product matching ``body``, page by page."""
        products, token = [], None
        while True:
            query = {"page_size": str(PAGE_SIZE), **({"page_token": token} if token else {})}
            data = self.api.call("POST", f"{PRODUCTS}/search", body, query)
            products += data.get("products") or []
            token = data.get("next_page_token")
            if not token:
                return products

    # ------------------------------------------------------------ read-back

    def poll(self, ref: str, item_ids: list[str]) -> list[Outcome]:
        """The verdict of the version last sent (under review, if it still is)."""
        try:
            product = self.api.call(
                "GET", f"{PRODUCTS}/{ref}", query={"return_under_review_version": "true"}
            )
        except TikTokError as exc:
            if exc.code == NOT_FOUND:
                return []  # lost on the platform: reconciliation resends it
            raise
        status = product.get("status")
        if status == "PENDING":
            return []
        if status == "ACTIVATE":
            return [Outcome(item_id, "approved") for item_id in item_ids]
        if status == "FAILED":
            issues = [
                platform_issue(
                    r.get("position") or "product",
                    "; ".join(r.get("reasons") or [])
                    + (f" ({'; '.join(r['suggestions'])})" if r.get("suggestions") else ""),
                )
                for r in product.get("audit_failed_reasons") or []
            ] or [platform_issue("product", "TikTok Shop's review rejected the product")]
        elif status in NOT_LIVE:
            issues = [platform_issue("status", f"{status}: {NOT_LIVE[status]}")]
        else:  # DELETED, or a status we do not know: resent by reconciliation
            return []
        return [Outcome(item_id, "rejected", issues) for item_id in item_ids]

    def remote_items(self, expected: dict[str, str | None]) -> dict[str, dict]:
        """Every SKU the shop holds: ours by item id (known by the SKU ids TikTok gave us),
        others by their ref. Search lists no external ids and no ``price.amount``."""
        item_of_sku = {
            mapping.split_ref(ref)[1]: item_id for item_id, ref in expected.items() if ref
        }
        out: dict[str, dict] = {}
        for product in self._search({"status": "ALL"}):
            if product.get("status") == "DELETED":
                continue
            product_id = str(product["id"])
            skus = product.get("skus") or []
            ours = [item_of_sku.get(str(sku["id"])) for sku in skus]
            extra = sum(item_id is None for item_id in ours)
            for sku, item_id in zip(skus, ours, strict=True):
                held = {
                    "price": mapping.price_text(
                        (sku.get("price") or {}).get("tax_exclusive_price")
                    ),
                    "title": product.get("title"),
                    "quantity": sum(
                        int(i.get("quantity") or 0) for i in sku.get("inventory") or []
                    ),
                }
                if item_id is None:
                    ref = mapping.ref(product_id, str(sku["id"]))
                    if any(ours):
                        self._beside_ours.add(ref)
                    else:  # a product holding none of ours is deleted whole
                        self._extra_products[ref] = product_id
                    out[ref] = held
                else:
                    if extra:
                        # Ours beside foreign SKUs: stale, so the product is sent whole
                        # (which drops them).
                        held["extra_skus"] = extra
                    out[item_id] = held
        return out
