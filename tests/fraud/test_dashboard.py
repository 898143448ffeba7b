"""The dashboard's Fraud page: the queue with its reasons, approve and cancel through
the forms, and the thresholds form (a wrong value said, nothing saved)."""

from __future__ import annotations

from sqlalchemy import select

from mercato.fraud import service as fraud
from mercato.orders.models import Order
from tests.checkout.helpers import make_shop
from tests.fraud.test_screening import _buy, _configure
from tests.helpers import csrf_of, signed_in


def test_the_review_queue_approves_and_cancels_from_the_page(client, sessions, admin):
    make_shop(sessions, on_hand=10, price=2500)
    _configure(client, admin, hold_at=30)
    for i in range(2):
        _buy(client, f"x{i}@mailinator.com", f"d{i}", method="tok_riskLevelElevated", key=f"q{i}")
    browser = signed_in(client, sessions, "admin")
    page = browser.get("/admin/fraud")
    assert page.status_code == 200
    assert "throw-away email domain (mailinator.com)" in page.text
    assert "the payment provider rates it risk level elevated, score 72" in page.text
    with sessions() as session:
        first, second = (a.id for a in fraud.held(session))
    approved = browser.post(
        f"/admin/fraud/{first}/approve", data={"csrf": csrf_of(page.text), "note": "known"}
    )
    assert "approved" in approved.text
    cancelled = browser.post(f"/admin/fraud/{second}/cancel", data={"csrf": csrf_of(page.text)})
    assert "cancelled and refunded" in cancelled.text
    with sessions() as session:
        statuses = [o.status for o in session.scalars(select(Order).order_by(Order.number))]
        assert statuses == ["open", "cancelled"]
        assert fraud.held(session) == []
        assert [d.actor for d in fraud.log_of(session, first)][-1] == "dashboard:owner"

    refused = browser.post(
        "/admin/fraud/settings",
        data={"csrf": csrf_of(page.text), "enabled": "on", "hold_at": "60", "cancel_at": "40"},
    )
    assert "must be above hold_at" in refused.text
    with sessions() as session:
        assert fraud.get_settings(session).hold_at == 30
    saved = browser.post(
        "/admin/fraud/settings",
        data={
            "csrf": csrf_of(page.text),
            "enabled": "on",
            "hold_at": "45",
            "weight:velocity_device": "55",
        },
    )
    assert "Fraud settings saved." in saved.text
    with sessions() as session:
        settings = fraud.get_settings(session)
        assert (settings.hold_at, settings.weights["velocity_device"]) == (45, 55)
    per_currency = browser.post(
        "/admin/fraud/settings",
        data={"csrf": csrf_of(page.text), "enabled": "on", "first_order_amounts": "jpy=30000"},
    )
    assert "Fraud settings saved." in per_currency.text
    assert 'value="JPY=30000"' in per_currency.text
    cleared = browser.post(
        "/admin/fraud/settings",
        data={"csrf": csrf_of(page.text), "enabled": "on", "first_order_amounts": ""},
    )
    assert "Fraud settings saved." in cleared.text
    bad = browser.post(
        "/admin/fraud/settings",
        data={"csrf": csrf_of(page.text), "enabled": "on", "first_order_amounts": "JPY=lots"},
    )
    assert "CURRENCY=AMOUNT" in bad.text
    with sessions() as session:
        assert fraud.get_settings(session).first_order_amounts == {}
