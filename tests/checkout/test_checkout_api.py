"""Checkout JSON API: holds, totals, completion into one order with one charge."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from sqlalchemy import func, select

from mercato.checkout import completion, paying, service
from mercato.db import transaction, utcnow
from mercato.inventory import availability, reports
from mercato.orders.models import Order
from mercato.payments import service as payments
from mercato.payments.models import Payment
from tests.checkout.helpers import ADDRESS, complete, fill, make_shop, start


def _available(sessions, variant_id):
    with sessions() as session:
        return availability.available_for(session, "storefront", variant_id)


def _orders(sessions):
    with sessions() as session:
        return list(session.scalars(select(Order)))


def test_start_holds_stock_and_prices_lines(client, sessions):
    ids = make_shop(sessions)
    body = start(client, items=[("HOODIE-M", 2)], attribution={"source": "tiktok"})
    assert body["status"] == "open" and body["currency"] == "USD"
    assert body["subtotal"] == 5000 and body["lines"][0]["title"] == "Cloud Hoodie"
    assert body["attribution"] == {"source": "tiktok"}
    assert _available(sessions, ids["HOODIE-M"]) == 3
    assert len(body["token"]) > 30
    # The token reads the checkout; it is stored only as a hash.
    assert client.get(f"/api/v1/checkouts/{body['token']}").json()["id"] == body["id"]
    with sessions() as session:
        row = session.get(service.Checkout, body["id"])
        assert row.token_hash != body["token"] and len(row.token_hash) == 64


def test_unknown_or_short_items_are_refused(client, sessions):
    make_shop(sessions, on_hand=1)
    unknown = client.post("/api/v1/checkouts", json={"lines": [{"sku": "NOPE", "quantity": 1}]})
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["field"] == "lines[0].sku"
    short = client.post("/api/v1/checkouts", json={"lines": [{"sku": "HOODIE-M", "quantity": 2}]})
    assert short.status_code == 409 and short.json()["type"] == "/problems/insufficient-stock"


def test_complete_makes_one_order_with_attribution(client, sessions):
    ids = make_shop(sessions)
    attribution = {
        "source": "instagram",
        "campaign": "drop1",
        "content_id": "post42",
        "creator": "ana",
        "utm": {"utm_source": "instagram"},
    }
    body = start(client, attribution=attribution)
    filled = fill(client, body["token"])
    # California sales tax is added: 7.25% of 25.00; shipping is free over 75.00 only.
    assert filled["tax_total"] == 181 and filled["shipping_total"] == 500
    assert filled["total"] == 2500 + 181 + 500 and not filled["taxes_included"]
    charges = payments.sandbox().charges()
    done = complete(client, body["token"], "tok_visa", "k1")
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "completed"
    orders = _orders(sessions)
    assert len(orders) == 1
    order = orders[0]
    assert (order.channel, order.external_id, order.payment_status) == (
        "storefront",
        body["id"],
        "paid",
    )
    assert (order.source, order.campaign, order.content_id, order.creator) == (
        "instagram",
        "drop1",
        "post42",
        "ana",
    )
    assert order.total == filled["total"] and order.tax_total == 181
    assert order.shipping_address["region"] == "CA"
    assert payments.sandbox().charges() == charges + 1
    with sessions() as session:
        level = availability.read_stock(session, [ids["HOODIE-M"]])[ids["HOODIE-M"]]
        assert (level.on_hand, level.reserved) == (4, 0)


def test_double_submission_is_one_order_and_one_charge(client, sessions):
    make_shop(sessions)
    body = start(client)
    fill(client, body["token"])
    charges = payments.sandbox().charges()
    same = [complete(client, body["token"], "tok_visa", "tap") for _ in range(2)]
    assert [r.status_code for r in same] == [200, 200]
    # The key is the attempt's own: the retry is answered with the attempt's order.
    assert same[1].json() == same[0].json()
    # A different key (second tab, new page) finds the checkout completed.
    other = complete(client, body["token"], "tok_visa", "other-tab")
    assert other.json()["order_id"] == same[0].json()["order_id"]
    assert len(_orders(sessions)) == 1
    assert payments.sandbox().charges() == charges + 1


def test_concurrent_completions_make_one_order(client, sessions):
    make_shop(sessions)
    body = start(client)
    fill(client, body["token"])
    with ThreadPoolExecutor(4) as pool:
        results = list(
            pool.map(
                lambda i: complete(client, body["token"], "tok_visa", f"c{i}"),
                range(4),
            )
        )
    assert {r.status_code for r in results} <= {200, 409}
    assert len({r.json()["order_id"] for r in results if r.status_code == 200}) == 1
    assert len(_orders(sessions)) == 1
    with sessions() as session:
        assert (
            session.scalar(
                select(func.count()).select_from(Payment).where(Payment.status == "succeeded")
            )
            == 1
        )


def test_declined_card_makes_no_order_and_keeps_the_hold(client, sessions):
    ids = make_shop(sessions)
    body = start(client)
    fill(client, body["token"])
    declined = complete(client, body["token"], "tok_chargeDeclined", "d1")
    assert declined.status_code == 402
    assert declined.json()["type"] == "/problems/payment-declined"
    assert "declined" in declined.json()["detail"]
    assert _orders(sessions) == []
    assert _available(sessions, ids["HOODIE-M"]) == 4
    with sessions() as session:
        assert session.scalar(select(Payment.status)) == "declined"
    # The buyer keeps the time the hold had left to try another card.
    assert (
        client.get(f"/api/v1/checkouts/{body['token']}").json()["expires_at"]
        == (body["expires_at"])
    )
    paid = complete(client, body["token"], "tok_visa", "d2")
    assert paid.json()["status"] == "completed"


def test_authentication_required_then_approved(client, sessions):
    make_shop(sessions)
    body = start(client)
    fill(client, body["token"])
    asked = complete(client, body["token"], "tok_threeDSecureRequired", "3ds")
    assert asked.status_code == 202 and asked.json()["status"] == "requires_action"
    assert "/shop/checkout/" in asked.json()["next_action_url"]
    assert _orders(sessions) == []
    with transaction(sessions) as session:
        paying.authenticate_in_sandbox(session, body["token"], approved=True)
    done = completion.resume(sessions, body["token"])
    assert done.status == "completed" and len(_orders(sessions)) == 1


def test_completion_needs_details_and_a_key(client, sessions):
    make_shop(sessions)
    body = start(client)
    no_key = complete(client, body["token"], "tok_visa", None)
    assert no_key.status_code == 422
    missing = complete(client, body["token"], "tok_visa", "m")
    assert missing.status_code == 422
    assert {e["field"] for e in missing.json()["errors"]} == {"email", "shipping_address"}


def test_invalid_details_are_reported_per_field(client, sessions):
    make_shop(sessions)
    body = start(client)
    bad = client.patch(
        f"/api/v1/checkouts/{body['token']}",
        json={
            "phone": "12",
            "shipping_address": {**ADDRESS, "postal_code": "9"},
            "discount_code": "NOPE",
        },
    )
    assert bad.status_code == 422
    fields = {e["field"] for e in bad.json()["errors"]}
    assert fields == {"phone", "shipping_address.postal_code", "discount_code"}
    good = client.patch(f"/api/v1/checkouts/{body['token']}", json={"phone": "(415) 555-2671"})
    assert good.json()["phone"] == "+14155552671"


def test_an_app_that_knows_the_buyer_starts_with_their_details_and_pays_at_once(client, sessions):
    ids = make_shop(sessions)
    details = {"email": "ada@example.com", "phone": "(415) 555-2671", "shipping_address": ADDRESS}
    started = start(client, **details)
    # Shipping and tax for the address are in the total shown at once: the same total a
    # PATCH with the same details gives.
    other = start(client)
    patched = fill(client, other["token"], phone="(415) 555-2671")
    shown = ("shipping_rate", "shipping_total", "tax_total", "total")
    assert [started[k] for k in shown] == [patched[k] for k in shown]
    assert started["shipping_total"] > 0
    assert started["phone"] == "+14155552671" and started["email"] == "ada@example.com"
    paid = complete(client, started["token"], total=started["total"])
    assert paid.status_code == 200 and paid.json()["status"] == "completed"
    assert _available(sessions, ids["HOODIE-M"]) == 3  # one sold, one held by the other


def test_bad_details_at_the_start_hold_nothing(client, sessions):
    ids = make_shop(sessions)
    refused = client.post(
        "/api/v1/checkouts",
        json={
            "lines": [{"sku": "HOODIE-M", "quantity": 1}],
            "phone": "12",
            "shipping_address": {**ADDRESS, "postal_code": "9"},
            "shipping_rate": "by-owl",
        },
    )
    assert refused.status_code == 422
    fields = {e["field"] for e in refused.json()["errors"]}
    assert fields == {"phone", "shipping_address.postal_code", "shipping_rate"}
    assert _available(sessions, ids["HOODIE-M"]) == 5
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(service.Checkout)) == 0


def test_completion_attempts_are_rate_limited(client, sessions):
    make_shop(sessions)
    body = start(client)
    fill(client, body["token"])
    codes = [
        complete(client, body["token"], "tok_chargeDeclined", f"r{i}").status_code
        for i in range(paying.MAX_ATTEMPTS + 1)
    ]
    assert codes[:-1] == [402] * paying.MAX_ATTEMPTS and codes[-1] == 429


def test_expired_hold_releases_stock_and_checkout(client, sessions):
    ids = make_shop(sessions, on_hand=1)
    body = start(client)
    assert _available(sessions, ids["HOODIE-M"]) == 0
    later = utcnow() + service.HOLD + timedelta(seconds=1)
    with sessions() as session:  # a lapsed hold stops counting at once
        assert availability.available_for(session, "storefront", ids["HOODIE-M"], now=later) == 1
    with transaction(sessions) as session:
        assert service.expire_lapsed(session, now=later) == 1
    assert client.get(f"/api/v1/checkouts/{body['token']}").json()["status"] == "expired"
    with sessions() as session:
        level = availability.read_stock(session, [ids["HOODIE-M"]])[ids["HOODIE-M"]]
        assert (level.on_hand, level.reserved) == (1, 0)
        assert reports.verify(session) == []


def test_lapsed_checkout_holds_again_when_paid_if_stock_remains(client, sessions):
    make_shop(sessions, on_hand=1)
    body = start(client)
    fill(client, body["token"])
    with transaction(sessions) as session:
        service.expire_lapsed(session, now=utcnow() + service.HOLD + timedelta(seconds=1))
    done = complete(client, body["token"], "tok_visa", "x")
    assert done.json()["status"] == "completed"


def test_sold_out_while_lapsed_says_so(client, sessions):
    make_shop(sessions, on_hand=1)
    first = start(client)
    fill(client, first["token"])
    with transaction(sessions) as session:
        service.expire_lapsed(session, now=utcnow() + service.HOLD + timedelta(seconds=1))
    second = start(client)  # someone else takes the last one
    assert second["status"] == "open"
    late = complete(client, first["token"], "tok_visa", "y")
    assert late.status_code == 409 and late.json()["type"] == "/problems/checkout-expired"
    assert _orders(sessions) == []


def test_cancelling_a_storefront_order_puts_its_stock_back(client, sessions, admin):
    ids = make_shop(sessions)
    body = start(client)
    fill(client, body["token"])
    done = complete(client, body["token"], "tok_visa", "c1")
    order_id = done.json()["order_id"]
    with sessions() as session:
        assert availability.read_stock(session, [ids["HOODIE-M"]])[ids["HOODIE-M"]].on_hand == 4
    cancelled = client.post(
        f"/api/v1/orders/{order_id}/cancel",
        headers=admin,
        json={"reason": "changed mind", "restock": True},
    )
    assert cancelled.status_code == 200, cancelled.text
    with sessions() as session:
        level = availability.read_stock(session, [ids["HOODIE-M"]])[ids["HOODIE-M"]]
        assert (level.on_hand, level.reserved) == (5, 0)
        assert not reports.verify(session)


def test_a_total_other_than_the_one_shown_charges_nothing(client, sessions):
    make_shop(sessions)
    body = start(client)
    shown = body["total"]  # before the address: no tax yet
    filled = fill(client, body["token"])
    assert filled["total"] != shown
    charges = payments.sandbox().charges()
    stale = complete(client, body["token"], "tok_visa", "t1", total=shown)
    assert stale.status_code == 409 and stale.json()["type"] == "/problems/total-changed"
    assert (
        stale.json()["total"] == filled["total"] and "Nothing was charged" in stale.json()["detail"]
    )
    assert payments.sandbox().charges() == charges and _orders(sessions) == []
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Payment)) == 0
    paid = complete(client, body["token"], "tok_visa", "t2", total=filled["total"])
    assert paid.status_code == 200 and _orders(sessions)[0].total == filled["total"]
    assert payments.sandbox().charges() == charges + 1


def test_a_charge_whose_order_cannot_be_placed_is_refunded(client, sessions):
    make_shop(sessions, on_hand=1)
    body = start(client)
    fill(client, body["token"])
    asked = complete(client, body["token"], "tok_threeDSecureRequired", "slow")
    assert asked.status_code == 202
    # The buyer takes long at their bank: the hold lapses and another buyer takes the unit.
    with transaction(sessions) as session:
        service.expire_lapsed(session, now=utcnow() + service.HOLD + timedelta(seconds=1))
    other = start(client)["token"]
    fill(client, other)
    assert complete(client, other, "tok_visa", "other").status_code == 200
    with transaction(sessions) as session:
        paying.authenticate_in_sandbox(session, body["token"], approved=True)
    done = completion.resume(sessions, body["token"])
    assert done.status == "failed" and "was refunded" in done.message
    with sessions() as session:
        payment = session.scalar(select(Payment).where(Payment.attempt_key == "slow"))
    assert (payment.status, payment.refunded, payment.order_id) == (
        "refunded",
        payment.amount,
        None,
    )
    assert "sold out" in payment.failure_message
    assert payments.sandbox().refunded(payment.intent_ref) == payment.amount
    assert len(_orders(sessions)) == 1  # the other buyer's
