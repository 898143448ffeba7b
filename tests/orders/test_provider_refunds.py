"""Refunding an order paid at Mercato's checkout returns the money through its payment
provider (the sandbox, and Stripe through the local stand-in): the right amount, once;
a refusal is kept visible and counts nothing; a crash after recording is finished by
the reconciler. Both databases."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from mercato.db import transaction, utcnow
from mercato.events.models import Event
from mercato.orders import refunds
from mercato.orders.models import Order, Refund
from mercato.orders.schemas import RefundCreate
from mercato.payments import service as payments
from mercato.payments.models import Payment
from tests.checkout.helpers import complete, fill, make_shop, start
from tests.payments.stripe_standin import StripeStandIn


class Crash(BaseException):
    """The process dies (not an error any handler catches)."""


@pytest.fixture(params=["sandbox", "stripe"])
def ledger(request, settings, sessions):
    """The provider's own books for the active provider: what it refunded of an intent,
    and a refund made there directly (as in the provider's dashboard)."""
    if request.param == "sandbox":
        box = payments.sandbox()

        class Sandbox:
            calls = 0
            method = "tok_visa"

            def refunded(self, ref):
                return box.refunded(ref)

            def refund_outside(self, ref, amount):
                box.refund(ref, amount, f"outside:{ref}")

        original = box.refund

        def counting(*args, **kwargs):
            Sandbox.calls += 1
            return original(*args, **kwargs)

        box.refund = counting
        yield Sandbox()
        del box.refund
        return
    with StripeStandIn() as stand_in:
        with transaction(sessions) as session:
            payments.configure(session, "stripe", secret_key="sk_test_123", api_base=stand_in.url)

        class Stripe:
            method = "pm_card_visa"

            @property
            def calls(self):
                return sum(1 for r in stand_in.requests if r[1] == "/v1/refunds")

            def refunded(self, ref):
                return stand_in.refunded(ref)

            def refund_outside(self, ref, amount):
                stand_in.refunds.append(
                    {
                        "id": "re_outside",
                        "payment_intent": ref,
                        "amount": amount,
                        "status": "succeeded",
                    }
                )

        yield Stripe()


def _paid_order(client, sessions, ledger, quantity=2) -> tuple[Order, str]:
    """An order paid at the checkout, with its intent at the provider."""
    make_shop(sessions)
    token = start(client, items=(("HOODIE-M", quantity),))["token"]
    fill(client, token)
    done = complete(client, token, ledger.method)
    assert done.json()["status"] == "completed", done.text
    with sessions() as session:
        payment = session.scalar(select(Payment).where(Payment.order_id.is_not(None)))
        return session.get(
            Order, payment.order_id, options=[selectinload(Order.lines)]
        ), payment.intent_ref


def _state(sessions, order_id):
    with sessions() as session:
        order = session.get(Order, order_id, options=[selectinload(Order.lines)])
        made = list(session.scalars(select(Refund).where(Refund.order_id == order_id)))
        refunded_events = session.scalar(
            select(func.count()).select_from(Event).where(Event.type == "order.refunded")
        )
        payment = session.scalar(select(Payment).where(Payment.order_id == order_id))
        return order, made, refunded_events, payment


def test_a_full_refund_returns_the_whole_total(client, sessions, admin, ledger):
    order, intent = _paid_order(client, sessions, ledger)
    response = client.post(f"/api/v1/orders/{order.id}/refunds", headers=admin, json={})
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "refunded"
    assert ledger.refunded(intent) == order.total
    after, made, events, payment = _state(sessions, order.id)
    assert (after.refunded_total, after.payment_status, after.status) == (
        order.total,
        "refunded",
        "cancelled",
    )
    assert [(r.status, r.amount) for r in made] == [("refunded", order.total)]
    assert made[0].provider_ref
    assert (payment.refunded, payment.status, events) == (order.total, "refunded", 1)


def test_a_partial_refund_returns_exactly_the_lines_share(client, sessions, admin, ledger):
    order, intent = _paid_order(client, sessions, ledger, quantity=2)
    line = order.lines[0]
    response = client.post(
        f"/api/v1/orders/{order.id}/refunds",
        headers=admin,
        json={"lines": [{"line_id": line.id, "quantity": 1}]},
    )
    assert response.status_code == 201, response.text
    share = line.total // 2
    assert ledger.refunded(intent) == share == response.json()["amount"]
    after, _, _, payment = _state(sessions, order.id)
    assert (after.refunded_total, after.payment_status) == (share, "partially_refunded")
    assert (payment.refunded, payment.status) == (share, "partially_refunded")
    # Then an amount: what is left is still refundable, to the minor unit.
    rest = order.total - share
    response = client.post(
        f"/api/v1/orders/{order.id}/refunds", headers=admin, json={"amount": rest}
    )
    assert response.status_code == 201, response.text
    assert ledger.refunded(intent) == order.total


def test_a_refused_refund_is_kept_failed_and_returns_nothing(client, sessions, admin, ledger):
    order, intent = _paid_order(client, sessions, ledger)
    ledger.refund_outside(intent, 100)  # the provider has less left than Mercato thinks
    response = client.post(f"/api/v1/orders/{order.id}/refunds", headers=admin, json={})
    assert response.status_code == 409, response.text
    assert response.json()["type"].endswith("refund-failed")
    assert "Nothing was refunded" in response.json()["detail"]
    assert ledger.refunded(intent) == 100
    after, made, events, payment = _state(sessions, order.id)
    assert (after.refunded_total, after.payment_status, after.status) == (0, "paid", "open")
    assert [line.refunded_quantity for line in after.lines] == [0]
    assert [r.status for r in made] == ["failed"] and made[0].failure_message
    assert (payment.refunded, payment.status, events) == (0, "succeeded", 0)
    token = admin["Authorization"].removeprefix("Bearer ")
    client.post("/admin/login", data={"token": token})
    page = client.get(f"/admin/orders/{order.id}").text
    assert f"failed: {made[0].failure_message}</strong> (nothing was refunded)" in page
    # The units are free again: a smaller refund the provider can make still goes through.
    response = client.post(
        f"/api/v1/orders/{order.id}/refunds", headers=admin, json={"amount": 500}
    )
    assert response.status_code == 201, response.text
    assert ledger.refunded(intent) == 600


def test_a_double_submitted_refund_refunds_once(client, sessions, admin, ledger):
    order, intent = _paid_order(client, sessions, ledger)
    first = client.post(f"/api/v1/orders/{order.id}/refunds", headers=admin, json={})
    again = client.post(f"/api/v1/orders/{order.id}/refunds", headers=admin, json={})
    assert first.status_code == 201 and again.status_code == 409, again.text
    assert ledger.refunded(intent) == order.total and ledger.calls == 1
    _, made, events, _ = _state(sessions, order.id)
    assert len(made) == 1 and events == 1


def test_a_crash_after_recording_is_finished_by_the_reconciler(
    client, sessions, ledger, monkeypatch
):
    order, intent = _paid_order(client, sessions, ledger)

    def die(*args, **kwargs):
        raise Crash

    with monkeypatch.context() as patched:
        patched.setattr(refunds, "finish", die)
        with pytest.raises(Crash):
            refunds.refund(sessions, order.id, RefundCreate(amount=700), "api")
    after, made, events, _ = _state(sessions, order.id)
    assert [r.status for r in made] == ["pending"] and after.refunded_total == 0
    assert (ledger.refunded(intent), events) == (0, 0)
    # Held: a second refund cannot take what the pending one will return.
    with pytest.raises(Exception, match="not possible"):
        refunds.refund(sessions, order.id, RefundCreate(amount=order.total), "api")

    assert refunds.reconcile(sessions, now=utcnow()) == {}  # too fresh: maybe in flight
    later = utcnow() + timedelta(hours=1)
    assert refunds.reconcile(sessions, now=later) == {"refunded": 1}
    assert refunds.reconcile(sessions, now=later) == {}
    after, made, events, payment = _state(sessions, order.id)
    assert ledger.refunded(intent) == 700 and ledger.calls == 1
    assert (after.refunded_total, after.payment_status, events) == (700, "partially_refunded", 1)
    assert (payment.refunded, [r.status for r in made]) == (700, ["refunded"])


def test_a_manual_order_refunds_without_any_provider(client, sessions, admin, ledger):
    make_shop(sessions)
    created = client.post(
        "/api/v1/orders",
        headers=admin,
        json={
            "channel": "manual",
            "lines": [{"sku": "HOODIE-M", "quantity": 1}],
            "payment_status": "paid",
        },
    )
    assert created.status_code == 201, created.text
    response = client.post(f"/api/v1/orders/{created.json()['id']}/refunds", headers=admin, json={})
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "refunded" and ledger.calls == 0
