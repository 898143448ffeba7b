"""The Stripe provider on the official SDK, against a local stand-in (never the network)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from mercato.db import transaction
from mercato.orders.models import Order
from mercato.payments import service as payments
from mercato.payments.models import ProviderAccount
from mercato.payments.providers import DECLINED, REQUIRES_ACTION, SUCCEEDED, PaymentRequest
from mercato.payments.stripe_provider import StripeProvider
from tests.checkout.helpers import fill, make_shop, start
from tests.payments.stripe_standin import StripeStandIn, sign

WEBHOOK_SECRET = "whsec_test_secret"


@pytest.fixture
def stand_in():
    with StripeStandIn() as server:
        yield server


@pytest.fixture
def stripe_shop(stand_in, sessions):
    with transaction(sessions) as session:
        payments.configure(session, "stripe", secret_key="sk_test_123",
                           webhook_secret=WEBHOOK_SECRET, api_base=stand_in.url)
    return stand_in


def test_intent_lifecycle_with_idempotency(stand_in):
    provider = StripeProvider("sk_test_123", WEBHOOK_SECRET, stand_in.url)
    request = PaymentRequest(2500, "USD", "chk_1:a", save_method=True)
    first = provider.create_intent(request)
    again = provider.create_intent(request)
    assert first.ref == again.ref and len(stand_in.intents) == 1
    paid = provider.confirm(first.ref, "pm_card_visa", return_url="http://x/r",
                            idempotency_key="chk_1:a:confirm")
    assert (paid.status, paid.payment_method_ref, paid.payment_method_label) == (
        SUCCEEDED, "pm_card_visa", "Visa •••• 4242")
    assert paid.customer_ref and paid.customer_ref.startswith("cus_")
    created = [r for r in stand_in.requests if r[1] == "/v1/payment_intents"]
    assert created[0][2]["setup_future_usage"] == "off_session"
    assert created[0][3]["Authorization"] == "Bearer sk_test_123"
    assert provider.refund(first.ref, 500, "refund-1").startswith("re_")
    assert provider.capture(first.ref).status == SUCCEEDED


def test_decline_and_authentication_are_answers(stand_in):
    provider = StripeProvider("sk_test_123", None, stand_in.url)
    intent = provider.create_intent(PaymentRequest(1000, "EUR", "k2"))
    declined = provider.confirm(intent.ref, "pm_card_chargeDeclined", return_url="http://x",
                                idempotency_key="k2:c")
    assert declined.status == DECLINED and declined.failure_code == "card_declined"
    other = provider.create_intent(PaymentRequest(1000, "EUR", "k3"))
    asked = provider.confirm(other.ref, "pm_card_authenticationRequired",
                             return_url="http://x", idempotency_key="k3:c")
    assert asked.status == REQUIRES_ACTION and asked.next_action_url.endswith(other.ref)


def test_secrets_are_encrypted_at_rest(stripe_shop, sessions):
    with sessions() as session:
        account = session.get(ProviderAccount, "stripe")
        assert account.active and "sk_test_123" not in account.secrets_encrypted
        assert payments.provider(session).name == "stripe"


def test_checkout_pays_through_stripe_once(client, sessions, stripe_shop):
    make_shop(sessions)
    body = start(client)
    fill(client, body["token"], remember=True)
    url = f"/api/v1/checkouts/{body['token']}/complete"
    done = [client.post(url, json={"payment_method": "pm_card_visa"},
                        headers={"Idempotency-Key": "s1"}) for _ in range(2)]
    assert [d.json()["status"] for d in done] == ["completed", "completed"]
    assert stripe_shop.charges() == 1
    with sessions() as session:
        assert len(list(session.scalars(select(Order)))) == 1


def test_webhook_completes_an_authenticated_payment(client, sessions, stripe_shop):
    make_shop(sessions)
    body = start(client)
    fill(client, body["token"])
    asked = client.post(f"/api/v1/checkouts/{body['token']}/complete",
                        json={"payment_method": "pm_card_authenticationRequired"},
                        headers={"Idempotency-Key": "s2"})
    assert asked.status_code == 202
    intent_id = next(iter(stripe_shop.intents))
    stripe_shop.finish_authentication(intent_id)
    payload = json.dumps({"id": "evt_1", "object": "event", "type": "payment_intent.succeeded",
                          "data": {"object": stripe_shop.intents[intent_id]}}).encode()
    forged = client.post("/api/v1/payments/webhooks/stripe", content=payload,
                         headers={"Stripe-Signature": sign(payload, "wrong")})
    assert forged.status_code == 502
    signed = {"Stripe-Signature": sign(payload, WEBHOOK_SECRET)}
    applied = client.post("/api/v1/payments/webhooks/stripe", content=payload, headers=signed)
    assert applied.json() == {"outcome": "completed"}
    again = client.post("/api/v1/payments/webhooks/stripe", content=payload, headers=signed)
    assert again.json() == {"outcome": "already done"}
    with sessions() as session:
        orders = list(session.scalars(select(Order)))
    assert len(orders) == 1 and orders[0].payment_status == "paid"
