"""Local payment methods per market: the types a market offers (checked against the
currencies and countries Stripe documents for each), the intent listing them, iDEAL's
redirect to the bank and back, Boleto's voucher waiting for the provider's word (the
stock held until it lapses, given back when it fails), and the stand-ins refusing what
Stripe refuses."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from mercato.checkout import recovery
from mercato.checkout import service as checkouts
from mercato.checkout.models import Checkout
from mercato.cli import app as cli
from mercato.db import transaction, utcnow
from mercato.inventory.models import Reservation, StockLevel
from mercato.orders.models import Order
from mercato.payments import service as payments
from mercato.payments.models import Payment
from mercato.payments.providers import PaymentRequest, ProviderError
from mercato.payments.sandbox import SIGNATURE_HEADER
from mercato.payments.stripe_provider import StripeProvider
from tests.checkout.helpers import complete, fill, make_shop, start
from tests.helpers import csrf_of
from tests.markets.test_markets import AMSTERDAM, NL, US, market
from tests.payments.stripe_standin import WEBHOOK_SECRET, sign

BR = {
    "code": "br",
    "name": "Brasil",
    "countries": ["BR"],
    "currency": "BRL",
    "languages": ["pt_BR"],
    "tax_mode": "inclusive",
    "payment_methods": ["card", "pix", "boleto"],
}
SAO_PAULO = {
    "name": "Bruna Lima",
    "line1": "Avenida Paulista 1000",
    "city": "São Paulo",
    "region": "SP",
    "postal_code": "01310-100",
    "country": "BR",
}
IDEAL_NL = {**NL, "payment_methods": ["card", "ideal"]}


def _brazil(client, admin):
    imported = client.post(
        "/api/v1/fx-rates",
        json={"content": "currency,rate,date\nBRL,5.0,2026-12-04\n", "source": "t.csv"},
        headers=admin,
    )
    assert imported.status_code in (200, 201), imported.text
    market(client, admin, BR)


def _payment(sessions) -> Payment:
    with sessions() as session:
        return session.scalars(select(Payment).order_by(Payment.created_at.desc())).first()


def _orders(sessions) -> list[Order]:
    with sessions() as session:
        return list(session.scalars(select(Order)))


def _held(sessions, sku="HOODIE-M") -> int:
    with sessions() as session:
        return sum(
            level.reserved
            for level in session.scalars(
                select(StockLevel).where(StockLevel.variant_id.in_(_variant_ids(session, sku)))
            )
        )


def _variant_ids(session, sku):
    from mercato.catalog.models import Variant

    return list(session.scalars(select(Variant.id).where(Variant.sku == sku)))


def _webhook(client, payload: bytes):
    return client.post(
        "/api/v1/payments/webhooks/sandbox",
        content=payload,
        headers={SIGNATURE_HEADER: payments.sandbox().sign(payload)},
    )


# ---------------------------------------------------------------- per market


def test_each_market_offers_the_methods_its_currency_and_countries_take(client, admin):
    assert market(client, admin, NL)["payment_methods"] == ["card"]  # the default
    client.delete("/api/v1/markets/nl", headers=admin)
    assert market(client, admin, IDEAL_NL)["payment_methods"] == ["card", "ideal"]
    _brazil(client, admin)
    assert client.get("/api/v1/markets/br", headers=admin).json()["payment_methods"] == [
        "card",
        "pix",
        "boleto",
    ]
    # Pix is BRL only; Bancontact serves Belgium only; an unknown type is named.
    wrong = client.post(
        "/api/v1/markets",
        json={**US, "payment_methods": ["card", "pix", "bancontact", "bitcoin"]},
        headers=admin,
    )
    assert wrong.status_code == 422
    errors = {tuple(e["loc"]): e["message"] for e in wrong.json()["errors"]}
    assert errors[("payment_methods", 1)] == "Pix takes BRL, not USD"
    assert errors[("payment_methods", 2)] == "Bancontact takes EUR, not USD"
    assert "'bitcoin' is not one of" in errors[("payment_methods", 3)]
    germany = client.post(
        "/api/v1/markets",
        json={**NL, "code": "de", "countries": ["DE"], "payment_methods": ["ideal"]},
        headers=admin,
    )
    assert germany.json()["errors"][0] == {
        "loc": ["payment_methods", 0],
        "field": "payment_methods[0]",
        "message": "iDEAL serves buyers in NL only",
        "code": "invalid",
    }
    # A market's currency cannot change from under its methods; nothing is changed.
    dollars = client.patch("/api/v1/markets/nl", json={"currency": "USD"}, headers=admin)
    assert dollars.status_code == 422 and dollars.json()["errors"][0]["loc"] == [
        "payment_methods",
        1,
    ]
    assert client.get("/api/v1/markets/nl", headers=admin).json()["currency"] == "EUR"
    klarna = client.patch(
        "/api/v1/markets/nl", json={"payment_methods": ["card", "ideal", "klarna"]}, headers=admin
    )
    assert klarna.json()["payment_methods"] == ["card", "ideal", "klarna"]
    assert client.patch("/api/v1/markets/nl", json={"payment_methods": []}, headers=admin).json()[
        "errors"
    ][0]["loc"] == ["payment_methods"]


def test_the_cli_sets_a_markets_methods_and_names_a_bad_one(settings, engine):
    runner = CliRunner()
    base = [
        "markets",
        "create",
        "be",
        "--name",
        "België",
        "--countries",
        "BE",
        "--currency",
        "EUR",
        "--languages",
        "nl_BE,fr_BE",
        "--tax-mode",
        "inclusive",
    ]
    refused = runner.invoke(cli, [*base, "--payment-methods", "card,boleto"])
    assert refused.exit_code != 0 and "payment_methods[1]" in refused.output
    assert "Boleto takes BRL, not EUR" in refused.output
    made = runner.invoke(cli, [*base, "--payment-methods", "card,bancontact"])
    assert made.exit_code == 0, made.output
    listed = runner.invoke(cli, ["markets", "list"])
    assert "card, bancontact" in listed.output


def test_the_intent_lists_the_markets_methods_and_a_method_it_leaves_out_is_refused(
    client, admin, sessions
):
    make_shop(sessions, price=2500)
    market(client, admin, IDEAL_NL)
    token = start(client, country="NL")["token"]
    fill(client, token, address=AMSTERDAM)
    refused = complete(client, token, "boleto", "b1")
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["loc"] == ["payment_method"]
    assert "card, ideal" in refused.json()["errors"][0]["message"]
    assert _payment(sessions) is None  # refused before anything was recorded
    paid = complete(client, token, "tok_visa", "c1")
    assert paid.json()["status"] == "completed"
    assert payments.sandbox().payment_method_types(_payment(sessions).intent_ref) == (
        "card",
        "ideal",
    )
    assert _payment(sessions).method == "card"


# ---------------------------------------------------------------- iDEAL: redirect


def _pay_with_ideal(client, admin, sessions):
    make_shop(sessions, price=2500)
    market(client, admin, IDEAL_NL)
    token = start(client, country="NL")["token"]
    fill(client, token, address=AMSTERDAM)
    total = client.get(f"/api/v1/checkouts/{token}").json()["total"]
    asked = complete(client, token, "ideal", "i1")
    assert asked.status_code == 202, asked.text
    client.cookies.clear()  # the buyer's browser, not the app that started the checkout
    assert asked.json()["status"] == "requires_action"
    return token, total, _path(asked.json()["next_action_url"])


def _path(url: str) -> str:
    """An address of the shop (its configured base URL) as the test client asks for it."""
    return "/" + url.split("/", 3)[3]


def test_ideal_redirect_places_the_order_when_the_provider_says_paid(client, admin, sessions):
    token, total, bank = _pay_with_ideal(client, admin, sessions)
    payment = _payment(sessions)
    assert (payment.status, payment.method) == ("requires_action", "ideal")
    assert bank.endswith(f"/shop/checkout/{token}/return?authorize={payment.intent_ref}")
    # The stand-in bank page shows what is paid.
    page = client.get(bank)
    assert (
        page.status_code == 200 and "iDEAL" in page.text and "Authorise test payment" in page.text
    )
    # Coming back with the intent's name is not being paid: the provider is asked.
    early = client.get(
        f"/shop/checkout/{token}/return?payment_intent={payment.intent_ref}"
        "&payment_intent_client_secret=x&redirect_status=succeeded",
        follow_redirects=False,
    )
    assert early.status_code == 402 and _orders(sessions) == []
    authorised = client.post(
        f"/shop/checkout/{token}/authenticate",
        data={"csrf": csrf_of(page.text), "answer": "approve"},
        follow_redirects=False,
    )
    assert authorised.status_code == 303, authorised.text
    back = _path(authorised.headers["location"])
    assert back.startswith(f"/shop/checkout/{token}/return?payment_intent=")
    assert "payment_intent_client_secret=pi_sbx_" in back and "redirect_status=succeeded" in back
    done = client.get(back, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"].endswith("/thanks")
    (order,) = _orders(sessions)
    assert order.total == total and payments.sandbox().retrieve(payment.intent_ref).amount == total
    assert _payment(sessions).status == "succeeded"


def test_ideal_failed_at_the_bank_places_nothing_and_keeps_the_hold(client, admin, sessions):
    token, _total, bank = _pay_with_ideal(client, admin, sessions)
    page = client.get(bank)
    failed = client.post(
        f"/shop/checkout/{token}/authenticate",
        data={"csrf": csrf_of(page.text), "answer": "fail"},
        follow_redirects=False,
    )
    assert "redirect_status=failed" in failed.headers["location"]
    back = client.get(_path(failed.headers["location"]))
    assert back.status_code == 402 and "not authorised" in back.text
    assert _orders(sessions) == [] and _payment(sessions).status == "declined"
    assert _held(sessions) == 1  # the buyer may pay again another way
    again = complete(client, token, "tok_visa", "i2")
    assert again.json()["status"] == "completed" and len(_orders(sessions)) == 1


# ---------------------------------------------------------------- Boleto: delayed


def _pay_with_boleto(client, admin, sessions, now=None):
    make_shop(sessions, price=2500)
    _brazil(client, admin)
    token = start(client, country="BR")["token"]
    filled = fill(client, token, address=SAO_PAULO)
    asked = complete(client, token, "boleto", "b1")
    assert asked.status_code == 202, asked.text
    assert asked.json()["status"] == "waiting"
    return token, filled["total"]


def test_boleto_waits_for_the_webhook_then_places_the_order(client, admin, sessions):
    token, total = _pay_with_boleto(client, admin, sessions)
    payment = _payment(sessions)
    assert (payment.status, payment.method) == ("requires_action", "boleto")
    assert _orders(sessions) == [] and _held(sessions) == 1
    # The waiting page says how much, by when, and the voucher's number; it reloads.
    page = client.get(f"/shop/checkout/{token}/waiting")
    assert page.status_code == 200 and 'http-equiv="refresh"' in page.text
    assert "Boleto" in page.text and 'id="payment-code"' in page.text
    assert "R$" in page.text
    payload = payments.sandbox().settle(payment.intent_ref, paid=True)
    forged = client.post(
        "/api/v1/payments/webhooks/sandbox", content=payload, headers={SIGNATURE_HEADER: "0" * 64}
    )
    assert forged.status_code == 400 and _orders(sessions) == []
    assert _webhook(client, payload).json() == {"outcome": "completed"}
    assert _webhook(client, payload).json() == {"outcome": "already done"}
    (order,) = _orders(sessions)
    assert (order.total, order.currency, order.payment_status) == (total, "BRL", "paid")
    assert payments.sandbox().retrieve(payment.intent_ref).amount == total
    assert _held(sessions) == 0  # sold, not held
    done = client.get(f"/shop/checkout/{token}/waiting", follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"].endswith("/thanks")


def test_a_boleto_that_lapses_gives_the_stock_back(client, admin, sessions):
    token, _total = _pay_with_boleto(client, admin, sessions)
    payment = _payment(sessions)
    payload = payments.sandbox().settle(payment.intent_ref, paid=False)
    assert _webhook(client, payload).json() == {"outcome": "declined"}
    assert _orders(sessions) == [] and _payment(sessions).status == "declined"
    assert _held(sessions) == 0
    with sessions() as session:
        assert session.scalars(select(Checkout)).one().status == "expired"
    page = client.get(f"/shop/checkout/{token}/waiting")
    assert 'data-status="failed"' in page.text and "not paid in time" in page.text
    # The buyer comes back and pays by card: held afresh, placed once.
    again = complete(client, token, "tok_visa", "b2")
    assert again.json()["status"] == "completed" and len(_orders(sessions)) == 1


def test_the_hold_lasts_while_the_boleto_is_payable(client, admin, sessions):
    before = utcnow()
    token, _total = _pay_with_boleto(client, admin, sessions)
    payment = _payment(sessions)
    pay_by = payments.sandbox().retrieve(payment.intent_ref).pay_by
    assert pay_by >= before + timedelta(days=3)
    with sessions() as session:
        found = session.scalars(select(Checkout)).one()
        held = session.get(Reservation, found.reservation_id)
        assert held.expires_at >= pay_by and found.expires_at >= pay_by
    # A day later the sweeper and the reconciler leave it waiting.
    tomorrow = utcnow() + timedelta(days=1)
    with transaction(sessions) as session:
        assert checkouts.expire_lapsed(session, tomorrow) == 0
    assert recovery.reconcile(sessions, tomorrow) == {"waiting": 1}
    assert _held(sessions) == 1
    # Lapsed and no word came: canceled, voided, and the stock goes back.
    later = pay_by + timedelta(hours=2)
    assert recovery.reconcile(sessions, later) == {"voided": 1}
    with transaction(sessions) as session:
        assert checkouts.expire_lapsed(session, later) == 1
    assert _held(sessions) == 0 and _payment(sessions).status == "voided"
    assert _orders(sessions) == []


# ---------------------------------------------------------------- the stand-ins refuse


def test_the_sandbox_refuses_what_stripe_refuses():
    sandbox = payments.sandbox()
    with pytest.raises(ProviderError, match=r"currency provided \(usd\) is invalid"):
        sandbox.create_intent(
            PaymentRequest(2500, "USD", "refuse-1", payment_method_types=("card", "ideal"))
        )
    small = sandbox.create_intent(
        PaymentRequest(20, "EUR", "refuse-2", payment_method_types=("card", "ideal"))
    )
    with pytest.raises(ProviderError, match="at least 50"):
        sandbox.confirm(small.ref, "ideal", return_url="http://x/r", idempotency_key="r2")
    cards = sandbox.create_intent(
        PaymentRequest(2500, "EUR", "refuse-3", payment_method_types=("card",))
    )
    with pytest.raises(ProviderError, match="not in this PaymentIntent's payment_method_types"):
        sandbox.confirm(cards.ref, "ideal", return_url="http://x/r", idempotency_key="r3")


def test_stripe_gets_the_markets_types_and_its_voucher_is_read(stand_in):
    provider = StripeProvider("sk_test_123", WEBHOOK_SECRET, stand_in.url)
    intent = provider.create_intent(
        PaymentRequest(12500, "BRL", "s-1", payment_method_types=("card", "pix", "boleto"))
    )
    (created,) = [r for r in stand_in.requests if r[1] == "/v1/payment_intents"]
    assert [created[2][f"payment_method_types[{i}]"] for i in range(3)] == [
        "card",
        "pix",
        "boleto",
    ]
    assert not any(k.startswith("automatic_payment_methods") for k in created[2])
    with pytest.raises(ProviderError, match="currency provided"):
        provider.create_intent(PaymentRequest(12500, "USD", "s-2", payment_method_types=("pix",)))
    # What the Payment Element does in the browser when the buyer picks Boleto.
    import httpx

    confirmed = httpx.post(
        f"{stand_in.url}/v1/payment_intents/{intent.ref}/confirm",
        headers={"Authorization": "Bearer pk_test_123"},
        data={
            "client_secret": stand_in.intents[intent.ref]["client_secret"],
            "payment_method_data[type]": "boleto",
            "return_url": "http://x/r",
        },
    )
    assert confirmed.status_code == 200, confirmed.text
    waiting = provider.retrieve(intent.ref)
    assert waiting.status == "requires_action" and waiting.method_type == "boleto"
    assert waiting.pay_by is not None and waiting.instructions_url.endswith(intent.ref)
    failed = stand_in.settle(intent.ref, paid=False)
    payload = json.dumps(
        {
            "id": "evt_f",
            "object": "event",
            "type": "payment_intent.payment_failed",
            "data": {"object": failed},
        }
    ).encode()
    event = provider.parse_webhook(payload, {"stripe-signature": sign(payload, WEBHOOK_SECRET)})
    assert (event.intent_ref, event.status) == (intent.ref, "declined")
