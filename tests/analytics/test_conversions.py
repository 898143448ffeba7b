"""Purchases sent back to Meta, TikTok and Pinterest: hashed as each platform asks, taken
by simulators that check the platforms' documented rules (Pinterest's own OpenAPI
schema), recorded once per destination however often the order's event is seen, refusals
kept with the platform's words and not retried, 5xx retried."""

from __future__ import annotations

import hashlib
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from openapi_schema_validator import OAS30Validator
from sqlalchemy import select
from typer.testing import CliRunner

from mercato.analytics.conversion_models import ConversionDelivery, ConversionDestination
from mercato.channels import conversions as kit
from mercato.channels.meta import conversions as meta
from mercato.channels.pinterest import conversions as pinterest
from mercato.channels.tiktok import events as tiktok
from mercato.cli import app as cli_app
from mercato.db import transaction
from mercato.events import service as events_service
from mercato.jobs.models import Job
from mercato.sandbox.contracts import pinterest as pinterest_contract
from tests.checkout.helpers import complete, fill, make_shop, start, total_of
from tests.helpers import SANDBOX

HEX64 = r"^[0-9a-f]{64}$"


def sha(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def purchase(**changes) -> kit.Purchase:
    values = dict(
        event_id="order-1001",
        event_time=int(time.time()) - 60,
        order_id="1001",
        currency="EUR",
        value=Decimal("31.81"),
        lines=(kit.Line("var_1", 2, Decimal("12.50"), "Cloud Hoodie"),),
        buyer=kit.Buyer(
            email=" Ada@Example.com ",
            phone="+1 (415) 555-0100",
            first_name="Ada",
            last_name="Buyer",
            city="San Francisco",
            region="CA",
            postal_code="94105-1234",
            country="US",
            external_id="ada@example.com",
        ),
        url="https://shop.example/shop",
        click_ids={"fbc": "fb.1.1700000000000.IwAR0abc", "ttclid": "E.C.P.abc", "epik": "dj0y"},
    )
    values.update(changes)
    return kit.Purchase(**values)


def target(kind: str, source_id: str, test_code: str | None = None) -> kit.Destination:
    return kit.Destination(f"{SANDBOX}/{kind}", source_id, "token-1", test_code)


# ---------------------------------------------------------------- adapters and simulators


def test_each_platform_takes_the_purchase_with_hashed_user_data(sandbox):
    bought = purchase()
    assert meta.send(target("meta", "111"), bought).received == 1
    assert tiktok.send(target("tiktok_events", "CPIXEL1"), bought).received == 1
    assert pinterest.send(target("pinterest", "549755885175"), bought).received == 1

    (m,) = sandbox.get("/meta/_sandbox/conversions").json()["events"]
    event = m["event"]
    assert (m["pixel_id"], event["event_name"], event["event_id"]) == (
        "111",
        "Purchase",
        "order-1001",
    )
    users = event["user_data"]
    assert users["em"] == [sha("ada@example.com")]
    assert users["ph"] == [sha("14155550100")]
    assert users["zp"] == [sha("94105")] and users["country"] == [sha("us")]
    assert users["fbc"] == "fb.1.1700000000000.IwAR0abc"  # never hashed
    assert event["custom_data"]["value"] == 31.81 and event["custom_data"]["currency"] == "eur"

    (t,) = sandbox.get("/tiktok_events/_sandbox/conversions").json()["events"]
    assert t["pixel_code"] == "CPIXEL1" and t["event"]["event_id"] == "order-1001"
    user = t["event"]["user"]
    assert user["email"] == sha("ada@example.com")
    assert user["phone"] == sha("+14155550100")
    assert user["ttclid"] == "E.C.P.abc"

    (p,) = sandbox.get("/pinterest/_sandbox/conversions").json()["events"]
    assert p["ad_account_id"] == "549755885175"
    assert p["event"]["event_id"] == "order-1001" and p["event"]["event_name"] == "checkout"
    assert p["event"]["user_data"]["em"] == [sha("ada@example.com")]
    assert p["event"]["user_data"]["click_id"] == "dj0y"
    assert p["event"]["custom_data"]["value"] == "31.81"


def test_pinterest_bodies_match_pinterests_conversion_events_schema():
    spec = pinterest_contract.spec()
    validator = OAS30Validator({"$ref": "#/components/schemas/ConversionEvents", **spec})
    for bought in (purchase(), purchase(buyer=kit.Buyer(email="a@b.co"), click_ids={})):
        body = pinterest.body(bought)
        assert [e.message for e in validator.iter_errors(body)] == []
        assert (
            pinterest_contract.request_errors(
                "POST", "/v5/ad_accounts/549755885175/events", {"test": "true"}, body
            )
            == []
        )
    # The schema itself refuses what Pinterest refuses: an unknown field, no user data.
    bad = pinterest.body(purchase())
    bad["data"][0]["revenue"] = 1
    del bad["data"][0]["user_data"]
    assert len(list(validator.iter_errors(bad))) >= 1


def test_only_what_exists_is_sent():
    bare = purchase(buyer=kit.Buyer(email="ada@example.com"), click_ids={}, url=None)
    assert meta.user_data(bare) == {"em": [sha("ada@example.com")]}
    assert tiktok.user(bare) == {"email": sha("ada@example.com")}
    assert pinterest.user_data(bare) == {"em": [sha("ada@example.com")]}
    # Without the browser's user agent Meta's website events are refused: not website.
    assert meta.event(bare)["action_source"] == "system_generated"


def test_the_simulators_refuse_what_the_platforms_refuse(sandbox):
    now = int(time.time())
    good = meta.body(target("meta", "1"), purchase())
    cases = [
        {**good["data"][0], "user_data": {"em": ["ada@example.com"]}},
        {**good["data"][0], "event_time": now - 8 * 86400},
        {**good["data"][0], "action_source": "web"},
        {**good["data"][0], "action_source": "website", "event_source_url": "https://x.example"},
        {k: v for k, v in good["data"][0].items() if k != "event_name"},
    ]
    reasons = []
    for event in cases:
        answer = sandbox.post(
            "/meta/v26.0/1/events", json={"data": [event]}, headers={"Authorization": "Bearer t"}
        )
        assert answer.status_code == 400
        reasons.append(answer.json()["error"]["error_user_msg"])
    assert "unhashed contact information" in reasons[0]
    assert "more than 7 days" in reasons[1]
    assert "action_source must be one of" in reasons[2]
    assert "client_user_agent is required for website events" in reasons[3]
    assert "event_name is required" in reasons[4]

    body = tiktok.body(target("tiktok_events", "CPIXEL1"), purchase())
    body["data"][0]["user"]["email"] = "ada@example.com"
    answer = sandbox.post(
        "/tiktok_events/open_api/v1.3/event/track/", json=body, headers={"Access-Token": "t"}
    ).json()
    assert answer["code"] != 0 and "user.email must be SHA-256 hashed" in answer["message"]

    body = pinterest.body(purchase())
    body["data"][0]["user_data"]["em"] = ["ada@example.com"]
    answer = sandbox.post(
        "/pinterest/v5/ad_accounts/1/events", json=body, headers={"Authorization": "Bearer t"}
    )
    assert answer.status_code == 400 and "user_data.em must be SHA-256" in answer.json()["message"]
    body = pinterest.body(purchase())
    body["data"][0]["action_source"] = "website"
    answer = sandbox.post(
        "/pinterest/v5/ad_accounts/1/events", json=body, headers={"Authorization": "Bearer t"}
    )
    assert answer.status_code == 400 and "action_source" in answer.json()["message"]


def test_a_refusal_is_kept_whole_and_pinterest_test_mode_records_nothing(sandbox):
    with pytest.raises(kit.ConversionRefused) as refused:
        meta.send(target("meta", "1"), purchase(event_time=int(time.time()) - 9 * 86400))
    assert refused.value.status == 400
    assert "more than 7 days" in refused.value.answer["error"]["error_user_msg"]
    assert pinterest.send(target("pinterest", "1", test_code="test"), purchase()).received == 1
    assert sandbox.get("/pinterest/_sandbox/conversions").json()["events"] == []


# ---------------------------------------------------------------- orders to deliveries


def _connect(client, admin, platform: str, source_id: str, kind: str, **extra):
    response = client.post(
        "/api/v1/analytics/conversion-destinations",
        headers=admin,
        json={
            "platform": platform,
            "source_id": source_id,
            "access_token": f"secret-{platform}",
            "base_url": f"{SANDBOX}/{kind}",
            "consent_implied": True,
            **extra,
        },
    )
    assert response.status_code == 201, response.text
    return response.json()


def _buy(client, sessions) -> dict:
    make_shop(sessions)
    body = start(
        client, attribution={"utm": {"fbclid": "IwAR0abc", "ttclid": "E.C.P.t1", "epik": "dj0y"}}
    )
    fill(client, body["token"], phone="+14155550100")
    done = complete(client, body["token"])
    assert done.status_code == 200, done.text
    return {**done.json(), "token": body["token"]}


def _deliveries(sessions) -> list[ConversionDelivery]:
    with sessions() as session:
        return list(session.scalars(select(ConversionDelivery).order_by(ConversionDelivery.id)))


def test_a_paid_order_is_sent_once_to_each_destination(client, sessions, admin, sandbox, drain):
    _connect(client, admin, "meta", "111", "meta", test_code="TEST123")
    _connect(client, admin, "tiktok", "CPIXEL1", "tiktok_events")
    _connect(client, admin, "pinterest", "549755885175", "pinterest")
    paid = _buy(client, sessions)
    drain()
    event_id = f"order-{paid['order_number']}"
    found = _deliveries(sessions)
    assert sorted((d.status, d.attempts, d.event_id) for d in found) == [("sent", 1, event_id)] * 3

    (m,) = sandbox.get("/meta/_sandbox/conversions").json()["events"]
    assert m["test_event_code"] == "TEST123" and m["event"]["event_id"] == event_id
    assert m["event"]["user_data"]["em"] == [sha("ada@example.com")]
    assert m["event"]["user_data"]["fbc"].endswith(".IwAR0abc")
    # The test client's address is "testclient": not an IP address, so not sent.
    assert "client_ip_address" not in m["event"]["user_data"]
    (t,) = sandbox.get("/tiktok_events/_sandbox/conversions").json()["events"]
    assert t["event"]["event_id"] == event_id and t["event"]["user"]["ttclid"] == "E.C.P.t1"
    assert t["event"]["user"]["phone"] == sha("+14155550100")
    (p,) = sandbox.get("/pinterest/_sandbox/conversions").json()["events"]
    assert p["event"]["event_id"] == event_id and p["event"]["user_data"]["click_id"] == "dj0y"

    # The confirmation page carries the same id for the merchant's browser pixel.
    page = client.get(f"/shop/checkout/{paid['token']}/thanks")
    assert f'data-purchase-event-id="{event_id}"' in page.text
    assert f'"event_id": "{event_id}"' in page.text or f'"event_id":"{event_id}"' in page.text

    # The order's event seen again (redelivered, replayed): nothing recorded or sent twice.
    with transaction(sessions) as session:
        events_service.record(session, "order.paid", {"order_id": paid["order_id"]}, key="again")
    drain()
    assert len(_deliveries(sessions)) == 3
    for kind in ("meta", "tiktok_events", "pinterest"):
        assert len(sandbox.get(f"/{kind}/_sandbox/conversions").json()["events"]) == 1

    listed = client.get("/api/v1/analytics/conversion-deliveries?status=sent", headers=admin)
    assert len(listed.json()["items"]) == 3


IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1"
)


def test_the_buyers_browser_makes_it_a_website_event(app, sessions, admin, sandbox, drain):
    """The IP address and user agent of the request that paid go to each platform in
    clear, as each asks; with them Meta takes the purchase as a website event."""
    with TestClient(app, client=("203.0.113.7", 50123)) as phone:
        for platform, source, kind in (
            ("meta", "111", "meta"),
            ("tiktok", "CPIXEL1", "tiktok_events"),
            ("pinterest", "549755885175", "pinterest"),
        ):
            _connect(phone, admin, platform, source, kind)
        make_shop(sessions)
        token = start(phone)["token"]
        fill(phone, token)
        paid = phone.post(
            f"/api/v1/checkouts/{token}/complete",
            json={"payment_method": "tok_visa", "expected_total": total_of(phone, token)},
            headers={"Idempotency-Key": "k", "User-Agent": IPHONE},
        )
        assert paid.status_code == 200, paid.text
    drain()

    (m,) = sandbox.get("/meta/_sandbox/conversions").json()["events"]
    assert m["event"]["action_source"] == "website"
    assert m["event"]["event_source_url"].endswith("/shop")
    assert m["event"]["user_data"]["client_ip_address"] == "203.0.113.7"
    assert m["event"]["user_data"]["client_user_agent"] == IPHONE
    (t,) = sandbox.get("/tiktok_events/_sandbox/conversions").json()["events"]
    assert (t["event"]["user"]["ip"], t["event"]["user"]["user_agent"]) == ("203.0.113.7", IPHONE)
    (p,) = sandbox.get("/pinterest/_sandbox/conversions").json()["events"]
    assert p["event"]["user_data"]["client_ip_address"] == "203.0.113.7"
    assert p["event"]["user_data"]["client_user_agent"] == IPHONE


def test_without_consent_nothing_is_recorded(client, sessions, admin, sandbox, drain):
    _connect(client, admin, "meta", "111", "meta", consent_implied=False)
    _buy(client, sessions)
    drain()
    assert _deliveries(sessions) == []


def test_a_refusal_is_recorded_with_the_platforms_words_and_not_retried(
    client, sessions, admin, sandbox, drain, clock
):
    _connect(client, admin, "meta", "111", "meta")
    sandbox.post("/meta/_sandbox/faults", json={"kind": "expired_token"})
    _buy(client, sessions)
    drain()
    (delivery,) = _deliveries(sessions)
    assert (delivery.status, delivery.attempts) == ("failed", 1)
    assert "Session has expired" in delivery.last_error
    assert delivery.answer["error"]["code"] == 190
    clock.advance(timedelta(hours=2))
    drain()
    assert _deliveries(sessions)[0].attempts == 1
    assert sandbox.get("/meta/_sandbox/conversions").json()["events"] == []
    with sessions() as session:
        assert session.scalar(select(Job.state).where(Job.name == "analytics.send_conversion")) in (
            "succeeded",
            None,
        )


def test_5xx_is_retried_until_the_platform_takes_it(client, sessions, admin, sandbox, drain, clock):
    _connect(client, admin, "tiktok", "CPIXEL1", "tiktok_events")
    # One 5xx is retried within the attempt; five in a row end the attempt, retried later.
    sandbox.post("/tiktok_events/_sandbox/faults", json={"kind": "500", "count": 6})
    _buy(client, sessions)
    drain()
    (delivery,) = _deliveries(sessions)
    assert (delivery.status, delivery.attempts) == ("queued", 1)
    assert "HTTP 500" in delivery.last_error
    clock.advance(timedelta(minutes=5))
    drain()
    (delivery,) = _deliveries(sessions)
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("sent", 2, None)
    assert len(sandbox.get("/tiktok_events/_sandbox/conversions").json()["events"]) == 1


def test_bad_input_names_the_field_and_the_token_is_stored_encrypted(client, sessions, admin):
    bad = client.post(
        "/api/v1/analytics/conversion-destinations",
        headers=admin,
        json={"platform": "meta", "source_id": "not a pixel", "access_token": "t"},
    )
    assert bad.status_code == 422
    assert "pixel_id" in bad.text
    wrong = client.post(
        "/api/v1/analytics/conversion-destinations",
        headers=admin,
        json={"platform": "snapchat", "source_id": "1", "access_token": "t"},
    )
    assert wrong.status_code == 422 and "platform" in wrong.text
    made = client.post(
        "/api/v1/analytics/conversion-destinations",
        headers=admin,
        json={"platform": "pinterest", "source_id": "5497", "access_token": "pina_secret"},
    )
    assert made.status_code == 201 and "pina_secret" not in made.text
    with sessions() as session:
        stored = session.scalar(select(ConversionDestination))
        assert "pina_secret" not in stored.access_token_encrypted
        assert stored.base_url == "https://api.pinterest.com"
    assert client.get("/api/v1/analytics/conversion-destinations").status_code == 401


def test_the_cli_connects_and_lists_deliveries(settings, engine):
    runner = CliRunner()
    done = runner.invoke(
        cli_app,
        ["analytics", "connect-tiktok", "--pixel-code", "CPIXEL1", "--access-token", "tok"],
    )
    assert done.exit_code == 0, done.output
    assert "purchases go to tiktok CPIXEL1" in done.output
    assert "nothing is sent until" in done.output
    listed = runner.invoke(cli_app, ["analytics", "destinations"])
    assert "CPIXEL1" in listed.output
    again = runner.invoke(
        cli_app,
        ["analytics", "connect-tiktok", "--pixel-code", "CPIXEL1", "--access-token", "tok"],
    )
    assert again.exit_code == 1 and "pixel_code" in again.output
    assert runner.invoke(cli_app, ["analytics", "deliveries"]).exit_code == 0
