"""Helpers the tests of several areas share; shared fixtures are in tests/conftest.py."""

from __future__ import annotations

import re

from sqlalchemy import event, select

from mercato.auth import service as auth_service
from mercato.catalog.models import Variant
from mercato.channels.models import Listing
from mercato.db import transaction

# Where the platform simulators answer, in-process (the ``sandbox`` fixture).
SANDBOX = "http://sandbox.test"
GTIN = "4006381333931"

# A buyer's shipping address (in the US, with tax).
ADDRESS = {
    "name": "Ada Buyer",
    "line1": "1 Market St",
    "city": "San Francisco",
    "region": "CA",
    "postal_code": "94105",
    "country": "US",
}
# The buyer's details as the shop's checkout form posts them.
BUYER = {"email": "ada@example.com", **ADDRESS, "shipping_rate": "us-standard"}

_HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)"')
_VARIANT = re.compile(r'name="variant_id" value="([^"]+)"')


def log_in(client, sessions, *scopes: str, name: str = "owner"):
    """Sign ``client`` in to the dashboard with a new token of ``scopes``; the answer
    (303 to the token's home, or the refusal)."""
    with transaction(sessions) as session:
        secret = auth_service.create_token(session, name, list(scopes)).secret
    return client.post("/admin/login", data={"token": secret}, follow_redirects=False)


def signed_in(client, sessions, *scopes: str, name: str = "owner"):
    """``client``, signed in to the dashboard with a new token of ``scopes``."""
    assert log_in(client, sessions, *scopes, name=name).status_code == 303
    return client


def hidden_fields(html: str) -> dict[str, str]:
    """A page's hidden form fields (CSRF token, the total shown...) by name."""
    return dict(_HIDDEN.findall(html))


def csrf_of(html: str) -> str:
    """The CSRF token of a page's form."""
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def buy_form(html: str) -> dict[str, str]:
    """What a product page's Buy button posts: its hidden fields and the variant."""
    return {**hidden_fields(html), "variant_id": _VARIANT.search(html).group(1)}


def open_checkout(client, product_page: str = "/shop/p/hoodie") -> tuple[str, str]:
    """Tap Buy on a product page of the shop: the checkout page's URL and HTML."""
    html = client.get(product_page).text
    bought = client.post("/shop/buy", data=buy_form(html), follow_redirects=False)
    url = bought.headers["location"]
    return url, client.get(url).text


def pay_on_page(client, url: str, details: dict, **kwargs):
    """A buyer without the page's script: the details are saved (Update totals), the
    page shows the total, and Pay posts it."""
    fields = hidden_fields(client.get(url).text)
    client.post(url, data={"csrf": fields["csrf"], "action": "update", **details})
    fields = hidden_fields(client.get(url).text)
    return client.post(url, data={**fields, "action": "pay", **details}, **kwargs)


def tee(handle="tee", skus=("TEE-S", "TEE-M"), barcode=GTIN, **extra) -> dict:
    return {
        "handle": handle,
        "title": "Organic Tee",
        "description_html": "<p>Soft &amp; <b>organic</b>.</p>",
        "vendor": "Acme",
        "status": "active",
        "google_category": 212,
        "options": ["Color", "Size"],
        "gender": "unisex",
        "age_group": "adult",
        "media": [{"url": "https://cdn.example.com/tee.jpg"}],
        "variants": [
            {
                "sku": sku,
                "option_values": ["Blue", sku.rsplit("-", 1)[1]],
                "price": 2500,
                "barcode": barcode,
                "mpn": f"MPN-{sku}",
                "weight": "145",
            }
            for sku in skus
        ],
        **extra,
    }


CREDENTIALS = {
    "meta": {"access_token": "meta-token"},
    # An OAuth client with a refresh token; google-auth mints the access tokens.
    "google": {
        "client_id": "1234-sim.apps.googleusercontent.com",
        "client_secret": "sim-secret",
        "refresh_token": "1//sim-refresh",
        "token_uri": f"{SANDBOX}/google/token",
    },
    "tiktok": {"app_key": "29a39d", "app_secret": "e59af819cc", "access_token": "tt-token"},
    "pinterest": {"access_token": "pin-token"},
}
SETTINGS = {
    "meta": {"catalog_id": "cat1"},
    "google": {"account_id": "123", "data_source_id": "ds1"},
    "tiktok": {"category_id": "601226"},
    "pinterest": {"catalog_mode": "api"},
}


def list_in_meta_catalog(sessions, sandbox, product, channel_id: str, sku: str = "TEE-M") -> None:
    """``sku`` approved in the Meta channel's catalog, as the WhatsApp simulator's catalog
    ``cat1`` knows it (product cards name it)."""
    with transaction(sessions) as session:
        variant = session.scalar(select(Variant).where(Variant.sku == sku))
        session.add(
            Listing(
                channel_id=channel_id,
                variant_id=variant.id,
                product_id=product.id,
                item_id=sku,
                verdict="approved",
            )
        )
    sandbox.put("/whatsapp/_sandbox/catalogs/cat1", json={"retailer_ids": [sku]})


def written_sql(engine, sessions, write):
    """``write(session)`` in one transaction: what it returned and the SQL statements it
    sent (COPY is not a statement here)."""
    seen: list[str] = []
    listener = lambda *args: seen.append(args[2])  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        with transaction(sessions) as session:
            outcome = write(session)
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    return outcome, seen
