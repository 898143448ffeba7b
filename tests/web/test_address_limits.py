"""Anonymous starts are limited per client address: checkouts (API and shop) and sign-in
link requests; a refused start holds nothing and sends nothing."""

from __future__ import annotations

import pytest

from mercato.config import get_settings
from mercato.web import address_limits
from tests.checkout.helpers import make_shop
from tests.helpers import buy_form, hidden_fields, open_checkout
from tests.orders.test_lifecycle import snapshot


@pytest.fixture
def limits(monkeypatch):
    """Limits on, with windows of their own (no hits left over from other tests)."""
    monkeypatch.setattr(address_limits, "_windows", {})

    def set_limits(**values):
        for name, value in values.items():
            monkeypatch.setenv(f"MERCATO_{name.upper()}", str(value))
        get_settings.cache_clear()

    return set_limits


def test_a_window_allows_its_limit_then_says_how_long_to_wait():
    window = address_limits.AddressWindow(2, 60)
    assert window.hit("10.0.0.1", now=0) is None
    assert window.hit("10.0.0.1", now=10) is None
    assert window.hit("10.0.0.1", now=20) == pytest.approx(40)
    assert window.hit("10.0.0.2", now=20) is None  # another address has its own count
    assert window.hit("10.0.0.1", now=61) is None  # the first hit has left the window


def test_checkout_starts_beyond_the_limit_are_refused_and_hold_nothing(client, sessions, limits):
    make_shop(sessions, on_hand=50)
    limits(checkout_starts_per_minute=2)
    body = {"lines": [{"sku": "HOODIE-M", "quantity": 1}]}
    for _ in range(2):
        assert client.post("/api/v1/checkouts", json=body).status_code == 201
    before = snapshot(client.app.state.sessions.read)
    refused = client.post("/api/v1/checkouts", json=body)
    assert refused.status_code == 429
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert "try again in" in refused.json()["detail"]
    assert snapshot(client.app.state.sessions.read) == before


def test_the_shop_counts_its_checkout_starts_with_the_api(client, sessions, limits):
    make_shop(sessions, on_hand=50)
    limits(checkout_starts_per_minute=1)
    form = buy_form(client.get("/shop/p/hoodie").text)
    assert client.post("/shop/buy", data=form, follow_redirects=False).status_code == 303
    before = snapshot(client.app.state.sessions.read)
    refused = client.post("/shop/buy", data=form, follow_redirects=False)
    assert refused.status_code == 429 and "try again in" in refused.text
    assert snapshot(client.app.state.sessions.read) == before


def test_sign_in_link_requests_beyond_the_limit_are_refused(client, sessions, limits):
    make_shop(sessions, on_hand=50)
    limits(login_links_per_hour=1)
    url, html = open_checkout(client)
    fields = hidden_fields(html)
    asked = client.post(f"{url}/login-link", data={**fields, "email": "ada@example.com"})
    assert asked.status_code == 200 and "sign-in link is on its way" in asked.text
    before = snapshot(client.app.state.sessions.read)
    refused = client.post(f"{url}/login-link", data={**fields, "email": "bob@example.com"})
    assert refused.status_code == 429 and "try again in" in refused.text
    assert snapshot(client.app.state.sessions.read) == before
