"""The dashboard asks each page's scope as the API does: a catalog:read token sees the
catalog and nothing of orders, buyers, the ledger, channels or webhooks."""

from __future__ import annotations

import pytest

from tests.admin.test_dashboard import order  # noqa: F401
from tests.helpers import log_in


def test_a_catalog_reader_sees_the_catalog_and_no_order(client, sessions, order):  # noqa: F811
    signed_in = log_in(client, sessions, "catalog:read")
    assert signed_in.status_code == 303 and signed_in.headers["location"] == "/admin/catalog"
    catalog = client.get("/admin/catalog")
    assert catalog.status_code == 200 and "Mug" in catalog.text
    assert (
        'href="/admin/orders"' not in catalog.text and 'href="/admin/webhooks"' not in catalog.text
    )
    for path in (
        "/admin",
        "/admin/orders",
        f"/admin/orders/{order['id']}",
        "/admin/stream",
        "/admin/inventory",
        "/admin/channels",
        "/admin/webhooks",
    ):
        page = client.get(path, follow_redirects=False)
        assert page.status_code == 403, path
        assert "ada@example.com" not in page.text and "Ada" not in page.text


@pytest.mark.parametrize(
    "scopes,home,allowed,refused",
    [
        (
            ["orders:read"],
            "/admin",
            ["/admin", "/admin/orders"],
            ["/admin/catalog", "/admin/webhooks"],
        ),
        (["webhooks:read"], "/admin/webhooks", ["/admin/webhooks"], ["/admin", "/admin/channels"]),
        (["inventory:write"], "/admin/inventory", ["/admin/inventory"], ["/admin/orders"]),
        (["admin"], "/admin", ["/admin", "/admin/catalog", "/admin/webhooks"], []),
    ],
)
def test_each_page_asks_its_own_scope(client, sessions, scopes, home, allowed, refused):
    assert log_in(client, sessions, *scopes).headers["location"] == home
    for path in allowed:
        assert client.get(path).status_code == 200, path
    for path in refused:
        assert client.get(path).status_code == 403, path


def test_a_token_that_reads_no_page_cannot_log_in(client, sessions):
    refused = log_in(client, sessions, "events:read")
    assert refused.status_code == 200 and "can read no page" in refused.text
    assert client.get("/admin/catalog", follow_redirects=False).status_code == 303
