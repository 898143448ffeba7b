"""Every route's authentication, from one table.

For each route and method the table says what lets a caller in (an API scope, or why the
route is public and what authenticates it instead), the status a valid request gets, and
how to build that request. Parametrized over it:

- no token: 401, a problem+json document asking for a Bearer token;
- a token holding every scope but the ones that grant the route's: 403 naming the scope;
- a token with exactly the route's scope and an id that does not exist: 404;
- a token with exactly the route's scope and a valid request: its documented status.

``test_every_route_is_in_the_table`` walks the app's routes: a new endpoint fails the
suite until it has its row here. Pages of the dashboard (``/admin``) and the shop
(``/shop``) sign in with a session, not a token: ``tests/admin/test_dashboard_scopes.py``.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from mercato.analytics import clv_runs
from mercato.auth.scopes import ALL_SCOPES, grants
from mercato.channels import http as channel_http
from mercato.channels.meta.deletion import signed_request as meta_signed_request
from mercato.channels.tiktok.webhooks import signature as tiktok_signature
from mercato.db import transaction, utcnow
from mercato.jobs.models import Job
from mercato.payments.sandbox import SIGNATURE_HEADER
from mercato.sandbox import messenger as messenger_sim
from mercato.sandbox.app import create_app as create_sandbox
from tests.checkout.helpers import fill, start, total_of
from tests.inbox.conftest import APP_SECRET, VERIFY_TOKEN, notification, now, text_message
from tests.inbox.conftest import signed as whatsapp_signed

PROBLEM = "application/problem+json"
SKU = "AUTH-TEE"
UNKNOWN = "unknown_0000"
# Where nothing listens: a webhook endpoint or channel pointed here never reaches anyone.
NOWHERE = "http://127.0.0.1:9"
TIKTOK = {"app_key": "29a39d", "app_secret": "e59af819cc", "access_token": "tt"}
# The in-process payment sandbox signs its webhooks with this secret.
SANDBOX_WEBHOOK_SECRET = b"sandbox"
WHATSAPP = {
    "name": "auth-whatsapp",
    "phone_number_id": "106540352242922",
    "access_token": "wa-token",
    "app_secret": APP_SECRET,
    "verify_token": VERIFY_TOKEN,
    "base_url": f"{NOWHERE}/whatsapp",
}
# Routes of the HTML heads: they sign in with a session cookie, not a token.
HTML_HEADS = ("/admin", "/shop")


# ---------------------------------------------------------------- the shop the requests use


class Shop:
    """What the valid requests act on, made through the API (with an admin token) the
    first time a request asks for it; each test starts from an empty database."""

    def __init__(self, client, admin: dict[str, str], sessions, monkeypatch) -> None:
        self.client, self.admin, self.sessions = client, admin, sessions
        self.monkeypatch = monkeypatch

    def call(self, method: str, path: str, status: int = 200, **kwargs) -> Any:
        response = self.client.request(method, path, headers=self.admin, **kwargs)
        assert response.status_code == status, (method, path, response.text)
        return response.json() if response.content else None

    @cached_property
    def product(self) -> dict:
        product = self.call(
            "POST",
            "/api/v1/products",
            201,
            json={
                "title": "Auth Tee",
                "handle": "auth-tee",
                "status": "active",
                "variants": [{"sku": SKU, "price": 2500}],
            },
        )
        self.call(
            "POST",
            "/api/v1/inventory/adjustments",
            201,
            json={"sku": SKU, "quantity": 20, "kind": "receipt"},
        )
        return product

    @cached_property
    def image(self) -> dict:
        """An image uploaded to the product."""
        return self.call(
            "POST",
            f"/api/v1/products/{self.product_id}/media",
            201,
            files={"file": ("tee.png", _png(), "application/octet-stream")},
        )

    @cached_property
    def collection(self) -> dict:
        body = {"title": "Auth picks", "product_ids": [self.product_id]}
        return self.call("POST", "/api/v1/collections", 201, json=body)

    @cached_property
    def market(self) -> str:
        body = {
            "code": "nl",
            "name": "Netherlands",
            "countries": ["NL"],
            "currency": "EUR",
            "languages": ["nl"],
            "tax_mode": "inclusive",
        }
        return self.call("POST", "/api/v1/markets", 201, json=body)["code"]

    @property
    def sku(self) -> str:
        """The SKU of the product, in stock."""
        return self.product["variants"][0]["sku"]

    @property
    def product_id(self) -> str:
        return self.product["id"]

    @property
    def variant_id(self) -> str:
        return self.product["variants"][0]["id"]

    @cached_property
    def creator_id(self) -> str:
        body = {"handle": "ada", "name": "Ada", "commission": {"kind": "percentage", "value": 1000}}
        return self.call("POST", "/api/v1/creators", 201, json=body)["id"]

    @cached_property
    def payout_id(self) -> str:
        body = {"period_start": "2026-01-01T00:00:00Z", "period_end": "2026-02-01T00:00:00Z"}
        return self.call("POST", f"/api/v1/creators/{self.creator_id}/payouts", 201, json=body)[
            "id"
        ]

    @cached_property
    def post_id(self) -> str:
        body = {"reference": "auth-post", "product_ids": [self.product_id]}
        return self.call("POST", "/api/v1/creators/posts", 201, json=body)["id"]

    @cached_property
    def offer_id(self) -> str:
        body = {"name": "Auth offer", "kind": "percentage", "value": 10, "code": "AUTH10"}
        return self.call("POST", "/api/v1/offers", 201, json=body)["id"]

    @property
    def offer_code(self) -> str:
        assert self.offer_id
        return "AUTH10"

    @cached_property
    def pos_redemption_id(self) -> str:
        body = _ticket(self, "T0")
        return self.call("POST", "/api/v1/pos/redemptions", 201, json=body)["id"]

    @cached_property
    def reservation_id(self) -> str:
        body = {"lines": [{"sku": self.sku, "quantity": 1}]}
        return self.call("POST", "/api/v1/inventory/reservations", 201, json=body)["id"]

    def new_order(self) -> dict:
        body = {
            "lines": [{"sku": self.sku, "quantity": 2}],
            "payment_status": "paid",
            "customer": {"email": "ada@example.com"},
        }
        return self.call("POST", "/api/v1/orders", 201, json=body)

    @cached_property
    def order(self) -> dict:
        return self.new_order()

    @property
    def order_id(self) -> str:
        return self.order["id"]

    @property
    def line_id(self) -> str:
        return self.order["lines"][0]["id"]

    @cached_property
    def fulfillment_id(self) -> str:
        path = f"/api/v1/orders/{self.order_id}/fulfillments"
        return self.call("POST", path, 201, json={"carrier": "UPS"})["id"]

    @cached_property
    def held_order_id(self) -> str:
        order_id = self.new_order()["id"]
        self.call("POST", f"/api/v1/orders/{order_id}/hold", json={"reason": "address check"})
        return order_id

    @cached_property
    def return_id(self) -> str:
        """A return asked for on the shipped order."""
        _ = self.fulfillment_id  # shipped first
        body = {"lines": [{"line_id": self.line_id, "quantity": 1}]}
        return self.call("POST", f"/api/v1/orders/{self.order_id}/returns", 201, json=body)["id"]

    @cached_property
    def received_return_id(self) -> str:
        path = f"/api/v1/orders/{self.order_id}/returns/{self.return_id}/receive"
        self.call("POST", path)
        return self.return_id

    @cached_property
    def channel_id(self) -> str:
        """A Meta catalog (a feed channel), connected without calling the platform."""
        body = {
            "kind": "meta",
            "name": "meta",
            "base_url": f"{NOWHERE}/meta",
            "credentials": {"access_token": "meta-token"},
            "settings": {"catalog_id": "cat1"},
        }
        return self.call("POST", "/api/v1/channels?verify=false", 201, json=body)["id"]

    @cached_property
    def feed_path(self) -> str:
        answer = self.call("POST", f"/api/v1/channels/{self.channel_id}/feed-token")
        return urlsplit(answer["url"]).path

    @cached_property
    def tiktok_channel_id(self) -> str:
        """A TikTok Shop channel: its order webhooks are signed with the app secret."""
        body = {
            "kind": "tiktok",
            "name": "tiktok",
            "base_url": f"{NOWHERE}/tiktok",
            "credentials": TIKTOK,
            "settings": {"category_id": "601226"},
        }
        return self.call("POST", "/api/v1/channels?verify=false", 201, json=body)["id"]

    @cached_property
    def event_id(self) -> str:
        _ = self.product  # its creation is an event
        return self.call("GET", "/api/v1/events", params={"limit": 1})["items"][0]["id"]

    @cached_property
    def endpoint_id(self) -> str:
        body = {"url": f"{NOWHERE}/hooks", "event_types": ["*"]}
        return self.call("POST", "/api/v1/webhooks/endpoints", 201, json=body)["id"]

    @cached_property
    def delivery_id(self) -> str:
        path = f"/api/v1/webhooks/endpoints/{self.endpoint_id}/redeliver"
        self.call("POST", path, 202, json={"event_id": self.event_id})
        return self.call("GET", "/api/v1/webhooks/deliveries")["items"][0]["id"]

    @cached_property
    def destination_id(self) -> str:
        """Where purchases are sent back (a Meta pixel; nothing is called on connecting)."""
        body = {"platform": "meta", "source_id": "111", "access_token": "t"}
        return self.call("POST", "/api/v1/analytics/conversion-destinations", 201, json=body)["id"]

    @cached_property
    def clv_currency(self) -> str:
        """The currency of a lifetime value fit (of an empty ledger: too few purchases)."""
        return clv_runs.fit(self.sessions, clv_runs.Options(""), utcnow()).currency

    @cached_property
    def experiment_id(self) -> str:
        body = {"name": "row", "arm_b": "popular"}
        return self.call("POST", "/api/v1/recommendations/experiments", 201, json=body)["id"]

    @cached_property
    def ad_account_id(self) -> str:
        """A Meta ad account whose report is its simulator's (nothing is called on
        connecting; a pull reads the simulator)."""
        simulators = create_sandbox(("meta",))
        self.monkeypatch.setattr(
            channel_http, "open_client", lambda url: TestClient(simulators, base_url=url)
        )
        TestClient(simulators, base_url="http://sandbox.test/meta").put(
            "/_sandbox/insights/1234", json=[]
        )
        body = {
            "platform": "meta",
            "account_id": "1234",
            "access_token": "t",
            "base_url": "http://sandbox.test/meta",
        }
        return self.call("POST", "/api/v1/analytics/ad-accounts", 201, json=body)["id"]

    @cached_property
    def dead_job_id(self) -> str:
        """A job whose every attempt failed (only those can be retried)."""
        with transaction(self.sessions) as session:
            job = Job(name="auth.example", max_attempts=1, attempts=1, state="dead")
            session.add(job)
            session.flush()
            return job.id

    @cached_property
    def inbox_account(self) -> dict:
        """A WhatsApp number (its webhooks signed with the app secret)."""
        return self.call("POST", "/api/v1/inbox/accounts", 201, json=WHATSAPP)

    @cached_property
    def conversation_id(self) -> str:
        """A buyer's conversation, opened by their message."""
        raw, headers = whatsapp_signed(notification([text_message("wamid.AUTH1", "hi", now())]))
        path = self.inbox_account["webhook_path"]
        assert self.client.post(path, content=raw, headers=headers).status_code == 200
        return self.call("GET", "/api/v1/conversations")["items"][0]["id"]

    @cached_property
    def canned_reply_id(self) -> str:
        body = {"name": "where", "text": "Hi {name}, {order} is {order_status}."}
        return self.call("POST", "/api/v1/inbox/canned-replies", 201, json=body)["id"]

    @cached_property
    def comment_id(self) -> str:
        """A comment on the Instagram account's post (the platform is its simulator)."""
        simulators = create_sandbox(("messenger",))
        self.monkeypatch.setattr(
            channel_http, "open_client", lambda url: TestClient(simulators, base_url=url)
        )
        account = self.call(
            "POST",
            "/api/v1/inbox/accounts",
            201,
            json={
                "platform": "instagram",
                "name": "auth-instagram",
                "instagram_account_id": messenger_sim.INSTAGRAM_ID,
                "page_id": messenger_sim.PAGE_ID,
                "access_token": messenger_sim.ACCESS_TOKEN,
                "app_secret": messenger_sim.APP_SECRET,
                "verify_token": VERIFY_TOKEN,
                "base_url": "http://sandbox.test/messenger",
            },
        )
        control = TestClient(simulators, base_url="http://sandbox.test/messenger/_sandbox")
        comment = {"platform": "instagram", "sender": "99", "name": "ada", "text": "price?"}
        payload = control.post("/comments", json=comment).json()["payload"]
        raw, headers = whatsapp_signed(payload, messenger_sim.APP_SECRET)
        response = self.client.post(account["webhook_path"], content=raw, headers=headers)
        assert response.json()["stored"] == 1
        [message] = self.call("GET", "/api/v1/conversations")["items"]
        return self.call("GET", f"/api/v1/conversations/{message['id']}")["messages"][0]["id"]

    def privacy_request(self, kind: str) -> str:
        body = {"kind": kind, "regime": "gdpr", "email": "ada@example.com"}
        return self.call("POST", "/api/v1/privacy/requests", 201, json=body)["id"]

    @cached_property
    def deletion_code(self) -> str:
        """The confirmation code of a deletion Meta asked for (the WhatsApp number's app)."""
        path = f"/privacy/meta/{self.inbox_account['id']}/data-deletion"
        form = {
            "signed_request": meta_signed_request(
                {"algorithm": "HMAC-SHA256", "user_id": "1"}, APP_SECRET
            )
        }
        response = self.client.post(path, data=form)
        assert response.status_code == 200, response.text
        return response.json()["confirmation_code"]

    @cached_property
    def customer_id(self) -> str:
        """The profile of the order's buyer."""
        return self.order["customer_id"]

    def other_customer_id(self, email: str = "grace@example.com") -> str:
        body = {
            "lines": [{"sku": self.sku, "quantity": 1}],
            "customer": {"email": email},
        }
        return self.call("POST", "/api/v1/orders", 201, json=body)["customer_id"]

    @cached_property
    def suggestion_id(self) -> str:
        """The same email typed on two orders (unverified): a suggested merge."""
        _ = self.customer_id
        self.other_customer_id("ada@example.com")
        return self.call("GET", "/api/v1/customers/suggestions")[0]["id"]

    @cached_property
    def merge_id(self) -> str:
        body = {"other_id": self.other_customer_id(), "reason": "one person"}
        return self.call("POST", f"/api/v1/customers/{self.customer_id}/merges", 201, json=body)[
            "id"
        ]

    @cached_property
    def segment_id(self) -> str:
        body = {"name": "buyers", "filters": {"min_orders": 1}}
        return self.call("POST", "/api/v1/segments", 201, json=body)["id"]

    @cached_property
    def product_set_id(self) -> str:
        body = {"channel_id": self.channel_id, "segment_id": self.segment_id}
        return self.call("POST", "/api/v1/recommendations/product-sets", 201, json=body)["id"]

    @cached_property
    def live_event_id(self) -> str:
        """A scheduled live event with the product in its running order, pinned."""
        body = {"title": "Auth live", "products": [{"sku": self.sku}]}
        event_id = self.call("POST", "/api/v1/live-events", 201, json=body)["id"]
        self.call("POST", f"/api/v1/live-events/{event_id}/pin", json={"sku": self.sku})
        return event_id

    @cached_property
    def live_on_air_id(self) -> str:
        """The live event, started."""
        self.call("POST", f"/api/v1/live-events/{self.live_event_id}/start")
        return self.live_event_id

    @cached_property
    def checkout_token(self) -> str:
        """A buyer's checkout, ready to pay (email and address given)."""
        token = start(self.client, items=((self.sku, 1),))["token"]
        fill(self.client, token)
        return token

    @cached_property
    def fraud_review_id(self) -> str:
        """An order held by fraud screening: a first order above 0 scores 1, held at 1."""
        settings = {
            "enabled": True,
            "hold_at": 1,
            "first_order_amount": 0,
            "weights": {"first_order_above": 1},
        }
        self.call("PUT", "/api/v1/fraud/settings", json=settings)
        token = start(self.client, items=((self.sku, 1),))["token"]
        fill(self.client, token)
        body = {"payment_method": "tok_visa", "expected_total": total_of(self.client, token)}
        done = self.client.post(
            f"/api/v1/checkouts/{token}/complete",
            json=body,
            headers={"Idempotency-Key": "auth-fraud"},
        )
        assert done.status_code == 200, done.text
        return self.call("GET", "/api/v1/fraud/reviews")["items"][0]["id"]


# ---------------------------------------------------------------- the table


@dataclass
class Request:
    """A request to a route: its path ids, query, JSON or multipart body, headers."""

    ids: dict[str, str] = field(default_factory=dict)
    params: dict[str, Any] | None = None
    json: Any = None
    files: dict | None = None
    content: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)


def _no_request(_shop: Shop) -> Request:
    return Request()


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # as the app spells it: /api/v1/orders/{order_id}
    # The scope a token needs; None for a public route, whose ``public`` says what
    # authenticates it instead (and where its refusals are tested).
    scope: str | None
    status: int  # what a valid request gets
    valid: Callable[[Shop], Request] = _no_request
    # Requests naming something that does not exist (each 404); None for a route
    # without an id.
    unknown: Callable[[Shop], list[Request]] | None = None
    public: str = ""
    # Served as an endless stream: checked against a real server.
    streams: bool = False

    @property
    def name(self) -> str:
        return f"{self.method} {self.path}"

    def ids(self) -> list[str]:
        return re.findall(r"\{(\w+)\}", self.path)

    def url(self, ids: dict[str, str]) -> str:
        return re.sub(r"\{(\w+)\}", lambda m: ids[m.group(1)], self.path)


def with_unknown_ids(valid: Callable[[Shop], Request]) -> Callable[[Shop], list[Request]]:
    """The valid request with each id in its path in turn replaced by one that does not
    exist (a real order with an unknown fulfillment, then an unknown order)."""

    def unknown(shop: Shop) -> list[Request]:
        requests = []
        for name in reversed(valid(shop).ids):
            request = valid(shop)
            request.ids[name] = UNKNOWN
            requests.append(request)
        return requests

    return unknown


def by_id(
    method: str,
    path: str,
    scope: str | None,
    status: int,
    valid: Callable[[Shop], Request],
    **extra,
) -> Route:
    """A route addressing something by id: 404 with ids that do not exist."""
    return Route(method, path, scope, status, valid, with_unknown_ids(valid), **extra)


def _creator(shop: Shop, **kwargs) -> Request:
    return Request(ids={"creator_id": shop.creator_id}, **kwargs)


def _offer(shop: Shop, **kwargs) -> Request:
    return Request(ids={"offer_id": shop.offer_id}, **kwargs)


def _ticket(shop: Shop, ticket: str) -> dict:
    return {
        "code": shop.offer_code,
        "location_id": "shop-1",
        "terminal_id": "till-1",
        "ticket": ticket,
        "subtotal": 1000,
        "currency": "USD",
    }


def _product(shop: Shop, **kwargs) -> Request:
    return Request(ids={"product_id": shop.product_id}, **kwargs)


def _translation(shop: Shop, product_id: str | None = None, **kwargs) -> Request:
    return Request(ids={"product_id": product_id or shop.product_id, "locale": "nl"}, **kwargs)


_TRANSLATIONS = (
    b"Type,Identification,Field,Locale,Market,Status,Default content,Translated content\n"
)


def _market(shop: Shop, **kwargs) -> Request:
    return Request(ids={"code": shop.market}, **kwargs)


def _fraud_review(shop: Shop, **kwargs) -> Request:
    return Request(ids={"assessment_id": shop.fraud_review_id}, **kwargs)


def _order(shop: Shop, **kwargs) -> Request:
    return Request(ids={"order_id": shop.order_id}, **kwargs)


def _reservation(shop: Shop, **kwargs) -> Request:
    return Request(ids={"reservation_id": shop.reservation_id}, **kwargs)


def _channel(shop: Shop, **kwargs) -> Request:
    return Request(ids={"channel_id": shop.channel_id}, **kwargs)


def _endpoint(shop: Shop, **kwargs) -> Request:
    return Request(ids={"endpoint_id": shop.endpoint_id}, **kwargs)


def _destination(shop: Shop, **kwargs) -> Request:
    return Request(ids={"destination_id": shop.destination_id}, **kwargs)


def _live(shop: Shop, **kwargs) -> Request:
    return Request(ids={"event_id": shop.live_event_id}, **kwargs)


def _ad_account(shop: Shop) -> Request:
    return Request(ids={"account_id": shop.ad_account_id})


def _job(shop: Shop) -> Request:
    return Request(ids={"job_id": shop.dead_job_id})


def _checkout(shop: Shop, **kwargs) -> Request:
    return Request(ids={"token": shop.checkout_token}, **kwargs)


def _pay(shop: Shop) -> Request:
    """Pay the total the checkout shows (the sandbox provider takes tok_visa)."""
    total = total_of(shop.client, shop.checkout_token)
    body = {"payment_method": "tok_visa", "expected_total": total}
    return _checkout(shop, json=body, headers={"Idempotency-Key": "auth-pay-1"})


def _return_request(shop: Shop) -> Request:
    _ = shop.fulfillment_id  # only what was shipped comes back
    return _order(shop, json={"lines": [{"line_id": shop.line_id, "quantity": 1}]})


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (20, 20), (10, 120, 40)).save(out, "PNG")
    return out.getvalue()


def _image(shop: Shop, **kwargs) -> Request:
    return Request(ids={"product_id": shop.product_id, "media_id": shop.image["id"]}, **kwargs)


def _collection(shop: Shop, **kwargs) -> Request:
    return Request(ids={"collection": shop.collection["id"]}, **kwargs)


def _member(shop: Shop) -> Request:
    return Request(ids={"collection": shop.collection["id"], "product_id": shop.product_id})


def _media_file(shop: Shop) -> Request:
    return Request(ids={"name": shop.image["url"].rsplit("/", 1)[-1]})


def _new_product(shop: Shop) -> Request:
    return Request(json={"title": "Cap", "variants": [{"sku": "AUTH-CAP", "price": 1500}]})


def _csv(shop: Shop) -> Request:
    # No "Variant Inventory Qty": catalog:write alone imports it (a quantity needs
    # inventory:write too; test_a_csv_that_sets_stock_also_needs_inventory_write).
    rows = b"Handle,Title,Variant SKU,Variant Price\nauth-mug,Mug,AUTH-MUG,9.50\n"
    return Request(files={"file": ("products.csv", rows, "text/csv")})


def _tiktok_webhook(shop: Shop) -> Request:
    raw = orjson.dumps({"tts_notification_id": "n-auth-1", "type": 1, "data": {}})
    signed = tiktok_signature(TIKTOK["app_key"], TIKTOK["app_secret"], raw)
    return Request(
        ids={"channel_id": shop.tiktok_channel_id},
        content=raw,
        headers={"Authorization": signed, "Content-Type": "application/json"},
    )


def _payment_webhook(shop: Shop) -> Request:
    raw = orjson.dumps({"id": "evt_auth_1", "type": "payment_intent.succeeded"})
    signed = hmac.new(SANDBOX_WEBHOOK_SECRET, raw, hashlib.sha256).hexdigest()
    return Request(
        ids={"provider": "sandbox"},
        content=raw,
        headers={SIGNATURE_HEADER: signed, "Content-Type": "application/json"},
    )


def _meta_deletion(shop: Shop) -> Request:
    payload = {"algorithm": "HMAC-SHA256", "user_id": "2"}
    return Request(
        ids={"account_id": shop.inbox_account["id"]},
        content=f"signed_request={meta_signed_request(payload, APP_SECRET)}".encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )


def _customer(shop: Shop, **kwargs) -> Request:
    return Request(ids={"customer_id": shop.customer_id}, **kwargs)


def _segment(shop: Shop, **kwargs) -> Request:
    return Request(ids={"segment_id": shop.segment_id}, **kwargs)


def _conversation(shop: Shop, **kwargs) -> Request:
    return Request(ids={"conversation_id": shop.conversation_id}, **kwargs)


def _inbox_account(shop: Shop, **kwargs) -> Request:
    return Request(ids={"platform": "whatsapp", "account_id": shop.inbox_account["id"]}, **kwargs)


def _whatsapp_check(shop: Shop) -> Request:
    params = {"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "42"}
    return _inbox_account(shop, params=params)


def _whatsapp_webhook(shop: Shop) -> Request:
    raw, headers = whatsapp_signed(notification([text_message("wamid.AUTH2", "hi", now())]))
    return _inbox_account(shop, content=raw, headers=headers)


def _comment(shop: Shop, **kwargs) -> Request:
    return Request(ids={"message_id": shop.comment_id}, **kwargs)


def _feed(shop: Shop) -> Request:
    _, _, channel_id, name = shop.feed_path.split("/")
    token, ext = name.rsplit(".", 1)
    return Request(ids={"channel_id": channel_id, "token": token, "ext": ext})


def _unknown_feeds(shop: Shop) -> list[Request]:
    """An unknown channel, another token, the token with another (real) channel: all the
    same 404, never saying which part was wrong. (An unknown format with the right token
    is a 422 naming the formats offered.)"""
    requests = [_feed(shop) for _ in range(3)]
    requests[0].ids["channel_id"] = UNKNOWN
    requests[1].ids["token"] = "not-the-token"
    requests[2].ids["channel_id"] = shop.tiktok_channel_id
    return requests


CHECKOUT_TOKEN = "public: the checkout token in the path is the buyer's key"
PLATFORM_SIGNED = "public: the platform's signature on the raw body (test_platform_webhook_*)"
PROVIDER_SIGNED = "public: the payment provider's signature (test_payment_webhook_*)"
FEED_TOKEN = "public: the secret feed token in the path"
PROBE = "public: a load balancer's probe, no data"
DOCS = "public: the API's own description"

ROUTES: list[Route] = [
    # ------------------------------------------------------------ inventory
    Route(
        "GET",
        "/api/v1/inventory",
        "inventory:read",
        200,
        lambda s: Request(params={"sku": s.sku}),
        unknown=lambda s: [Request(params={"sku": "NO-SUCH-SKU"})],
    ),
    Route(
        "POST",
        "/api/v1/inventory/adjustments",
        "inventory:write",
        201,
        lambda s: Request(json={"sku": s.sku, "quantity": 1}),
    ),
    Route(
        "POST",
        "/api/v1/inventory/reservations",
        "inventory:write",
        201,
        lambda s: Request(json={"lines": [{"sku": s.sku, "quantity": 1}]}),
    ),
    by_id(
        "GET",
        "/api/v1/inventory/reservations/{reservation_id}",
        "inventory:read",
        200,
        _reservation,
    ),
    by_id(
        "POST",
        "/api/v1/inventory/reservations/{reservation_id}/commit",
        "inventory:write",
        200,
        _reservation,
    ),
    by_id(
        "POST",
        "/api/v1/inventory/reservations/{reservation_id}/release",
        "inventory:write",
        200,
        _reservation,
    ),
    by_id(
        "POST",
        "/api/v1/inventory/reservations/{reservation_id}/extend",
        "inventory:write",
        200,
        lambda s: _reservation(s, json={"ttl_seconds": 600}),
    ),
    Route("GET", "/api/v1/inventory/locations", "inventory:read", 200),
    Route(
        "PUT",
        "/api/v1/inventory/locations/{code}",
        "inventory:write",
        200,
        lambda s: Request(ids={"code": "backroom"}, json={"name": "Back room"}),
    ),
    Route("GET", "/api/v1/inventory/channels", "inventory:read", 200),
    Route(
        "PUT",
        "/api/v1/inventory/channels/{channel}",
        "inventory:write",
        200,
        lambda s: Request(ids={"channel": "storefront"}, json={"buffer": 2}),
    ),
    # ------------------------------------------------------------ catalog
    Route("GET", "/api/v1/products", "catalog:read", 200),
    Route("POST", "/api/v1/products", "catalog:write", 201, _new_product),
    Route(
        "POST",
        "/api/v1/products/bulk",
        "catalog:write",
        200,
        lambda s: Request(json={"products": [_new_product(s).json]}),
    ),
    Route("POST", "/api/v1/products/import/shopify", "catalog:write", 200, _csv),
    Route("GET", "/api/v1/products/export/shopify", "catalog:read", 200),
    by_id("GET", "/api/v1/products/{product_id}", "catalog:read", 200, _product),
    by_id(
        "PATCH",
        "/api/v1/products/{product_id}",
        "catalog:write",
        200,
        lambda s: _product(s, json={"title": "Auth Tee, washed"}),
    ),
    by_id("DELETE", "/api/v1/products/{product_id}", "catalog:write", 204, _product),
    by_id(
        "POST",
        "/api/v1/products/{product_id}/media",
        "catalog:write",
        201,
        lambda s: _product(s, files={"file": ("tee.png", _png(), "image/png")}),
    ),
    by_id(
        "PATCH",
        "/api/v1/products/{product_id}/media/{media_id}",
        "catalog:write",
        200,
        lambda s: _image(s, json={"alt": "A green tee"}),
    ),
    by_id("DELETE", "/api/v1/products/{product_id}/media/{media_id}", "catalog:write", 204, _image),
    by_id(
        "GET",
        "/media/{name}",
        None,
        200,
        _media_file,
        public="public: product images, for the shop's visitors and the platforms",
    ),
    Route("GET", "/api/v1/collections", "catalog:read", 200),
    Route(
        "POST",
        "/api/v1/collections",
        "catalog:write",
        201,
        lambda s: Request(json={"title": "New in", "product_ids": [s.product_id]}),
    ),
    by_id("GET", "/api/v1/collections/{collection}", "catalog:read", 200, _collection),
    by_id(
        "PATCH",
        "/api/v1/collections/{collection}",
        "catalog:write",
        200,
        lambda s: _collection(s, json={"title": "Auth favourites"}),
    ),
    by_id("DELETE", "/api/v1/collections/{collection}", "catalog:write", 204, _collection),
    by_id("GET", "/api/v1/collections/{collection}/products", "catalog:read", 200, _collection),
    by_id(
        "POST",
        "/api/v1/collections/{collection}/products",
        "catalog:write",
        200,
        lambda s: _collection(s, json={"product_ids": [s.product_id]}),
    ),
    by_id(
        "DELETE",
        "/api/v1/collections/{collection}/products/{product_id}",
        "catalog:write",
        204,
        _member,
    ),
    Route(
        "POST",
        "/api/v1/products/import/translations",
        "catalog:write",
        200,
        lambda s: Request(files={"file": ("translations.csv", _TRANSLATIONS, "text/csv")}),
    ),
    Route("GET", "/api/v1/products/export/translations", "catalog:read", 200),
    by_id("GET", "/api/v1/products/{product_id}/translations", "catalog:read", 200, _product),
    by_id(
        "GET",
        "/api/v1/products/{product_id}/localized",
        "catalog:read",
        200,
        lambda s: _product(s, params={"locale": "nl-BE"}),
    ),
    Route(
        "PUT",
        "/api/v1/products/{product_id}/translations/{locale}",
        "catalog:write",
        200,
        lambda s: _translation(s, json={"title": "T-shirt"}),
        lambda s: [_translation(s, UNKNOWN, json={"title": "T-shirt"})],
    ),
    Route(
        "DELETE",
        "/api/v1/products/{product_id}/translations/{locale}",
        "catalog:write",
        204,
        _translation,
        lambda s: [_translation(s, UNKNOWN)],
    ),
    Route(
        "GET",
        "/api/v1/variants",
        "catalog:read",
        200,
        lambda s: Request(params={"sku": s.sku}),
    ),
    by_id(
        "GET",
        "/api/v1/variants/{variant_id}",
        "catalog:read",
        200,
        lambda s: Request(ids={"variant_id": s.variant_id}),
    ),
    # ------------------------------------------------------------ orders
    Route("GET", "/api/v1/orders", "orders:read", 200),
    Route(
        "POST",
        "/api/v1/orders",
        "orders:write",
        201,
        lambda s: Request(json={"lines": [{"sku": s.sku, "quantity": 1}]}),
    ),
    by_id("GET", "/api/v1/orders/{order_id}", "orders:read", 200, _order),
    by_id(
        "POST",
        "/api/v1/orders/{order_id}/fulfillments",
        "orders:write",
        201,
        lambda s: _order(s, json={"carrier": "UPS", "tracking_number": "1Z999"}),
    ),
    by_id(
        "PUT",
        "/api/v1/orders/{order_id}/fulfillments/{fulfillment_id}/tracking",
        "orders:write",
        200,
        lambda s: Request(
            ids={"order_id": s.order_id, "fulfillment_id": s.fulfillment_id},
            json={"carrier": "UPS", "tracking_number": "1Z000"},
        ),
    ),
    by_id(
        "POST",
        "/api/v1/orders/{order_id}/refunds",
        "orders:write",
        201,
        lambda s: _order(s, json={"amount": 100, "reason": "late"}),
    ),
    by_id(
        "POST",
        "/api/v1/orders/{order_id}/cancel",
        "orders:write",
        200,
        lambda s: _order(s, json={"reason": "asked by the buyer"}),
    ),
    by_id(
        "POST",
        "/api/v1/orders/{order_id}/hold",
        "orders:write",
        200,
        lambda s: _order(s, json={"reason": "address check"}),
    ),
    by_id(
        "POST",
        "/api/v1/orders/{order_id}/release",
        "orders:write",
        200,
        lambda s: Request(ids={"order_id": s.held_order_id}),
    ),
    by_id(
        "POST",
        "/api/v1/orders/{order_id}/returns",
        "orders:write",
        201,
        _return_request,
    ),
    by_id(
        "POST",
        "/api/v1/orders/{order_id}/returns/{return_id}/receive",
        "orders:write",
        200,
        lambda s: Request(ids={"order_id": s.order_id, "return_id": s.return_id}),
    ),
    by_id(
        "POST",
        "/api/v1/orders/{order_id}/returns/{return_id}/refund",
        "orders:write",
        200,
        lambda s: Request(ids={"order_id": s.order_id, "return_id": s.received_return_id}),
    ),
    # ------------------------------------------------------------ channels
    Route("GET", "/api/v1/channels", "channels:read", 200),
    Route(
        "POST",
        "/api/v1/channels",
        "channels:write",
        201,
        lambda s: Request(
            params={"verify": "false"},
            json={
                "kind": "pinterest",
                "name": "pins",
                "base_url": f"{NOWHERE}/pinterest",
                "credentials": {"access_token": "pin-token"},
                "settings": {"catalog_mode": "api"},
            },
        ),
    ),
    Route("GET", "/api/v1/channels/markets", "channels:read", 200),
    by_id(
        "PUT",
        "/api/v1/channels/{channel_id}/market",
        "channels:write",
        200,
        lambda s: _channel(s, json={"market": None}),
    ),
    by_id("GET", "/api/v1/channels/{channel_id}", "channels:read", 200, _channel),
    by_id(
        "PATCH",
        "/api/v1/channels/{channel_id}",
        "channels:write",
        200,
        lambda s: _channel(s, params={"verify": "false"}, json={"name": "meta-eu"}),
    ),
    by_id("DELETE", "/api/v1/channels/{channel_id}", "channels:write", 200, _channel),
    by_id("POST", "/api/v1/channels/{channel_id}/feed-token", "channels:write", 200, _channel),
    by_id("GET", "/api/v1/channels/{channel_id}/feed-rules", "channels:read", 200, _channel),
    by_id(
        "PUT",
        "/api/v1/channels/{channel_id}/feed-rules",
        "channels:write",
        200,
        lambda s: _channel(s, json={"rules": [{"then": {"action": "exclude"}}]}),
    ),
    by_id(
        "POST",
        "/api/v1/channels/{channel_id}/feed-rules/preview",
        "channels:read",
        200,
        lambda s: _channel(s, json={"rules": []}),
    ),
    by_id(
        "POST",
        "/api/v1/channels/{channel_id}/publish",
        "channels:write",
        200,
        lambda s: _channel(s, json={"dry_run": True}),
    ),
    by_id("GET", "/api/v1/channels/{channel_id}/listings", "channels:read", 200, _channel),
    by_id("GET", "/api/v1/channels/{channel_id}/exclusions", "channels:read", 200, _channel),
    by_id(
        "POST",
        "/api/v1/channels/{channel_id}/inclusion",
        "channels:write",
        200,
        lambda s: _channel(s, json={"included": False, "variant_ids": [s.variant_id]}),
    ),
    # ------------------------------------------------------------ events
    Route("GET", "/api/v1/events", "events:read", 200),
    Route("GET", "/api/v1/events/stream", "events:read", 200, streams=True),
    by_id(
        "GET",
        "/api/v1/events/{event_id}",
        "events:read",
        200,
        lambda s: Request(ids={"event_id": s.event_id}),
    ),
    # ------------------------------------------------------------ jobs
    Route("GET", "/api/v1/jobs", "admin", 200),
    by_id("GET", "/api/v1/jobs/{job_id}", "admin", 200, _job),
    by_id("POST", "/api/v1/jobs/{job_id}/retry", "admin", 200, _job),
    # ------------------------------------------------------------ outgoing webhooks
    Route(
        "POST",
        "/api/v1/webhooks/endpoints",
        "webhooks:write",
        201,
        lambda s: Request(json={"url": f"{NOWHERE}/other", "event_types": ["order.*"]}),
    ),
    Route("GET", "/api/v1/webhooks/endpoints", "webhooks:read", 200),
    by_id("GET", "/api/v1/webhooks/endpoints/{endpoint_id}", "webhooks:read", 200, _endpoint),
    by_id(
        "PATCH",
        "/api/v1/webhooks/endpoints/{endpoint_id}",
        "webhooks:write",
        200,
        lambda s: _endpoint(s, json={"description": "the warehouse"}),
    ),
    by_id("DELETE", "/api/v1/webhooks/endpoints/{endpoint_id}", "webhooks:write", 204, _endpoint),
    # The secret lets one forge deliveries: reading it takes the write scope.
    by_id(
        "GET",
        "/api/v1/webhooks/endpoints/{endpoint_id}/secret",
        "webhooks:write",
        200,
        _endpoint,
    ),
    by_id(
        "POST",
        "/api/v1/webhooks/endpoints/{endpoint_id}/secret/rotate",
        "webhooks:write",
        200,
        lambda s: _endpoint(s, json={}),
    ),
    by_id(
        "POST",
        "/api/v1/webhooks/endpoints/{endpoint_id}/redeliver",
        "webhooks:write",
        202,
        lambda s: _endpoint(s, json={"event_id": s.event_id}),
    ),
    Route("GET", "/api/v1/webhooks/deliveries", "webhooks:read", 200),
    by_id(
        "GET",
        "/api/v1/webhooks/deliveries/{delivery_id}",
        "webhooks:read",
        200,
        lambda s: Request(ids={"delivery_id": s.delivery_id}),
    ),
    # ------------------------------------------------------------ analytics
    Route(
        "POST",
        "/api/v1/analytics/touches",
        None,
        200,
        lambda s: Request(json={"kind": "visit", "event_id": "auth-visit-1"}),
        public="public: a shop visitor's browser; no money, strictly checked, rate limited",
    ),
    Route("GET", "/api/v1/analytics/kpis", "analytics:read", 200),
    Route("GET", "/api/v1/analytics/attribution", "analytics:read", 200),
    Route(
        "GET",
        "/api/v1/analytics/clv",
        "analytics:read",
        200,
        lambda s: Request(params={"currency": s.clv_currency}),
    ),
    Route("POST", "/api/v1/analytics/clv/fits", "analytics:write", 202, lambda s: Request(json={})),
    by_id(
        "GET",
        "/api/v1/analytics/export/{file_name}",
        "analytics:read",
        200,
        lambda s: Request(ids={"file_name": "touches.parquet"}),
    ),
    Route("GET", "/api/v1/recommendations/experiments", "recommendations:read", 200),
    Route(
        "POST",
        "/api/v1/recommendations/experiments",
        "recommendations:write",
        201,
        lambda s: Request(json={"name": "row", "arm_a": "together", "arm_b": "none"}),
    ),
    by_id(
        "GET",
        "/api/v1/recommendations/experiments/{experiment_id}",
        "recommendations:read",
        200,
        lambda s: Request(ids={"experiment_id": s.experiment_id}),
    ),
    by_id(
        "POST",
        "/api/v1/recommendations/experiments/{experiment_id}/stop",
        "recommendations:write",
        200,
        lambda s: Request(ids={"experiment_id": s.experiment_id}),
    ),
    # ------------------------------------------------------------ conversions sent back
    Route(
        "POST",
        "/api/v1/analytics/conversion-destinations",
        "analytics:write",
        201,
        lambda s: Request(json={"platform": "tiktok", "source_id": "C1", "access_token": "t"}),
    ),
    Route("GET", "/api/v1/analytics/conversion-destinations", "analytics:read", 200),
    by_id(
        "PATCH",
        "/api/v1/analytics/conversion-destinations/{destination_id}",
        "analytics:write",
        200,
        lambda s: _destination(s, json={"enabled": False}),
    ),
    by_id(
        "DELETE",
        "/api/v1/analytics/conversion-destinations/{destination_id}",
        "analytics:write",
        204,
        _destination,
    ),
    Route("GET", "/api/v1/analytics/conversion-deliveries", "analytics:read", 200),
    # ------------------------------------------------------------ ad reports
    Route(
        "POST",
        "/api/v1/analytics/ad-accounts",
        "analytics:write",
        201,
        lambda s: Request(
            json={"platform": "pinterest", "account_id": "549755885175", "access_token": "t"}
        ),
    ),
    Route("GET", "/api/v1/analytics/ad-accounts", "analytics:read", 200),
    by_id(
        "POST",
        "/api/v1/analytics/ad-accounts/{account_id}/pull",
        "analytics:write",
        200,
        _ad_account,
    ),
    by_id(
        "DELETE", "/api/v1/analytics/ad-accounts/{account_id}", "analytics:write", 204, _ad_account
    ),
    # ------------------------------------------------------------ checkout
    Route(
        "POST",
        "/api/v1/checkouts",
        None,
        201,
        lambda s: Request(json={"lines": [{"sku": s.sku, "quantity": 1}]}),
        public="public: anyone may start a checkout; its answer holds the checkout token",
    ),
    by_id("GET", "/api/v1/checkouts/{token}", None, 200, _checkout, public=CHECKOUT_TOKEN),
    by_id(
        "PATCH",
        "/api/v1/checkouts/{token}",
        None,
        200,
        lambda s: _checkout(s, json={"phone": "+14155550100"}),
        public=CHECKOUT_TOKEN,
    ),
    by_id(
        "POST",
        "/api/v1/checkouts/{token}/complete",
        None,
        200,
        _pay,
        public=CHECKOUT_TOKEN,
    ),
    # ------------------------------------------------------------ creators
    Route(
        "POST",
        "/api/v1/creators",
        "creators:write",
        201,
        lambda s: Request(
            json={
                "handle": "bea",
                "name": "Bea",
                "commission": {"kind": "percentage", "value": 500},
            }
        ),
    ),
    Route("GET", "/api/v1/creators", "creators:read", 200),
    Route("GET", "/api/v1/creators/roi", "creators:read", 200),
    by_id("GET", "/api/v1/creators/{creator_id}", "creators:read", 200, _creator),
    by_id("GET", "/api/v1/creators/{creator_id}/figures", "creators:read", 200, _creator),
    by_id(
        "POST",
        "/api/v1/creators/{creator_id}/codes",
        "creators:write",
        201,
        lambda s: _creator(s, json={"code": "ADA10"}),
    ),
    by_id("GET", "/api/v1/creators/{creator_id}/commissions", "creators:read", 200, _creator),
    by_id(
        "POST",
        "/api/v1/creators/{creator_id}/payouts",
        "creators:write",
        201,
        lambda s: _creator(
            s,
            json={"period_start": "2026-01-01T00:00:00Z", "period_end": "2026-02-01T00:00:00Z"},
        ),
    ),
    by_id("GET", "/api/v1/creators/{creator_id}/payouts", "creators:read", 200, _creator),
    by_id(
        "PATCH",
        "/api/v1/creators/{creator_id}",
        "creators:write",
        200,
        lambda s: _creator(s, json={"tiers": [{"above": 100000, "value": 1500}]}),
    ),
    # No connected account in this shop: the payout has no transfer to send.
    by_id(
        "POST",
        "/api/v1/creators/payouts/{payout_id}/transfer",
        "creators:write",
        409,
        lambda s: Request(ids={"payout_id": s.payout_id}),
    ),
    Route("GET", "/api/v1/creators/posts", "creators:read", 200),
    Route(
        "POST",
        "/api/v1/creators/posts",
        "creators:write",
        201,
        lambda s: Request(json={"reference": "reel-1", "product_ids": [s.product_id]}),
    ),
    by_id(
        "PUT",
        "/api/v1/creators/posts/{post_id}/products",
        "creators:write",
        200,
        lambda s: Request(ids={"post_id": s.post_id}, json={"product_ids": [s.product_id]}),
    ),
    by_id(
        "GET",
        "/api/v1/creators/payouts/{payout_id}/statement.csv",
        "creators:read",
        200,
        lambda s: Request(ids={"payout_id": s.payout_id}),
    ),
    # ------------------------------------------------------------ offers and the till
    Route(
        "POST",
        "/api/v1/offers",
        "offers:write",
        201,
        lambda s: Request(
            json={"name": "Welcome", "kind": "percentage", "value": 10, "code": "WELCOME10"}
        ),
    ),
    Route("GET", "/api/v1/offers", "offers:read", 200),
    by_id("GET", "/api/v1/offers/{offer_id}", "offers:read", 200, _offer),
    by_id(
        "PATCH",
        "/api/v1/offers/{offer_id}",
        "offers:write",
        200,
        lambda s: _offer(s, json={"note": "n"}),
    ),
    by_id("GET", "/api/v1/offers/{offer_id}/codes", "offers:read", 200, _offer),
    by_id(
        "POST",
        "/api/v1/offers/{offer_id}/codes",
        "offers:write",
        201,
        lambda s: _offer(s, json={"count": 3}),
    ),
    by_id("GET", "/api/v1/offers/{offer_id}/codes.csv", "offers:read", 200, _offer),
    by_id(
        "GET",
        "/api/v1/offers/codes/{code}/qr.svg",
        "offers:read",
        200,
        lambda s: Request(ids={"code": s.offer_code}),
    ),
    by_id("GET", "/api/v1/offers/{offer_id}/redemptions", "offers:read", 200, _offer),
    Route(
        "POST",
        "/api/v1/pos/validate",
        "pos:write",
        200,
        lambda s: Request(json={"code": s.offer_code, "subtotal": 1000, "currency": "USD"}),
    ),
    Route(
        "POST",
        "/api/v1/pos/redemptions",
        "pos:write",
        201,
        lambda s: Request(json=_ticket(s, "T1")),
    ),
    Route(
        "POST",
        "/api/v1/pos/redemptions/import",
        "pos:write",
        200,
        lambda s: Request(
            files={
                "file": (
                    "offline.csv",
                    f"code,location_id,terminal_id,ticket,subtotal,currency\n"
                    f"{s.offer_code},shop-1,till-1,T9,1000,USD\n".encode(),
                    "text/csv",
                )
            }
        ),
    ),
    by_id(
        "POST",
        "/api/v1/pos/redemptions/{redemption_id}/void",
        "pos:write",
        200,
        lambda s: Request(ids={"redemption_id": s.pos_redemption_id}),
    ),
    # ------------------------------------------------------------ markets
    Route("GET", "/api/v1/markets", "markets:read", 200),
    Route(
        "POST",
        "/api/v1/markets",
        "markets:write",
        201,
        lambda s: Request(
            json={
                "code": "us",
                "name": "United States",
                "countries": ["US"],
                "currency": "USD",
                "languages": ["en"],
                "tax_mode": "exclusive",
            }
        ),
    ),
    by_id("GET", "/api/v1/markets/{code}", "markets:read", 200, _market),
    by_id(
        "PATCH",
        "/api/v1/markets/{code}",
        "markets:write",
        200,
        lambda s: _market(s, json={"duties": "ddp"}),
    ),
    by_id("DELETE", "/api/v1/markets/{code}", "markets:write", 204, _market),
    by_id("GET", "/api/v1/markets/{code}/prices", "markets:read", 200, _market),
    by_id(
        "PUT",
        "/api/v1/markets/{code}/prices",
        "markets:write",
        200,
        lambda s: _market(s, json={"prices": [{"sku": s.sku, "price": "24.95"}]}),
    ),
    Route("GET", "/api/v1/fx-rates", "markets:read", 200),
    Route(
        "POST",
        "/api/v1/fx-rates",
        "markets:write",
        200,
        lambda s: Request(json={"content": "currency,rate,date\nEUR,0.92,2026-12-04\n"}),
    ),
    # ------------------------------------------------------------ fraud
    Route("GET", "/api/v1/fraud/reviews", "fraud:read", 200),
    by_id("GET", "/api/v1/fraud/reviews/{assessment_id}", "fraud:read", 200, _fraud_review),
    by_id(
        "POST", "/api/v1/fraud/reviews/{assessment_id}/approve", "fraud:write", 200, _fraud_review
    ),
    by_id(
        "POST", "/api/v1/fraud/reviews/{assessment_id}/cancel", "fraud:write", 200, _fraud_review
    ),
    Route("GET", "/api/v1/fraud/settings", "fraud:read", 200),
    Route(
        "PUT",
        "/api/v1/fraud/settings",
        "fraud:write",
        200,
        lambda s: Request(json={"hold_at": 70}),
    ),
    # ------------------------------------------------------------ payments
    by_id(
        "POST",
        "/api/v1/payments/webhooks/{provider}",
        None,
        200,
        _payment_webhook,
        public=PROVIDER_SIGNED,
    ),
    Route("GET", "/api/v1/payments/provider", "admin", 200),
    Route(
        "PUT",
        "/api/v1/payments/provider",
        "admin",
        200,
        lambda s: Request(json={"name": "sandbox"}),
    ),
    # ------------------------------------------------------------ inbox
    Route(
        "POST",
        "/api/v1/inbox/accounts",
        "inbox:write",
        201,
        lambda s: Request(json={**WHATSAPP, "name": "other", "phone_number_id": "2"}),
    ),
    Route("GET", "/api/v1/inbox/accounts", "inbox:read", 200),
    by_id(
        "PUT",
        "/api/v1/inbox/accounts/{account_id}/automation",
        "inbox:write",
        200,
        lambda s: Request(ids={"account_id": s.inbox_account["id"]}, json={"order_status": True}),
    ),
    Route("GET", "/api/v1/conversations", "inbox:read", 200),
    by_id("GET", "/api/v1/conversations/{conversation_id}", "inbox:read", 200, _conversation),
    by_id(
        "PATCH",
        "/api/v1/conversations/{conversation_id}",
        "inbox:write",
        200,
        lambda s: _conversation(s, json={"status": "resolved", "read": True}),
    ),
    by_id(
        "POST",
        "/api/v1/conversations/{conversation_id}/messages",
        "inbox:write",
        202,
        lambda s: _conversation(s, json={"type": "text", "text": "Hello!"}),
    ),
    by_id(
        "POST",
        "/api/v1/conversations/{conversation_id}/checkout-links",
        "inbox:write",
        202,
        lambda s: _conversation(s, json={"items": [{"sku": s.sku, "quantity": 1}]}),
    ),
    by_id(
        "POST",
        "/api/v1/conversations/{conversation_id}/notes",
        "inbox:write",
        201,
        lambda s: _conversation(s, json={"text": "Called the carrier."}),
    ),
    Route("GET", "/api/v1/inbox/canned-replies", "inbox:read", 200),
    Route(
        "POST",
        "/api/v1/inbox/canned-replies",
        "inbox:write",
        201,
        lambda s: Request(json={"name": "thanks", "text": "Thank you {name}!"}),
    ),
    by_id(
        "PUT",
        "/api/v1/inbox/canned-replies/{reply_id}",
        "inbox:write",
        200,
        lambda s: Request(
            ids={"reply_id": s.canned_reply_id}, json={"name": "where", "text": "Hi {name}!"}
        ),
    ),
    by_id(
        "DELETE",
        "/api/v1/inbox/canned-replies/{reply_id}",
        "inbox:write",
        204,
        lambda s: Request(ids={"reply_id": s.canned_reply_id}),
    ),
    by_id(
        "POST",
        "/api/v1/inbox/comments/{message_id}/replies",
        "inbox:write",
        202,
        lambda s: _comment(s, json={"text": "Sent you a message!"}),
    ),
    *(
        by_id(
            "POST", f"/api/v1/inbox/comments/{{message_id}}/{action}", "inbox:write", 200, _comment
        )
        for action in ("hide", "show", "delete")
    ),
    # A comment carries no file: 404 once the token may read the inbox (files themselves
    # are in tests/inbox/test_received_files.py).
    Route(
        "GET",
        "/api/v1/inbox/messages/{message_id}/media",
        "inbox:read",
        404,
        _comment,
        with_unknown_ids(_comment),
    ),
    # ------------------------------------------------------------ privacy
    Route(
        "POST",
        "/api/v1/privacy/requests",
        "privacy:write",
        201,
        lambda s: Request(json={"kind": "access", "regime": "ccpa", "email": "ada@example.com"}),
    ),
    Route("GET", "/api/v1/privacy/requests", "privacy:read", 200),
    Route("GET", "/api/v1/privacy/audit", "privacy:read", 200),
    by_id(
        "GET",
        "/api/v1/privacy/requests/{request_id}",
        "privacy:read",
        200,
        lambda s: Request(ids={"request_id": s.privacy_request("access")}),
    ),
    by_id(
        "POST",
        "/api/v1/privacy/requests/{request_id}/export",
        "privacy:write",
        200,
        lambda s: Request(ids={"request_id": s.privacy_request("access")}),
    ),
    by_id(
        "POST",
        "/api/v1/privacy/requests/{request_id}/erase",
        "privacy:write",
        200,
        lambda s: Request(ids={"request_id": s.privacy_request("erasure")}),
    ),
    by_id(
        "POST",
        "/privacy/meta/{account_id}/data-deletion",
        None,
        200,
        _meta_deletion,
        public="public: signed by the Meta app's secret (tests/privacy/test_meta_deletion.py)",
    ),
    by_id(
        "GET",
        "/privacy/deletion/{code}",
        None,
        200,
        lambda s: Request(ids={"code": s.deletion_code}),
        public="public: the person's confirmation code is the key; the page holds no data",
    ),
    # ------------------------------------------------------------ outside /api
    by_id(
        "GET",
        "/webhooks/{platform}/{account_id}",
        None,
        200,
        _whatsapp_check,
        public="public: Meta's subscription check proves the verify token",
    ),
    by_id(
        "POST",
        "/webhooks/{platform}/{account_id}",
        None,
        200,
        _whatsapp_webhook,
        public=PLATFORM_SIGNED,
    ),
    by_id("POST", "/webhooks/{channel_id}", None, 200, _tiktok_webhook, public=PLATFORM_SIGNED),
    Route(
        "GET",
        "/feeds/{channel_id}/{token}.{ext}",
        None,
        200,
        _feed,
        unknown=_unknown_feeds,
        public=FEED_TOKEN,
    ),
    # ------------------------------------------------------------ customers and segments
    Route("GET", "/api/v1/customers", "customers:read", 200),
    Route("GET", "/api/v1/customers/suggestions", "customers:read", 200),
    by_id(
        "POST",
        "/api/v1/customers/suggestions/{suggestion_id}/accept",
        "customers:write",
        200,
        lambda s: Request(ids={"suggestion_id": s.suggestion_id}),
    ),
    by_id(
        "POST",
        "/api/v1/customers/suggestions/{suggestion_id}/dismiss",
        "customers:write",
        200,
        lambda s: Request(ids={"suggestion_id": s.suggestion_id}),
    ),
    by_id(
        "POST",
        "/api/v1/customers/merges/{merge_id}/undo",
        "customers:write",
        200,
        lambda s: Request(ids={"merge_id": s.merge_id}),
    ),
    by_id("GET", "/api/v1/customers/{customer_id}", "customers:read", 200, _customer),
    by_id(
        "PATCH",
        "/api/v1/customers/{customer_id}",
        "customers:write",
        200,
        lambda s: _customer(s, json={"tags": ["vip"], "notes": "Prefers WhatsApp"}),
    ),
    by_id("GET", "/api/v1/customers/{customer_id}/timeline", "customers:read", 200, _customer),
    by_id(
        "POST",
        "/api/v1/customers/{customer_id}/merges",
        "customers:write",
        201,
        lambda s: _customer(s, json={"other_id": s.other_customer_id(), "reason": "one person"}),
    ),
    by_id("GET", "/api/v1/customers/{customer_id}/consents", "customers:read", 200, _customer),
    by_id(
        "POST",
        "/api/v1/customers/{customer_id}/consents",
        "customers:write",
        201,
        lambda s: _customer(
            s,
            json={
                "purpose": "marketing",
                "channel": "email",
                "granted": True,
                "wording": "Send me news and offers by email",
            },
        ),
    ),
    Route("GET", "/api/v1/segments", "customers:read", 200),
    Route(
        "POST",
        "/api/v1/segments",
        "customers:write",
        201,
        lambda s: Request(json={"name": "vip", "filters": {"tags": ["vip"]}}),
    ),
    by_id("GET", "/api/v1/segments/{segment_id}", "customers:read", 200, _segment),
    by_id(
        "PATCH",
        "/api/v1/segments/{segment_id}",
        "customers:write",
        200,
        lambda s: _segment(s, json={"filters": {"min_revenue": 1000}}),
    ),
    by_id("DELETE", "/api/v1/segments/{segment_id}", "customers:write", 204, _segment),
    by_id("GET", "/api/v1/segments/{segment_id}/members", "customers:read", 200, _segment),
    # ------------------------------------------------------------ recommendations
    Route("GET", "/api/v1/recommendations/versions", "recommendations:read", 200),
    Route("POST", "/api/v1/recommendations/versions", "recommendations:write", 202),
    by_id(
        "GET",
        "/api/v1/recommendations/products/{product_id}",
        "recommendations:read",
        200,
        lambda s: Request(ids={"product_id": s.product_id}),
    ),
    by_id(
        "GET",
        "/api/v1/recommendations/customers/{customer_id}",
        "recommendations:read",
        200,
        _customer,
    ),
    Route("GET", "/api/v1/recommendations/rules", "recommendations:read", 200),
    Route(
        "POST",
        "/api/v1/recommendations/rules",
        "recommendations:write",
        201,
        lambda s: Request(json={"product_id": s.product_id, "action": "exclude"}),
    ),
    Route("GET", "/api/v1/recommendations/product-sets", "recommendations:read", 200),
    Route(
        "POST",
        "/api/v1/recommendations/product-sets",
        "recommendations:write",
        201,
        lambda s: Request(json={"channel_id": s.channel_id, "segment_id": s.segment_id}),
    ),
    Route("POST", "/api/v1/recommendations/product-sets/push", "recommendations:write", 202),
    by_id(
        "DELETE",
        "/api/v1/recommendations/product-sets/{product_set_id}",
        "recommendations:write",
        204,
        lambda s: Request(ids={"product_set_id": s.product_set_id}),
    ),
    by_id(
        "DELETE",
        "/api/v1/recommendations/rules/{rule_id}",
        "recommendations:write",
        204,
        lambda s: Request(
            ids={
                "rule_id": s.call(
                    "POST",
                    "/api/v1/recommendations/rules",
                    201,
                    json={"product_id": s.product_id, "action": "pin"},
                )["id"]
            }
        ),
    ),
    # ------------------------------------------------------------ live events
    Route("GET", "/api/v1/live-events", "live:read", 200),
    Route(
        "POST",
        "/api/v1/live-events",
        "live:write",
        201,
        lambda s: Request(json={"title": "Drop", "products": [{"sku": s.sku}]}),
    ),
    by_id("GET", "/api/v1/live-events/{event_id}", "live:read", 200, _live),
    by_id("POST", "/api/v1/live-events/{event_id}/start", "live:write", 200, _live),
    by_id("POST", "/api/v1/live-events/{event_id}/end", "live:write", 200, _live),
    by_id(
        "POST",
        "/api/v1/live-events/{event_id}/pin",
        "live:write",
        200,
        lambda s: _live(s, json={"sku": s.sku, "live_price": 1900}),
    ),
    by_id("POST", "/api/v1/live-events/{event_id}/unpin", "live:write", 200, _live),
    by_id(
        "PUT",
        "/api/v1/live-events/{event_id}/live-price",
        "live:write",
        200,
        lambda s: _live(s, json={"live_price": 1500}),
    ),
    by_id("GET", "/api/v1/live-events/{event_id}/stock", "live:read", 200, _live),
    by_id(
        "PUT",
        "/api/v1/live-events/{event_id}/pools",
        "live:write",
        200,
        lambda s: _live(s, json={"sku": s.sku, "pools": {"storefront": 5}}),
    ),
    by_id(
        "POST",
        "/api/v1/live-events/{event_id}/moves",
        "live:write",
        200,
        lambda s: _live(s, json={"sku": s.sku, "to_channel": "storefront", "units": 2}),
    ),
    by_id("GET", "/api/v1/live-events/{event_id}/moments", "live:read", 200, _live),
    by_id(
        "POST",
        "/api/v1/live-events/{event_id}/admission",
        None,
        201,
        lambda s: Request(ids={"event_id": s.live_on_air_id}, json={"quantity": 1}),
        public="public: anyone may queue for the pinned product; its pass is its buyer's",
    ),
    by_id(
        "POST",
        "/api/v1/live-events/{event_id}/buy",
        None,
        201,
        lambda s: Request(ids={"event_id": s.live_on_air_id}, json={"quantity": 1}),
        public="public: anyone may buy the pinned product; its answer holds the checkout token",
    ),
    by_id(
        "PUT",
        "/api/v1/live-events/{event_id}/gate",
        "live:write",
        204,
        lambda s: _live(s, json={"sku": s.sku, "units": 10}),
    ),
    by_id("GET", "/api/v1/live-events/{event_id}/counters", "live:read", 200, _live),
    Route("GET", "/healthz", None, 200, public=PROBE),
    Route("GET", "/readyz", None, 200, public=PROBE),
    Route("GET", "/openapi.json", None, 200, public=DOCS),
    Route("GET", "/docs", None, 200, public=DOCS),
    Route("GET", "/docs/oauth2-redirect", None, 200, public=DOCS),
    Route("GET", "/redoc", None, 200, public=DOCS),
]

SCOPED = [r for r in ROUTES if r.scope is not None]
WITH_IDS = [r for r in ROUTES if r.unknown is not None]


def ids(routes: list[Route]) -> list[str]:
    return [r.name for r in routes]


def app_routes(app) -> set[tuple[str, str]]:
    """(method, path) of every route the app serves, included routers flattened."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # FastAPI before included routers kept their own routes
        found = app.routes
    else:
        found = list(iter_route_contexts(app.routes))
    return {
        (method, route.path)
        for route in found
        if getattr(route, "path", None) and getattr(route, "methods", None)
        for method in route.methods
        if method != "HEAD"
    }


def test_every_route_is_in_the_table(app):
    served = {(method, path) for method, path in app_routes(app) if not path.startswith(HTML_HEADS)}
    listed = {(r.method, r.path) for r in ROUTES}
    assert len(listed) == len(ROUTES), "a route is listed twice"
    assert sorted(served - listed) == [], "routes without auth tests: add them to ROUTES"
    assert sorted(listed - served) == [], "rows for routes the app no longer serves"
    assert all(r.public for r in ROUTES if r.scope is None), "say why a route is public"
    assert {r.scope for r in SCOPED} <= ALL_SCOPES


def test_each_success_status_is_the_documented_one(client):
    paths = client.get("/openapi.json").json()["paths"]
    for route in ROUTES:
        operation = paths.get(route.path, {}).get(route.method.lower())
        if operation is not None:
            assert str(route.status) in operation["responses"], route.name


# ---------------------------------------------------------------- the requests


@pytest.fixture
def shop(client, admin, sessions, monkeypatch) -> Shop:
    return Shop(client, admin, sessions, monkeypatch)


def send(client, route: Route, request: Request, token: dict[str, str] | None = None):
    return client.request(
        route.method,
        route.url(request.ids),
        params=request.params,
        json=request.json,
        files=request.files,
        content=request.content,
        headers={**request.headers, **(token or {})},
    )


def placeholder_ids(route: Route) -> dict[str, str]:
    return {name: UNKNOWN for name in route.ids()}


def assert_problem(response, status: int, slug: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["type"] == f"/problems/{slug}"
    assert body["status"] == status
    assert body["title"] and body["detail"]
    return body


def all_scopes_but(scope: str) -> list[str]:
    """Every scope that does not grant ``scope`` (e.g. catalog:read for catalog:write)."""
    return sorted(s for s in ALL_SCOPES if not grants([s], scope))


@pytest.mark.parametrize("route", SCOPED, ids=ids(SCOPED))
def test_no_token_or_an_unknown_one_is_401(route, client):
    request = Request(ids=placeholder_ids(route))
    response = send(client, route, request)
    body = assert_problem(response, 401, "unauthorized")
    assert "Bearer" in body["detail"]
    assert response.headers["www-authenticate"] == "Bearer"
    forged = send(client, route, request, {"Authorization": "Bearer mct_not-a-token"})
    assert_problem(forged, 401, "unauthorized")


@pytest.mark.parametrize("route", SCOPED, ids=ids(SCOPED))
def test_a_token_without_the_scope_is_403(route, client, make_token):
    token = make_token(*all_scopes_but(route.scope))
    response = send(client, route, Request(ids=placeholder_ids(route)), token)
    body = assert_problem(response, 403, "forbidden")
    assert body["required_scope"] == route.scope


def test_a_csv_that_sets_stock_also_needs_inventory_write(client, make_token):
    route = next(r for r in ROUTES if r.path == "/api/v1/products/import/shopify")
    rows = b"Handle,Title,Variant SKU,Variant Price,Variant Inventory Qty\na,A,A-1,1,5\n"
    request = Request(files={"file": ("products.csv", rows, "text/csv")})
    token = make_token(*all_scopes_but("inventory:write"))
    body = assert_problem(send(client, route, request, token), 403, "forbidden")
    assert body["required_scope"] == "inventory:write"
    both = make_token(route.scope, "inventory:write")
    assert send(client, route, request, both).status_code == 200


@pytest.mark.parametrize("route", WITH_IDS, ids=ids(WITH_IDS))
def test_an_unknown_id_is_404(route, client, shop, make_token):
    token = make_token(route.scope) if route.scope else None
    for request in route.unknown(shop):
        assert_problem(send(client, route, request, token), 404, "not-found")


VALID = [r for r in ROUTES if not r.streams]


@pytest.mark.parametrize("route", VALID, ids=ids(VALID))
def test_a_valid_request_with_the_scope_succeeds(route, client, shop, make_token):
    request = route.valid(shop)
    token = make_token(route.scope) if route.scope else None
    response = send(client, route, request, token)
    assert response.status_code == route.status, response.text


STREAMS = [r for r in ROUTES if r.streams]


@pytest.mark.parametrize("route", STREAMS, ids=ids(STREAMS))
def test_a_stream_opens_with_the_scope(route, live_server, make_token):
    with httpx.stream(
        route.method, live_server + route.path, headers=make_token(route.scope), timeout=30
    ) as response:
        assert response.status_code == route.status
        assert response.headers["content-type"].startswith("text/event-stream")


# ---------------------------------------------------------------- public routes' own keys


def test_platform_webhook_with_a_bad_signature_is_401_and_stores_nothing(client, shop):
    request = _tiktok_webhook(shop)
    request.headers["Authorization"] = "0" * 64
    route = next(r for r in ROUTES if r.path == "/webhooks/{channel_id}")
    assert_problem(send(client, route, request), 401, "bad-signature")
    unsigned = _tiktok_webhook(shop)
    del unsigned.headers["Authorization"]
    assert_problem(send(client, route, unsigned), 401, "bad-signature")
    # The same delivery, signed, is taken as new: the refusals left nothing behind.
    response = send(client, route, _tiktok_webhook(shop))
    assert response.status_code == 200 and response.json()["duplicate"] is False


def test_payment_webhook_with_a_bad_signature_is_400(client, shop):
    route = next(r for r in ROUTES if r.path == "/api/v1/payments/webhooks/{provider}")
    request = _payment_webhook(shop)
    request.headers[SIGNATURE_HEADER] = "0" * 64
    assert_problem(send(client, route, request), 400, "webhook-rejected")
    assert send(client, route, _payment_webhook(shop)).json() == {"outcome": "ignored"}


def test_an_api_token_opens_no_checkout(client, admin):
    """The checkout token is the only key: an admin token does not stand in for it."""
    response = client.get(f"/api/v1/checkouts/{UNKNOWN}", headers=admin)
    assert_problem(response, 404, "not-found")
