"""A payment request killed between any two steps of the saga leaves no charge behind:
after the reconciler has run, every charge the provider made belongs to an order or was
refunded in full, on SQLite and PostgreSQL. The provider (the Stripe stand-in) lives in
this process and outlives the killed one, as Stripe outlives a crashed server."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from mercato.checkout import recovery
from mercato.db import transaction, utcnow
from mercato.orders.models import Order
from mercato.payments import service as payments
from mercato.payments.models import Payment
from tests.checkout.crashing_payer import KILLED, POINTS
from tests.checkout.helpers import fill, make_shop, start

ROOT = Path(__file__).resolve().parents[2]


def _untracked(sessions, stand_in) -> list[str]:
    """Charges the provider made that no order holds and no refund gave back."""
    with sessions() as session:
        attached = {
            p.intent_ref: p
            for p in session.scalars(select(Payment).where(Payment.order_id.is_not(None)))
        }
        orders = {o.id: o for o in session.scalars(select(Order))}
    lost = []
    for intent in stand_in.intents.values():
        if intent["status"] != "succeeded":
            continue
        payment = attached.get(intent["id"])
        kept = payment is not None and orders[payment.order_id].total == intent["amount"]
        refunded = stand_in.refunded(intent["id"]) == intent["amount"]
        if kept == refunded:  # neither (lost) or both (kept and given back)
            lost.append(intent["id"])
    return lost


@pytest.mark.parametrize("point", sorted(POINTS))
def test_a_payment_killed_midway_ends_attached_or_refunded(point, client, sessions, stand_in):
    with transaction(sessions) as session:
        payments.configure(session, "stripe", secret_key="sk_test_123", api_base=stand_in.url)
    make_shop(sessions)
    token = start(client)["token"]
    total = fill(client, token)["total"]

    killed = subprocess.run(
        [sys.executable, "-m", "tests.checkout.crashing_payer", point, token, str(total)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert killed.returncode == KILLED, killed.stderr
    with sessions() as session:
        (payment,) = session.scalars(select(Payment))
    assert payment.order_id is None  # the killed request placed nothing

    outcome = recovery.reconcile(sessions, now=utcnow() + timedelta(hours=1))
    assert "unreachable" not in outcome, outcome
    assert _untracked(sessions, stand_in) == []
    with sessions() as session:
        (payment,) = session.scalars(select(Payment))
        orders = list(session.scalars(select(Order)))
    # Nothing is left pending, and the outcome is the one the point allows.
    if point in ("before_refund", "after_refund"):
        assert (payment.status, payment.refunded, orders) == ("refunded", total, [])
        assert stand_in.refunded(payment.intent_ref) == total
    elif point in ("after_charge", "while_placing"):
        assert payment.status == "succeeded" and [o.id for o in orders] == [payment.order_id]
        assert orders[0].total == total and stand_in.charges() == 1
    else:  # nothing was charged: the intent is given up
        assert payment.status == "voided" and orders == [] and stand_in.charges() == 0
    # A second run finds nothing left to do.
    assert recovery.reconcile(sessions, now=utcnow() + timedelta(hours=2)) == {}
