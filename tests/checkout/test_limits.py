"""One visitor cannot hoard the shop: units per line, open checkouts per visitor, and a
shorter hold when a SKU runs scarce."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from mercato.checkout import limits
from mercato.checkout.models import Checkout
from mercato.db import utcnow
from tests.checkout.helpers import make_shop
from tests.helpers import hidden_fields


def _open(sessions) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(Checkout))


def test_a_line_holds_at_most_ten_units(client, sessions):
    make_shop(sessions, on_hand=300)
    response = client.post(
        "/api/v1/checkouts", json={"lines": [{"sku": "HOODIE-M", "quantity": 11}]}
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "body.lines[0].quantity"
    assert _open(sessions) == 0


def test_a_visitor_holds_at_most_three_open_checkouts(client, sessions):
    ids = make_shop(sessions, on_hand=300)
    form = {**hidden_fields(client.get("/shop/p/hoodie").text), "variant_id": ids["HOODIE-M"]}
    for _ in range(limits.MAX_OPEN_PER_VISITOR):
        assert client.post("/shop/buy", data=form, follow_redirects=False).status_code == 303
    refused = client.post("/shop/buy", data=form, follow_redirects=False)
    assert refused.status_code == 429 and "checkouts open already" in refused.text
    assert _open(sessions) == limits.MAX_OPEN_PER_VISITOR
    # The same visitor through the API (the shop's cookie) is the same visitor.
    api = client.post("/api/v1/checkouts", json={"lines": [{"sku": "HOODIE-M", "quantity": 1}]})
    assert api.status_code == 429 and api.json()["type"] == "/problems/too-many-requests"
    # Another visitor is not held back.
    client.cookies.clear()
    other = {**hidden_fields(client.get("/shop/p/hoodie").text), "variant_id": ids["HOODIE-M"]}
    assert client.post("/shop/buy", data=other, follow_redirects=False).status_code == 303


def test_a_hold_that_leaves_a_sku_scarce_is_short(client, sessions):
    make_shop(sessions, on_hand_by_size={"S": 12, "M": 20})
    plenty = client.post("/api/v1/checkouts", json={"lines": [{"sku": "HOODIE-M", "quantity": 2}]})
    scarce = client.post("/api/v1/checkouts", json={"lines": [{"sku": "HOODIE-S", "quantity": 10}]})
    assert plenty.status_code == scarce.status_code == 201
    now = utcnow()
    with sessions() as session:
        holds = {c.id: c.expires_at - now for c in session.scalars(select(Checkout))}
    assert holds[plenty.json()["id"]] > timedelta(minutes=14)
    assert timedelta(minutes=4) < holds[scarce.json()["id"]] <= limits.SHORT_HOLD
