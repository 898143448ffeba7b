"""Helpers the tests of several areas share; shared fixtures are in tests/conftest.py."""

from __future__ import annotations

import re

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
