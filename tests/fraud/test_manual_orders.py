"""Orders the merchant enters (a phone sale, a till's sale sent through the API) are screened
like the checkout's when screening is on; the "first order above" amount is set per
currency where one figure does not fit all (¥25,000 is not $250.00)."""

from __future__ import annotations

from mercato.fraud import rules
from mercato.fraud.rules import Policy, Signals
from tests.fraud.test_screening import _configure


def _manual(client, admin, email: str, currency: str, unit_price: int, **extra):
    body = {
        "channel": "pos",
        "currency": currency,
        "lines": [{"title": "Tea set", "unit_price": unit_price, "quantity": 1}],
        "customer": {"name": "Walk-in", "email": email},
        "payment_status": "paid",
        **extra,
    }
    response = client.post("/api/v1/orders", json=body, headers=admin)
    assert response.status_code == 201, response.text
    return response.json()


def test_a_manual_order_is_screened_when_screening_is_on(client, admin):
    unscreened = _manual(client, admin, "a@mailinator.com", "USD", 50_000)
    assert unscreened["status"] != "on_hold"
    _configure(client, admin, hold_at=50)
    held = _manual(client, admin, "b@mailinator.com", "USD", 50_000)
    # Throw-away email (30) + first order above 250.00 (25).
    assert held["status"] == "on_hold"
    queue = client.get("/api/v1/fraud/reviews", headers=admin).json()
    [review] = [r for r in queue["items"] if r["order_id"] == held["id"]]
    assert {r["rule"] for r in review["reasons"]} == {"disposable_email", "first_order_above"}
    # A known buyer's ordinary order passes.
    passed = _manual(client, admin, "ada@example.com", "USD", 2_000)
    assert passed["status"] != "on_hold"
    # The same order sent again (same external id) is not screened twice.
    again = {"external_id": "till-1:ticket-9"}
    first = _manual(client, admin, "c@mailinator.com", "USD", 50_000, **again)
    response = client.post(
        "/api/v1/orders",
        json={
            "channel": "pos",
            "currency": "USD",
            "lines": [{"title": "Tea set", "unit_price": 50_000, "quantity": 1}],
            "customer": {"name": "Walk-in", "email": "c@mailinator.com"},
            **again,
        },
        headers=admin,
    )
    assert response.status_code == 200 and response.json()["id"] == first["id"]
    queue = client.get("/api/v1/fraud/reviews", headers=admin).json()
    assert len([r for r in queue["items"] if r["order_id"] == first["id"]]) == 1


def test_the_first_order_amount_is_set_per_currency(client, admin):
    saved = _configure(
        client,
        admin,
        hold_at=20,
        weights={"disposable_email": 0},
        first_order_amounts={"jpy": 30_000},
    )
    assert saved["first_order_amounts"] == {"JPY": 30_000}
    assert saved["first_order_amount"] == 25_000
    # ¥28,000 is under the yen's own amount; 280.00 dollars is above the one for the rest.
    assert _manual(client, admin, "d@example.com", "JPY", 28_000)["status"] != "on_hold"
    assert _manual(client, admin, "e@example.com", "USD", 28_000)["status"] == "on_hold"
    assert _manual(client, admin, "f@example.com", "JPY", 31_000)["status"] == "on_hold"
    # null removes the yen's own amount; an unknown currency is refused by name.
    removed = _configure(client, admin, first_order_amounts={"JPY": None})
    assert removed["first_order_amounts"] == {}
    refused = client.put(
        "/api/v1/fraud/settings", json={"first_order_amounts": {"XXQ": 5}}, headers=admin
    )
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["loc"] == ["first_order_amounts", "XXQ"]


def test_the_rule_reads_the_currencys_own_amount():
    policy = Policy(
        enabled=True,
        hold_at=50,
        cancel_at=None,
        window_minutes=60,
        limits={},
        weights=dict(rules.RULES),
        first_order_amount=25_000,
        first_order_amounts={"JPY": 30_000},
    )
    yen = rules.score(Signals(channel="pos", amount=28_000, currency="JPY"), {}, policy)
    dollars = rules.score(Signals(channel="pos", amount=28_000, currency="USD"), {}, policy)
    assert [r["rule"] for r in yen.reasons] == []
    assert [r["rule"] for r in dollars.reasons] == ["first_order_above"]
    assert "above 250.00" in dollars.reasons[0]["reason"]
