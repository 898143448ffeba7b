"""The live viewer page: the pinned product at its live price with its counter; a buy
goes through the drop's gate (first come, first served, per-buyer limit) to a checkout
that charges the live price."""

from __future__ import annotations

import dataclasses
import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from mercato.checkout import service as checkout_service
from mercato.db import transaction
from mercato.live import tasks
from tests.checkout.helpers import make_shop
from tests.helpers import hidden_fields

API = "/api/v1/live-events"


@pytest.fixture
def live_event(client, admin, sessions) -> str:
    make_shop(sessions, on_hand=10, sizes=("M",))
    body = {
        "title": "Hoodie drop",
        "host": "Mia",
        "per_buyer_limit": 1,
        "platforms": [{"channel": "storefront", "url": "https://www.tiktok.com/@shop/live"}],
        "products": [{"sku": "HOODIE-M"}],
    }
    event_id = client.post(API, json=body, headers=admin).json()["id"]
    assert client.post(f"{API}/{event_id}/start", headers=admin).status_code == 200
    pin = {"sku": "HOODIE-M", "live_price": 1900}
    assert client.post(f"{API}/{event_id}/pin", json=pin, headers=admin).status_code == 200
    return event_id


def test_the_viewer_sees_the_pinned_product_at_its_live_price(client, live_event):
    page = client.get(f"/shop/live/{live_event}")
    assert page.status_code == 200
    html = page.text
    assert "Hoodie drop" in html and "with Mia" in html and "Cloud Hoodie" in html
    assert "$19.00" in html and "<s>$25.00</s>" in html
    assert re.search(r'id="left">10<', html) and "https://www.tiktok.com/@shop/live" in html


def test_a_buy_through_the_gate_checks_out_at_the_live_price(app, client, admin, live_event):
    gate = {"sku": "HOODIE-M", "units": 1}
    assert client.put(f"{API}/{live_event}/gate", json=gate, headers=admin).status_code == 204
    form = hidden_fields(client.get(f"/shop/live/{live_event}").text)
    bought = client.post(f"/shop/live/{live_event}/buy", data=form, follow_redirects=False)
    assert bought.status_code == 303, bought.text
    checkout = client.get(bought.headers["location"]).text
    assert "$19.00" in checkout and "$25.00" not in checkout
    again = client.post(f"/shop/live/{live_event}/buy", data=form)
    assert again.status_code == 409 and "limit per buyer" in again.text
    with TestClient(app) as other:  # another browser: the one unit is taken
        form = hidden_fields(other.get(f"/shop/live/{live_event}").text)
        late = other.post(f"/shop/live/{live_event}/buy", data=form)
    assert late.status_code == 409 and "Sold out" in late.text
    counters = client.get(f"{API}/{live_event}/counters", headers=admin).json()
    assert counters["left"] == 9  # one held by the checkout


def test_apps_buy_through_the_api_with_the_same_gate(app, client, admin, live_event):
    gate = {"sku": "HOODIE-M", "units": 1}
    assert client.put(f"{API}/{live_event}/gate", json=gate, headers=admin).status_code == 204
    with TestClient(app, cookies={"mercato_csrf": "visitor-1"}) as first:
        bought = first.post(f"{API}/{live_event}/buy", json={"quantity": 1})
        assert bought.status_code == 201, bought.text
        assert bought.json()["lines"][0]["unit_price"] == 1900 and bought.json()["token"]
        again = first.post(f"{API}/{live_event}/buy", json={"quantity": 1})
        assert again.status_code == 409 and again.json()["type"].endswith("/buyer-limit")
    with TestClient(app, cookies={"mercato_csrf": "visitor-2"}) as second:
        late = second.post(f"{API}/{live_event}/buy", json={"quantity": 1})
    assert late.status_code == 409 and late.json()["type"].endswith("/sold-out")


def test_a_buy_now_left_unpaid_gives_its_unit_to_the_next_viewer(
    app, client, admin, live_event, sessions, job_context
):
    gate = {"sku": "HOODIE-M", "units": 1}
    assert client.put(f"{API}/{live_event}/gate", json=gate, headers=admin).status_code == 204
    form = hidden_fields(client.get(f"/shop/live/{live_event}").text)
    bought = client.post(f"/shop/live/{live_event}/buy", data=form, follow_redirects=False)
    assert bought.status_code == 303, bought.text
    with TestClient(app) as other:
        other_form = hidden_fields(other.get(f"/shop/live/{live_event}").text)
        assert other.post(f"/shop/live/{live_event}/buy", data=other_form).status_code == 409

        later = dataclasses.replace(job_context, now=job_context.now + timedelta(hours=1))
        with transaction(sessions) as session:
            assert checkout_service.expire_lapsed(session, later.now) == 1
        tasks.lapse_admissions(later)

        now_in = other.post(f"/shop/live/{live_event}/buy", data=other_form, follow_redirects=False)
        assert now_in.status_code == 303, now_in.text
