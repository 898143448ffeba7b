"""The dashboard as a merchant uses it: log in with a token, look, act."""

import re
from datetime import datetime

import pytest

from mercato.analytics import reports
from mercato.auth import service as auth_service
from mercato.db import transaction
from tests.helpers import csrf_of


@pytest.fixture
def token(sessions):
    with transaction(sessions) as session:
        return auth_service.create_token(session, "owner", ["admin"]).secret


@pytest.fixture
def browser(client, token):
    response = client.post("/admin/login", data={"token": token}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/admin"
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/admin" in cookie
    return client


@pytest.fixture
def order(client, admin):
    client.post(
        "/api/v1/products",
        headers=admin,
        json={"handle": "mug", "title": "Mug", "variants": [{"sku": "MUG-1", "price": 1200}]},
    )
    response = client.post(
        "/api/v1/orders",
        headers=admin,
        json={
            "channel": "tiktok-shop",
            "external_id": "T-1",
            "payment_status": "paid",
            "lines": [{"sku": "MUG-1", "quantity": 2}],
            "customer": {"name": "Ada", "email": "ada@example.com"},
            "attribution": {"source": "tiktok", "content_id": "video-9"},
        },
    )
    return response.json()


def test_pages_need_a_login(client):
    response = client.get("/admin/orders", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/admin/login"


def test_a_wrong_token_is_refused_on_the_login_page(client):
    response = client.post("/admin/login", data={"token": "mct_wrong"})
    assert response.status_code == 200
    assert "unknown or revoked" in response.text


def test_overview_shows_todays_sales_per_channel_and_the_chart(browser, order):
    page = browser.get("/admin")
    assert page.status_code == 200
    assert "tiktok-shop" in page.text and "24.00 USD" in page.text
    assert 'id="per-minute"' in page.text and "chart.umd.min.js" in page.text
    counts = re.search(r'data-counts="([^"]+)"', page.text).group(1)
    assert counts.startswith("[") and "1" in counts
    assert browser.get("/admin/static/vendor/chart.umd.min.js").status_code == 200


def test_orders_list_and_detail(browser, order):
    listing = browser.get("/admin/orders", params={"q": "ada@"})
    assert order["name"] in listing.text
    # Days placed, in the store's zone: today holds it, a past week does not.
    today = datetime.now(reports.store_zone()).date().isoformat()
    kept = browser.get("/admin/orders", params={"from": today, "to": today}).text
    assert order["name"] in kept and 'name="from" value="' + today in kept
    gone = browser.get("/admin/orders", params={"from": "2020-01-01", "to": "2020-01-07"})
    assert order["name"] not in gone.text
    detail = browser.get(f"/admin/orders/{order['id']}")
    assert "MUG-1" in detail.text and "video-9" in detail.text
    assert "Order #" in detail.text and "Fulfil remaining items" in detail.text


def test_fulfil_from_the_dashboard(browser, order, client, admin):
    detail = browser.get(f"/admin/orders/{order['id']}").text
    response = browser.post(
        f"/admin/orders/{order['id']}/fulfil",
        data={"csrf": csrf_of(detail), "carrier": "UPS", "tracking_number": "1Z42"},
    )
    assert response.status_code == 200 and "Fulfilled." in response.text
    api = client.get(f"/api/v1/orders/{order['id']}", headers=admin).json()
    assert api["status"] == "completed"
    assert api["fulfillments"][0]["tracking_number"] == "1Z42"
    assert "by dashboard:owner" in response.text


def test_refund_and_cancel_errors_show_on_the_page(browser, order):
    detail = browser.get(f"/admin/orders/{order['id']}").text
    line_id = order["lines"][0]["id"]
    refunded = browser.post(
        f"/admin/orders/{order['id']}/refund",
        data={
            "csrf": csrf_of(detail),
            "line_id": line_id,
            f"quantity:{line_id}": "1",
            "reason": "chipped",
        },
    )
    assert "Refunded 12.00 USD." in refunded.text
    browser.post(
        f"/admin/orders/{order['id']}/fulfil", data={"csrf": csrf_of(detail), "carrier": "UPS"}
    )
    cancelled = browser.post(f"/admin/orders/{order['id']}/cancel", data={"csrf": csrf_of(detail)})
    assert "has shipped items" in cancelled.text


def test_forms_without_the_csrf_token_are_refused(browser, order, client, admin):
    response = browser.post(f"/admin/orders/{order['id']}/cancel", data={"csrf": "forged"})
    assert response.status_code == 403
    assert client.get(f"/api/v1/orders/{order['id']}", headers=admin).json()["status"] == "open"


def test_a_read_only_token_sees_but_cannot_act(client, make_token, order, sessions):
    with transaction(sessions) as session:
        reader = auth_service.create_token(session, "viewer", ["catalog:read", "orders:read"])
    client.post("/admin/login", data={"token": reader.secret})
    detail = client.get(f"/admin/orders/{order['id']}").text
    response = client.post(f"/admin/orders/{order['id']}/cancel", data={"csrf": csrf_of(detail)})
    assert "lacks the &#39;orders:write&#39; scope" in response.text


def test_revoking_the_token_ends_the_session(browser, sessions):
    assert browser.get("/admin", follow_redirects=False).status_code == 200
    with transaction(sessions) as session:
        auth_service.revoke_token(session, auth_service.list_tokens(session)[0].id)
    assert browser.get("/admin", follow_redirects=False).status_code == 303


def test_logout(browser):
    csrf = csrf_of(browser.get("/admin").text)
    browser.post("/admin/logout", data={"csrf": csrf})
    assert browser.get("/admin", follow_redirects=False).status_code == 303


def test_catalog_pages(browser, order):
    listing = browser.get("/admin/catalog", params={"q": "MUG"})
    assert "Mug" in listing.text
    product_id = re.search(r'href="/admin/catalog/(prod_\w+)"', listing.text).group(1)
    assert "MUG-1" in browser.get(f"/admin/catalog/{product_id}").text


def test_inventory_page_shows_levels_holds_and_ledger(browser, client, admin, order):
    client.post(
        "/api/v1/inventory/adjustments",
        headers=admin,
        json={"sku": "MUG-1", "quantity": 7, "reason": "delivery"},
    )
    client.post(
        "/api/v1/inventory/reservations",
        headers=admin,
        json={
            "channel": "storefront",
            "reference": "cart-1",
            "lines": [{"sku": "MUG-1", "quantity": 2}],
        },
    )
    lowest = browser.get("/admin/inventory")
    assert "MUG-1" in lowest.text
    page = browser.get("/admin/inventory", params={"sku": "MUG-1"})
    assert page.status_code == 200
    assert "cart-1" in page.text and "delivery" in page.text
    assert re.search(r'Available</div><div class="value">5<', page.text)
    missing = browser.get("/admin/inventory", params={"sku": "NOPE"})
    assert "No variant with SKU" in missing.text


def test_channels_and_webhooks_pages(browser, client, admin):
    response = client.post(
        "/api/v1/channels",
        headers=admin,
        # Nothing listens there: stored without the platform's check.
        params={"verify": "false"},
        json={
            "kind": "google",
            "name": "google-us",
            "country": "US",
            "language": "en",
            "currency": "USD",
            "base_url": "http://127.0.0.1:9/google",
            "credentials": {"client_id": "c", "client_secret": "s", "refresh_token": "r"},
            "settings": {"account_id": "123", "data_source_id": "ds1"},
        },
    )
    assert response.status_code == 201, response.text
    listing = browser.get("/admin/channels")
    assert "google-us" in listing.text and "In-app checkout" in listing.text
    detail = browser.get(f"/admin/channels/{response.json()['id']}")
    assert detail.status_code == 200 and "No items" in detail.text
    hook = client.post(
        "/api/v1/webhooks/endpoints", headers=admin, json={"url": "http://127.0.0.1:9/hook"}
    )
    assert hook.status_code == 201, hook.text
    endpoint_id = hook.json()["id"]
    assert "127.0.0.1:9/hook" in browser.get("/admin/webhooks").text
    assert browser.get(f"/admin/webhooks/{endpoint_id}").status_code == 200


def test_redeliver_from_the_dashboard(browser, client, admin, sessions):
    endpoint_id = client.post(
        "/api/v1/webhooks/endpoints", headers=admin, json={"url": "http://127.0.0.1:9/hook"}
    ).json()["id"]
    client.post(
        "/api/v1/products",
        headers=admin,
        json={"handle": "cup", "title": "Cup", "variants": [{"sku": "CUP-1", "price": 500}]},
    )
    event_id = client.get("/api/v1/events", headers=admin).json()["items"][0]["id"]
    csrf = csrf_of(browser.get(f"/admin/webhooks/{endpoint_id}").text)
    response = browser.post(
        f"/admin/webhooks/{endpoint_id}/redeliver", data={"csrf": csrf, "event_id": event_id}
    )
    assert f"Event {event_id} queued for redelivery." in response.text
    assert event_id in response.text  # the new delivery is listed


def test_the_overview_says_what_needs_attention_today(client, admin, sessions, order):
    from tests.helpers import signed_in

    signed_in(client, sessions, "orders:read")
    page = client.get("/admin").text
    section = page.split('id="attention"')[1].split("</section>")[0]
    assert "Nothing:" in section
    held = client.post(
        f"/api/v1/orders/{order['id']}/hold", headers=admin, json={"reason": "check address"}
    )
    assert held.status_code == 200, held.text
    signed_in(client, sessions, "orders:read", "inventory:read", "channels:read")
    section = client.get("/admin").text.split('id="attention"')[1].split("</section>")[0]
    assert "<strong>1</strong> orders on hold" in section
    assert 'href="/admin/orders?status=on_hold"' in section
    assert "or fewer left" not in section  # MUG-1's stock is not counted
    received = client.post(
        "/api/v1/inventory/adjustments",
        headers=admin,
        json={"sku": "MUG-1", "quantity": 3, "kind": "receipt"},
    )
    assert received.status_code == 201, received.text
    section = client.get("/admin").text.split('id="attention"')[1].split("</section>")[0]
    assert "<strong>1</strong> variants with 5 or fewer left" in section
    # A token that may not read inventory is not told about it.
    signed_in(client, sessions, "orders:read")
    assert "or fewer left" not in client.get("/admin").text
