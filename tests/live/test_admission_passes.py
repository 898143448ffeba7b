"""Admission as its own step: the gate answers "you're in" with a signed pass (or "sold
out") at once, and the checkout follows with the pass, without queueing again. A pass
is good once, for its buyer and event only, for five minutes; a refused checkout gives
it back. The same with the database gate and the Redis gate."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from mercato.app import create_app
from mercato.checkout import service as checkout_service
from mercato.config import get_settings
from mercato.db import transaction
from mercato.live import passes, runtime, tasks
from mercato.live.models import Admission
from tests.checkout.helpers import make_shop
from tests.helpers import ADDRESS

API = "/api/v1/live-events"


@pytest.fixture(params=["database", "redis"])
def shop_app(request, engine, settings, monkeypatch):
    """The app with the drop's gate in the database, or in Redis."""
    if request.param == "redis":
        monkeypatch.setenv("MERCATO_REDIS_URL", request.getfixturevalue("redis_url"))
        get_settings.cache_clear()
    return create_app(get_settings(), engine)


@pytest.fixture
def drop(shop_app, sessions, admin) -> str:
    """A live event on air with the hoodie pinned at 19.00 behind a gate of 2 units."""
    make_shop(sessions, on_hand=10, sizes=("M",))
    body = {"title": "Drop", "per_buyer_limit": 1, "products": [{"sku": "HOODIE-M"}]}
    with TestClient(shop_app) as client:
        event_id = client.post(API, json=body, headers=admin).json()["id"]
        assert client.post(f"{API}/{event_id}/start", headers=admin).status_code == 200
        pin = {"sku": "HOODIE-M", "live_price": 1900}
        assert client.post(f"{API}/{event_id}/pin", json=pin, headers=admin).status_code == 200
        gate = {"sku": "HOODIE-M", "units": 2}
        assert client.put(f"{API}/{event_id}/gate", json=gate, headers=admin).status_code == 204
    return event_id


def _buyer(app, name: str) -> TestClient:
    return TestClient(app, cookies={"mercato_csrf": name})


def _problem(response) -> str:
    return response.json()["type"].rsplit("/", 1)[-1]


def test_a_buyer_let_in_checks_out_with_the_pass_once(shop_app, drop):
    with _buyer(shop_app, "visitor-1") as buyer:
        admitted = buyer.post(f"{API}/{drop}/admission", json={"quantity": 1})
        assert admitted.status_code == 201, admitted.text
        granted = admitted.json()
        assert granted["place"] == 1 and granted["quantity"] == 1 and granted["expires_at"]
        token = granted["admission_pass"]

        bought = buyer.post(f"{API}/{drop}/buy", json={"admission_pass": token})
        assert bought.status_code == 201, bought.text
        assert bought.json()["lines"][0]["unit_price"] == 1900 and bought.json()["token"]

        again = buyer.post(f"{API}/{drop}/buy", json={"admission_pass": token})
        assert again.status_code == 409 and _problem(again) == "pass-used"

    with _buyer(shop_app, "visitor-2") as other:  # the pass's unit stayed taken
        second = other.post(f"{API}/{drop}/admission", json={"quantity": 1})
        assert second.status_code == 201 and second.json()["place"] == 2
        late = _buyer(shop_app, "visitor-3").post(f"{API}/{drop}/admission", json={})
        assert late.status_code == 409 and _problem(late) == "sold-out"


def test_a_pass_is_its_buyers_for_its_event_and_its_units(shop_app, drop):
    with _buyer(shop_app, "visitor-1") as buyer:
        token = buyer.post(f"{API}/{drop}/admission", json={}).json()["admission_pass"]
        changed = token.replace(".1.", ".2.", 1)
        for forged in (changed, "not-a-pass", token[:-1] + ("0" if token[-1] != "0" else "1")):
            refused = buyer.post(f"{API}/{drop}/buy", json={"admission_pass": forged})
            assert refused.status_code == 422, forged
            assert refused.json()["errors"][0]["field"] == "admission_pass"
        other_units = buyer.post(f"{API}/{drop}/buy", json={"admission_pass": token, "quantity": 2})
        assert other_units.status_code == 422
        assert other_units.json()["errors"][0]["field"] == "quantity"
    with _buyer(shop_app, "visitor-2") as thief:
        stolen = thief.post(f"{API}/{drop}/buy", json={"admission_pass": token})
        assert stolen.status_code == 422 and "this buyer" in stolen.text
    with _buyer(shop_app, "visitor-1") as buyer:  # nothing above used it up
        assert buyer.post(f"{API}/{drop}/buy", json={"admission_pass": token}).status_code == 201


def test_a_refused_checkout_gives_the_pass_back_and_a_lapsed_pass_is_refused(
    shop_app, drop, monkeypatch
):
    with _buyer(shop_app, "visitor-1") as buyer:
        token = buyer.post(f"{API}/{drop}/admission", json={}).json()["admission_pass"]
        unknown_code = {"admission_pass": token, "discount_code": "NO-SUCH-CODE"}
        refused = buyer.post(f"{API}/{drop}/buy", json=unknown_code)
        assert refused.status_code == 422, refused.text
        assert buyer.post(f"{API}/{drop}/buy", json={"admission_pass": token}).status_code == 201

    monkeypatch.setattr(passes, "SECONDS", -1)
    with _buyer(shop_app, "visitor-2") as buyer:
        lapsed = buyer.post(f"{API}/{drop}/admission", json={}).json()["admission_pass"]
        late = buyer.post(f"{API}/{drop}/buy", json={"admission_pass": lapsed})
        assert late.status_code == 409 and _problem(late) == "pass-lapsed"


def test_a_pass_for_a_product_no_longer_pinned_is_refused(shop_app, drop, admin):
    with _buyer(shop_app, "visitor-1") as buyer:
        token = buyer.post(f"{API}/{drop}/admission", json={}).json()["admission_pass"]
        assert buyer.post(f"{API}/{drop}/unpin", headers=admin).status_code == 200
        gone = buyer.post(f"{API}/{drop}/buy", json={"admission_pass": token})
        assert gone.status_code == 409 and "on sale" in gone.text


def test_a_pass_left_unused_lapses_and_its_unit_goes_to_the_next_in_the_queue(
    shop_app, drop, job_context, sessions
):
    with _buyer(shop_app, "visitor-1") as first, _buyer(shop_app, "visitor-2") as second:
        used = first.post(f"{API}/{drop}/admission", json={}).json()["admission_pass"]
        assert first.post(f"{API}/{drop}/buy", json={"admission_pass": used}).status_code == 201
        unused = second.post(f"{API}/{drop}/admission", json={}).json()["admission_pass"]
        with _buyer(shop_app, "visitor-3") as third:
            assert _problem(third.post(f"{API}/{drop}/admission", json={})) == "sold-out"

            the_gate = runtime.of(shop_app.state).gate
            if hasattr(the_gate, "drain_all"):  # the Redis gate: its log reaches the database
                the_gate.drain_all(sessions, drop)
            later = dataclasses.replace(job_context, now=job_context.now + timedelta(hours=1))
            tasks.lapse_admissions(later)
            tasks.lapse_admissions(later)  # nothing is given back twice

            late = second.post(f"{API}/{drop}/buy", json={"admission_pass": unused})
            assert late.status_code == 409 and _problem(late) in ("pass-lapsed", "pass-used")
            assert third.post(f"{API}/{drop}/admission", json={}).status_code == 201
            assert _problem(third.post(f"{API}/{drop}/admission", json={})) == "buyer-limit"
        # The one unit given back went to the third buyer; the second may queue again.
        with _buyer(shop_app, "visitor-4") as fourth:
            assert _problem(fourth.post(f"{API}/{drop}/admission", json={})) == "sold-out"
    with sessions() as session:  # the third buyer's admission: in Redis until drained
        states = [a.state for a in session.query(Admission).filter_by(event_id=drop)]
    assert states.count("checked_out") == 1 and states.count("lapsed") == 1


def test_a_checkout_left_unpaid_gives_its_unit_back_to_the_gate_and_a_paid_one_never(
    shop_app, drop, job_context, sessions
):
    with _buyer(shop_app, "visitor-1") as left, _buyer(shop_app, "visitor-2") as paid:
        for buyer, details in (
            (left, {}),
            (paid, {"email": "ada@example.com", "shipping_address": ADDRESS}),
        ):
            granted = buyer.post(f"{API}/{drop}/admission", json={}).json()["admission_pass"]
            started = buyer.post(f"{API}/{drop}/buy", json={"admission_pass": granted, **details})
            assert started.status_code == 201, started.text
        done = paid.post(
            f"/api/v1/checkouts/{started.json()['token']}/complete",
            json={"payment_method": "tok_visa", "expected_total": started.json()["total"]},
            headers={"Idempotency-Key": "pay-1"},
        )
        assert done.status_code == 200 and done.json()["status"] == "completed", done.text
        with _buyer(shop_app, "visitor-3") as third:
            assert _problem(third.post(f"{API}/{drop}/admission", json={})) == "sold-out"

            # The first buyer never pays: their checkout's hold lapses.
            later = dataclasses.replace(job_context, now=job_context.now + timedelta(hours=1))
            with transaction(sessions) as session:
                assert checkout_service.expire_lapsed(session, later.now) == 1
            the_gate = runtime.of(shop_app.state).gate
            if hasattr(the_gate, "drain_all"):  # the Redis gate: its log reaches the database
                the_gate.drain_all(sessions, drop)
            tasks.lapse_admissions(later)
            tasks.lapse_admissions(later)  # nothing is given back twice

            # Their unit goes to the next buyer in the queue, and only that one unit.
            assert third.post(f"{API}/{drop}/admission", json={}).status_code == 201
        with _buyer(shop_app, "visitor-4") as fourth:
            assert _problem(fourth.post(f"{API}/{drop}/admission", json={})) == "sold-out"
        # The first buyer's limit is theirs again: they hear "sold out", not "limit".
        assert _problem(left.post(f"{API}/{drop}/admission", json={})) == "sold-out"
        assert _problem(paid.post(f"{API}/{drop}/admission", json={})) == "buyer-limit"
    with sessions() as session:
        states = sorted(
            a.state
            for a in session.query(Admission).filter_by(event_id=drop).order_by(Admission.seq)
        )
    assert states.count("abandoned") == 1 and states.count("checked_out") == 1
