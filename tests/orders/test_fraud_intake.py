"""Platform orders are screened when they are taken in: a held one waits for review
(and cannot be fulfilled), a normal one is open; cancelling on review cancels it on the
platform (the order push), its units back on hand."""

from __future__ import annotations

from sqlalchemy import select

from mercato.fraud import service as fraud
from mercato.jobs.models import Job
from mercato.orders.models import Order
from mercato.sandbox.orders import DeliverIn, OrderIn


def test_a_platform_order_is_screened_at_intake(shop, client, admin, sessions, drain):
    settings = {"enabled": True, "hold_at": 30}
    assert client.put("/api/v1/fraud/settings", json=settings, headers=admin).status_code == 200
    _, book = shop.connect("tiktok")
    book.place(OrderIn(lines=[{"sku": "TEE-S", "quantity": 1}], email="ok@example.com"))
    book.place(OrderIn(lines=[{"sku": "TEE-M", "quantity": 1}], email="x@mailinator.com"))
    book.deliver(DeliverIn())
    drain()
    with sessions() as session:
        orders = {o.customer_email: o for o in session.scalars(select(Order))}
        held = fraud.held(session)
    assert orders["ok@example.com"].status == "open"
    suspect = orders["x@mailinator.com"]
    assert suspect.status == "on_hold" and suspect.attention_reason.startswith("Fraud review")
    assert [a.order_id for a in held] == [suspect.id]
    assert held[0].reasons[0]["rule"] == "disposable_email"
    assert held[0].channel == suspect.channel

    done = client.post(f"/api/v1/fraud/reviews/{held[0].id}/cancel", headers=admin)
    assert done.status_code == 200, done.text
    with sessions() as session:
        after = session.get(Order, suspect.id)
        assert after.status == "cancelled"
        pushes = session.scalars(select(Job).where(Job.name.like("%push%"))).all()
        assert any(j.args.get("action") == "cancel" for j in pushes), [j.args for j in pushes]
