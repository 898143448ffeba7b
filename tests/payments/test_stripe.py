"""The Stripe provider on the official SDK, against a local stand-in (never the network)."""

from __future__ import annotations

import json
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select

from mercato.customers.models import Customer
from mercato.db import transaction, utcnow
from mercato.orders import refunds
from mercato.orders.models import Order
from mercato.payments import service as payments
from mercato.payments.models import Payment, ProviderAccount
from mercato.payments.providers import DECLINED, REQUIRES_ACTION, SUCCEEDED, PaymentRequest
from mercato.payments.stripe_provider import StripeProvider
from tests.checkout.helpers import complete, fill, make_shop, start
from tests.helpers import ADDRESS, hidden_fields, open_checkout
from tests.payments.stripe_standin import WEBHOOK_SECRET, sign


def test_intent_lifecycle_with_idempotency(stand_in):
    provider = StripeProvider("sk_test_123", WEBHOOK_SECRET, stand_in.url)
    request = PaymentRequest(2500, "USD", "chk_1:a", save_method=True)
    first = provider.create_intent(request)
    again = provider.create_intent(request)
    assert first.ref == again.ref and len(stand_in.intents) == 1
    paid = provider.confirm(
        first.ref, "pm_card_visa", return_url="http://x/r", idempotency_key="chk_1:a:confirm"
    )
    assert (paid.status, paid.payment_method_ref, paid.payment_method_label) == (
        SUCCEEDED,
        "pm_card_visa",
        "Visa •••• 4242",
    )
    assert paid.customer_ref and paid.customer_ref.startswith("cus_")
    created = [r for r in stand_in.requests if r[1] == "/v1/payment_intents"]
    assert created[0][2]["setup_future_usage"] == "off_session"
    assert created[0][3]["Authorization"] == "Bearer sk_test_123"
    refunded = provider.refund(first.ref, 500, "refund-1")
    assert refunded.ref.startswith("re_") and refunded.status == "succeeded"
    assert provider.capture(first.ref).status == SUCCEEDED


def test_decline_and_authentication_are_answers(stand_in):
    provider = StripeProvider("sk_test_123", None, stand_in.url)
    intent = provider.create_intent(PaymentRequest(1000, "EUR", "k2"))
    declined = provider.confirm(
        intent.ref, "pm_card_chargeDeclined", return_url="http://x", idempotency_key="k2:c"
    )
    assert declined.status == DECLINED and declined.failure_code == "card_declined"
    other = provider.create_intent(PaymentRequest(1000, "EUR", "k3"))
    asked = provider.confirm(
        other.ref, "pm_card_authenticationRequired", return_url="http://x", idempotency_key="k3:c"
    )
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
    done = [complete(client, body["token"], "pm_card_visa", "s1") for _ in range(2)]
    assert [d.json()["status"] for d in done] == ["completed", "completed"]
    assert stripe_shop.charges() == 1
    with sessions() as session:
        assert len(list(session.scalars(select(Order)))) == 1


def test_webhook_completes_an_authenticated_payment(client, sessions, stripe_shop):
    make_shop(sessions)
    body = start(client)
    fill(client, body["token"])
    asked = complete(client, body["token"], "pm_card_authenticationRequired", "s2")
    assert asked.status_code == 202
    intent_id = next(iter(stripe_shop.intents))
    stripe_shop.finish_authentication(intent_id)
    payload = json.dumps(
        {
            "id": "evt_1",
            "object": "event",
            "type": "payment_intent.succeeded",
            "data": {"object": stripe_shop.intents[intent_id]},
        }
    ).encode()
    forged = client.post(
        "/api/v1/payments/webhooks/stripe",
        content=payload,
        headers={"Stripe-Signature": sign(payload, "wrong")},
    )
    assert forged.status_code == 400  # not the provider's: refused, not a gateway error
    assert forged.json()["type"] == "/problems/webhook-rejected"
    signed = {"Stripe-Signature": sign(payload, WEBHOOK_SECRET)}
    applied = client.post("/api/v1/payments/webhooks/stripe", content=payload, headers=signed)
    assert applied.json() == {"outcome": "completed"}
    again = client.post("/api/v1/payments/webhooks/stripe", content=payload, headers=signed)
    assert again.json() == {"outcome": "already done"}
    with sessions() as session:
        orders = list(session.scalars(select(Order)))
    assert len(orders) == 1 and orders[0].payment_status == "paid"


# ---------------------------------------------------------------- the checkout page

PUBLISHABLE = "pk_test_123"
DETAILS = {"email": "ada@example.com", **ADDRESS}


@pytest.fixture
def element_shop(stripe_shop, sessions):
    """The Stripe shop with a publishable key: its checkout page takes new cards."""
    with transaction(sessions) as session:  # the other keys are kept
        payments.configure(session, "stripe", public_key=PUBLISHABLE, api_base=stripe_shop.url)
    make_shop(sessions)
    return stripe_shop


def _prepare(client, url: str, html: str, **extra):
    """Tap Pay with the total the page shows; when the address changed it, the page
    shows the new total (nothing charged) and the buyer taps Pay again."""
    data = {
        "csrf": hidden_fields(html)["csrf"],
        "action": "pay",
        "shipping_rate": "us-standard",
        "shown_total": hidden_fields(html)["shown_total"],
        **DETAILS,
        **extra,
    }
    first = client.post(f"{url}/card", data=data)
    if first.status_code != 200 or not first.json().get("changed"):
        return first
    return client.post(f"{url}/card", data={**data, "shown_total": first.json()["shown_total"]})


def _confirm_in_browser(stand_in, intent_id: str, number: str):
    """What Stripe.js does in the buyer's browser: the card number goes to Stripe only."""
    return httpx.post(
        f"{stand_in.url}/v1/payment_intents/{intent_id}/confirm",
        headers={"Authorization": f"Bearer {PUBLISHABLE}"},
        data={
            "client_secret": stand_in.intents[intent_id]["client_secret"],
            "payment_method_data[type]": "card",
            "payment_method_data[card][number]": number,
        },
    )


def _orders(sessions) -> list[Order]:
    with sessions() as session:
        return list(session.scalars(select(Order)))


def test_checkout_page_mounts_the_element_with_the_intents_client_secret(client, element_shop):
    url, html = open_checkout(client)
    (intent,) = element_shop.intents.values()
    assert 'src="https://js.stripe.com/v3/"' in html and "/shop/static/card.js" in html
    assert f'data-key="{PUBLISHABLE}"' in html
    assert f'data-secret="{intent["client_secret"]}"' in html
    assert "tok_visa" not in html and "Test mode" not in html
    assert f'id="total">${intent["amount"] / 100:.2f}<' in html
    assert intent["setup_future_usage"] is None
    client.get(url)  # a reload keeps the same intent
    assert len(element_shop.intents) == 1


def test_card_confirmed_in_the_browser_places_one_order(client, sessions, element_shop):
    url, html = open_checkout(client)
    (mounted,) = element_shop.intents.values()
    # The address brings sales tax: the page shows the new total and nothing is charged.
    changed = client.post(
        f"{url}/card",
        data={**hidden_fields(html), "action": "pay", "shipping_rate": "us-standard", **DETAILS},
    ).json()
    assert changed["changed"] and "$31.81" in changed["summary"] and changed["pay"] == "Pay $31.81"
    assert mounted["amount"] == 3000 and element_shop.charges() == 0
    ready = _prepare(client, url, html, remember="on", shown_total=changed["shown_total"])
    assert ready.status_code == 200, ready.text
    intent_id = ready.json()["intent"]
    intent = element_shop.intents[intent_id]
    # Brought to the total with the address's sales tax, and saving the card as asked.
    assert intent["amount"] > 3000 and intent["setup_future_usage"] == "off_session"
    assert intent["customer"].startswith("cus_")
    assert _confirm_in_browser(element_shop, intent_id, "4242424242424242").status_code == 200
    assert "4242424242424242" not in str(
        [r for r in element_shop.requests if "sk_test" in str(r[3])]
    )
    back = client.get(
        f"{ready.json()['return_url']}?payment_intent={intent_id}"
        f"&payment_intent_client_secret=x&redirect_status=succeeded",
        follow_redirects=False,
    )
    assert back.status_code == 303 and back.headers["location"].endswith("/thanks")
    assert "mercato_buyer" in back.headers["set-cookie"]
    again = client.get(
        f"{ready.json()['return_url']}?payment_intent={intent_id}", follow_redirects=False
    )
    assert again.headers["location"].endswith("/thanks")
    payload = json.dumps(
        {
            "id": "evt_2",
            "object": "event",
            "type": "payment_intent.succeeded",
            "data": {"object": element_shop.intents[intent_id]},
        }
    ).encode()
    late = client.post(
        "/api/v1/payments/webhooks/stripe",
        content=payload,
        headers={"Stripe-Signature": sign(payload, WEBHOOK_SECRET)},
    )
    assert late.json() == {"outcome": "already done"}
    orders = _orders(sessions)
    assert len(orders) == 1 and orders[0].total == intent["amount"]
    assert element_shop.charges() == 1
    with sessions() as session:
        (customer,) = session.scalars(select(Customer))
    assert customer.payment_method_ref == "pm_card_visa"
    assert customer.payment_method_label == "Visa •••• 4242"


def test_a_return_without_a_paid_intent_places_no_order(client, sessions, element_shop):
    url, html = open_checkout(client)
    missing = _prepare(client, url, html, email="")
    assert missing.status_code == 422 and "email" in missing.json()["errors"]
    ready = _prepare(client, url, html).json()
    refused = _confirm_in_browser(element_shop, ready["intent"], "4000000000000002")
    assert refused.status_code == 402
    back = client.get(f"{ready['return_url']}?payment_intent={ready['intent']}")
    assert back.status_code == 402 and "Your card was declined" in back.text
    # Another checkout's intent is not this checkout's payment.
    other_url, _ = open_checkout(client)
    foreign = client.get(f"{other_url}/return?payment_intent={ready['intent']}")
    assert foreign.status_code == 409
    assert _orders(sessions) == []


def test_an_intent_paid_for_less_than_the_total_places_no_order(client, sessions, element_shop):
    url, html = open_checkout(client)
    ready = _prepare(client, url, html).json()
    element_shop.intents[ready["intent"]]["amount"] = 100
    _confirm_in_browser(element_shop, ready["intent"], "4242424242424242")
    back = client.get(f"{ready['return_url']}?payment_intent={ready['intent']}")
    assert back.status_code == 409 and _orders(sessions) == []


def test_the_webhook_places_the_order_when_the_buyer_never_returns(client, sessions, element_shop):
    url, html = open_checkout(client)
    ready = _prepare(client, url, html).json()
    _confirm_in_browser(element_shop, ready["intent"], "4242424242424242")
    payload = json.dumps(
        {
            "id": "evt_3",
            "object": "event",
            "type": "payment_intent.succeeded",
            "data": {"object": element_shop.intents[ready["intent"]]},
        }
    ).encode()
    done = client.post(
        "/api/v1/payments/webhooks/stripe",
        content=payload,
        headers={"Stripe-Signature": sign(payload, WEBHOOK_SECRET)},
    )
    assert done.json() == {"outcome": "completed"}
    assert len(_orders(sessions)) == 1
    assert client.get(url, follow_redirects=False).headers["location"].endswith("/thanks")


def _nothing_locked(engine) -> str | None:
    """None when a writer could take the checkouts right now (no transaction of Mercato's
    holds a lock on them), else what stopped it."""
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        if engine.dialect.name == "sqlite":
            cursor.execute("PRAGMA busy_timeout = 0")
            cursor.execute("BEGIN IMMEDIATE")
        else:
            cursor.execute("SELECT id FROM checkouts FOR UPDATE NOWAIT")
        return None
    except Exception as exc:  # locked: SQLite's "database is locked", PostgreSQL's 55P03
        return str(exc)
    finally:
        raw.rollback()
        raw.close()


def test_stripe_is_asked_with_no_lock_or_transaction_open(client, engine, element_shop):
    """Page views and payments talk to the provider only between transactions."""
    blocked = []
    element_shop.on_request = lambda method, path: blocked.append(
        (method, path, _nothing_locked(engine))
    )
    url, html = open_checkout(client)
    ready = _prepare(client, url, html)
    _confirm_in_browser(element_shop, ready.json()["intent"], "4242424242424242")
    client.get(f"{ready.json()['return_url']}?payment_intent={ready.json()['intent']}")
    assert len(blocked) >= 4  # create, retrieve, update, confirm, retrieve
    assert [b for b in blocked if b[2] is not None] == []


# ---------------------------------------------------------------- refunds that settle later


def _paid_order(client, sessions) -> Order:
    make_shop(sessions)
    body = start(client)
    fill(client, body["token"])
    assert complete(client, body["token"], "pm_card_visa", "r1").json()["status"] == "completed"
    with sessions() as session:
        return session.scalar(select(Order))


def _stripe_says(client, refund: dict, kind: str = "charge.refund.updated"):
    payload = json.dumps(
        {
            "id": f"evt_{kind}_{refund['status']}",
            "object": "event",
            "type": kind,
            "data": {"object": refund},
        }
    ).encode()
    return client.post(
        "/api/v1/payments/webhooks/stripe",
        content=payload,
        headers={"Stripe-Signature": sign(payload, WEBHOOK_SECRET)},
    )


def _order(sessions, order_id: str) -> Order:
    with sessions() as session:
        return session.get(Order, order_id)


def test_a_pending_refund_counts_once_when_stripe_says_it_succeeded(
    client, admin, sessions, stripe_shop
):
    order = _paid_order(client, sessions)
    stripe_shop.refund_status = "pending"
    made = client.post(f"/api/v1/orders/{order.id}/refunds", headers=admin, json={})
    assert made.status_code == 201, made.text
    assert made.json()["status"] == "pending"
    assert _order(sessions, order.id).refunded_total == 0  # not given back yet
    # A second refund cannot take what the pending one holds.
    more = client.post(f"/api/v1/orders/{order.id}/refunds", headers=admin, json={"amount": 1})
    assert more.status_code == 422

    settled = stripe_shop.refund_becomes("succeeded")
    assert _stripe_says(client, settled).json() == {"outcome": "refund refunded"}
    assert _stripe_says(client, settled).json() == {"outcome": "refund refunded"}
    counted = _order(sessions, order.id)
    assert (counted.refunded_total, counted.payment_status) == (order.total, "refunded")
    with sessions() as session:
        assert session.scalar(select(Payment.refunded)) == order.total


def test_a_refund_that_fails_after_it_succeeded_no_longer_counts(
    client, admin, sessions, stripe_shop
):
    order = _paid_order(client, sessions)
    made = client.post(f"/api/v1/orders/{order.id}/refunds", headers=admin, json={})
    assert made.json()["status"] == "refunded"
    assert _order(sessions, order.id).payment_status == "refunded"

    failed = stripe_shop.refund_becomes("failed", "expired_or_canceled_card")
    assert _stripe_says(client, failed, "refund.failed").json() == {"outcome": "refund failed"}
    back = _order(sessions, order.id)
    assert (back.refunded_total, back.payment_status) == (0, "paid")
    with sessions() as session:
        payment = session.scalar(select(Payment))
        assert (payment.refunded, payment.status) == (0, "succeeded")
    timeline = client.get(f"/api/v1/orders/{order.id}", headers=admin).json()
    assert "failed after it was reported done: expired_or_canceled_card" in str(timeline)
    # The merchant can refund the buyer again.
    stripe_shop.refund_status = "succeeded"
    again = client.post(f"/api/v1/orders/{order.id}/refunds", headers=admin, json={})
    assert again.status_code == 201, again.text
    assert again.json()["status"] == "refunded"


def test_a_pending_refund_whose_webhook_was_lost_is_looked_up(client, admin, sessions, stripe_shop):
    order = _paid_order(client, sessions)
    stripe_shop.refund_status = "pending"
    client.post(f"/api/v1/orders/{order.id}/refunds", headers=admin, json={})
    stripe_shop.refund_becomes("succeeded")
    later = utcnow() + refunds.RECONCILE_AFTER + timedelta(seconds=1)
    assert refunds.reconcile(sessions, later) == {"refunded": 1}
    assert _order(sessions, order.id).payment_status == "refunded"
    assert [r[0] for r in stripe_shop.requests if r[1].startswith("/v1/refunds/")] == ["GET"]
