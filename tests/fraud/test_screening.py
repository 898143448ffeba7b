"""Fraud screening through the real checkout API: a card-testing burst is held after the
configured threshold, a known repeat buyer passes, approve releases, cancel refunds
exactly, and the settings refuse a wrong value by its field."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from mercato.fraud import rules
from mercato.fraud.models import Assessment, Decision
from mercato.orders.models import Order
from mercato.payments import service as payments
from tests.checkout.helpers import fill, make_shop, start, total_of
from tests.helpers import ADDRESS

BURST = 30
DEVICE_LIMIT = 5


def _buy(client, email: str, device: str | None, method: str = "tok_visa", key: str = "k"):
    body = start(client)
    fill(client, body["token"], email=email)
    payload = {"payment_method": method, "expected_total": total_of(client, body["token"])}
    if device:
        payload["device_id"] = device
    done = client.post(
        f"/api/v1/checkouts/{body['token']}/complete",
        json=payload,
        headers={"Idempotency-Key": key},
    )
    assert done.status_code in (200, 409), done.text
    return done


def _orders(sessions) -> list[Order]:
    with sessions() as session:
        return list(
            session.scalars(select(Order).options(selectinload(Order.lines)).order_by(Order.number))
        )


def _configure(client, admin, **body):
    response = client.put("/api/v1/fraud/settings", json={"enabled": True, **body}, headers=admin)
    assert response.status_code == 200, response.text
    return response.json()


def test_a_card_testing_burst_is_held_after_the_configured_threshold(client, sessions, admin):
    make_shop(sessions, on_hand=BURST + 5, price=100)
    _configure(
        client,
        admin,
        hold_at=50,
        # Every sandbox card is one of two test cards: the device is what this burst shares.
        limits={"velocity_device": DEVICE_LIMIT, "velocity_ip": 10_000, "velocity_card": 10_000},
        weights={"velocity_device": 50},
    )
    for i in range(BURST):
        done = _buy(client, f"tester{i}@example.com", "device-burst", key=f"b{i}")
        # A held order is placed and paid; the buyer is not told it is held.
        assert done.status_code == 200 and done.json()["status"] == "completed"
    orders = _orders(sessions)
    assert len(orders) == BURST
    statuses = [o.status for o in orders]
    assert statuses[:DEVICE_LIMIT] == ["open"] * DEVICE_LIMIT
    assert statuses[DEVICE_LIMIT:] == ["on_hold"] * (BURST - DEVICE_LIMIT)
    assert all(o.attention_reason.startswith("Fraud review") for o in orders[DEVICE_LIMIT:])

    queue = client.get("/api/v1/fraud/reviews", headers=admin).json()["items"]
    assert len(queue) == BURST - DEVICE_LIMIT
    first = queue[0]
    assert first["order_number"] == orders[DEVICE_LIMIT].number
    assert first["score"] >= 50 and first["status"] == "held"
    assert [r["rule"] for r in first["reasons"]] == ["velocity_device"]
    assert "6 orders from one device in an hour (over 5)" in first["reasons"][0]["reason"]
    assert first["signals"]["device_id"] == "device-burst"
    assert first["log"][0]["actor"] == "fraud-rules" and first["log"][0]["decision"] == "hold"

    # A held order cannot be fulfilled until a merchant approves it.
    held = orders[DEVICE_LIMIT]
    refused = client.post(
        f"/api/v1/orders/{held.id}/fulfillments",
        json={"lines": [{"line_id": held.lines[0].id, "quantity": 1}]},
        headers=admin,
    )
    assert refused.status_code == 409, refused.text


def test_a_known_repeat_buyer_passes(client, sessions, admin):
    make_shop(sessions, on_hand=20, price=2500)
    _configure(client, admin, hold_at=50)
    for i in range(3):
        done = _buy(client, "regular@example.com", "regular-phone", key=f"r{i}")
        assert done.json()["status"] == "completed"
    orders = _orders(sessions)
    assert [o.status for o in orders] == ["open"] * 3
    with sessions() as session:
        found = list(session.scalars(select(Assessment).order_by(Assessment.created_at)))
    assert [a.status for a in found] == ["passed"] * 3
    assert [a.score for a in found] == [0, 0, 0]
    # The card's fingerprint and the provider's risk level are read from the payment.
    assert found[0].card_fingerprint and found[0].signals["provider_risk_level"] == "normal"
    assert found[2].signals["earlier_orders"] == 2
    assert client.get("/api/v1/fraud/reviews", headers=admin).json()["items"] == []


def _one_held(client, sessions, admin, email="new@mailinator.com"):
    make_shop(sessions, on_hand=5, price=2500)
    _configure(client, admin, hold_at=30)
    done = _buy(client, email, "dev-x", method="tok_riskLevelElevated")
    assert done.json()["status"] == "completed"
    queue = client.get("/api/v1/fraud/reviews", headers=admin).json()["items"]
    assert len(queue) == 1
    return queue[0]


def test_approve_releases_the_order(client, sessions, admin):
    review = _one_held(client, sessions, admin)
    rules_seen = {r["rule"] for r in review["reasons"]}
    assert rules_seen == {"disposable_email", "provider_risk_elevated"}
    approved = client.post(
        f"/api/v1/fraud/reviews/{review['id']}/approve",
        json={"note": "called the buyer"},
        headers=admin,
    )
    assert approved.status_code == 200, approved.text
    body = approved.json()
    assert body["status"] == "approved"
    assert [(d["actor"], d["decision"]) for d in body["log"]][-1][1] == "approve"
    assert body["log"][-1]["why"] == "called the buyer"
    assert body["log"][-1]["actor"].startswith("token:")
    (order,) = _orders(sessions)
    assert order.status == "open" and order.attention_reason is None
    assert client.get("/api/v1/fraud/reviews", headers=admin).json()["items"] == []
    again = client.post(f"/api/v1/fraud/reviews/{review['id']}/approve", headers=admin)
    assert again.status_code == 409


def test_cancel_refunds_exactly_and_restocks(client, sessions, admin):
    review = _one_held(client, sessions, admin)
    (order,) = _orders(sessions)
    cancelled = client.post(f"/api/v1/fraud/reviews/{review['id']}/cancel", headers=admin)
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled"
    (after,) = _orders(sessions)
    assert after.status == "cancelled" and after.payment_status == "refunded"
    assert after.refunded_total == order.total
    with sessions() as session:
        from mercato.payments.models import Payment

        payment = session.scalar(select(Payment).where(Payment.order_id == order.id))
    assert payments.sandbox().refunded(payment.intent_ref) == order.total
    with sessions() as session:
        log = list(session.scalars(select(Decision).order_by(Decision.id)))
    assert [d.decision for d in log] == ["hold", "cancel"]


def test_the_rules_can_cancel_and_refund_at_once(client, sessions, admin):
    make_shop(sessions, on_hand=5, price=2500)
    _configure(client, admin, hold_at=30, cancel_at=60)
    done = _buy(client, "x@mailinator.com", "dev-y", method="tok_riskLevelHighest")
    assert done.status_code == 409
    assert "refunded" in done.json()["detail"]
    (order,) = _orders(sessions)
    assert order.status == "cancelled" and order.refunded_total == order.total
    with sessions() as session:
        (assessment,) = session.scalars(select(Assessment))
    assert assessment.decision == "cancel" and assessment.status == "cancelled"


def test_a_buyer_coming_back_after_a_cancel_is_told_it_was_cancelled(client, sessions, admin):
    make_shop(sessions, on_hand=5, price=2500)
    _configure(client, admin, hold_at=30, cancel_at=60)
    body = start(client)
    fill(client, body["token"], email="x@mailinator.com")
    payload = {
        "payment_method": "tok_riskLevelHighest",
        "expected_total": total_of(client, body["token"]),
    }
    path = f"/api/v1/checkouts/{body['token']}/complete"
    first = client.post(path, json=payload, headers={"Idempotency-Key": "a"})
    assert first.status_code == 409
    again = client.post(path, json=payload, headers={"Idempotency-Key": "b"})
    assert again.status_code == 200, again.text
    shown = again.json()
    assert (shown["status"], shown["order_status"]) == ("completed", "cancelled")
    assert "cancelled" in shown["message"] and "refunded" in shown["message"]
    page = client.get(f"/shop/checkout/{body['token']}/thanks")
    (order,) = _orders(sessions)
    refunded = f"<span>Refunded</span><span>${order.total / 100:.2f}</span>"
    assert "Order cancelled" in page.text and refunded in page.text
    assert "is confirmed and paid" not in page.text and "mercato-purchase" not in page.text


def test_settings_validation_names_the_field_and_saves_nothing(client, admin):
    before = client.get("/api/v1/fraud/settings", headers=admin).json()
    assert before["hold_at"] == rules.DEFAULT_HOLD_AT and before["enabled"] is False
    bad = client.put(
        "/api/v1/fraud/settings",
        json={"hold_at": 60, "cancel_at": 40, "weights": {"velocity_moon": 5}},
        headers=admin,
    )
    assert bad.status_code == 422
    fields = {e["field"] for e in bad.json()["errors"]}
    assert fields == {"cancel_at", "weights.velocity_moon"}
    negative = client.put("/api/v1/fraud/settings", json={"hold_at": 0}, headers=admin)
    assert negative.status_code == 422
    assert [e["field"] for e in negative.json()["errors"]] == ["body.hold_at"]
    assert client.get("/api/v1/fraud/settings", headers=admin).json() == before


def test_country_mismatch_counts_only_a_trusted_ip_country(client, sessions, admin, settings):
    make_shop(sessions, on_hand=5, price=2500)
    _configure(client, admin, hold_at=20)
    body = start(client)
    fill(client, body["token"], address=ADDRESS, email="c@example.com")
    done = client.post(
        f"/api/v1/checkouts/{body['token']}/complete",
        json={"payment_method": "tok_visa", "expected_total": total_of(client, body["token"])},
        headers={"Idempotency-Key": "c1", "CF-IPCountry": "NL"},
    )
    assert done.status_code == 200
    with sessions() as session:
        (assessment,) = session.scalars(select(Assessment))
    # No header is configured: the country a client sends is not believed.
    assert "ip_country" not in assessment.signals and assessment.status == "passed"


def test_stripe_radars_risk_level_holds_an_order_through_stripe(
    client, sessions, admin, stripe_shop
):
    make_shop(sessions, on_hand=5, price=2500)
    _configure(client, admin, hold_at=30)
    assert (
        _buy(client, "ok@example.com", "dev-s", method="pm_card_visa", key="s1").status_code == 200
    )
    assert (
        _buy(client, "r@example.com", "dev-r", method="pm_card_riskLevelElevated", key="s2")
    ).status_code == 200
    with sessions() as session:
        normal, elevated = session.scalars(select(Assessment).order_by(Assessment.order_number))
    assert (normal.status, normal.signals["provider_risk_level"]) == ("passed", "normal")
    assert normal.card_fingerprint and normal.card_fingerprint != elevated.card_fingerprint
    assert elevated.status == "held"
    assert elevated.reasons == [
        {
            "rule": "provider_risk_elevated",
            "points": 30,
            "reason": "the payment provider rates it risk level elevated, score 70",
        }
    ]
