"""Answers the inbox gives on its own, by the merchant's rules: the order's state and
tracking for "where is my order?" in the language asked, an away message outside opening
hours, a satisfaction question after resolution; and opt-out keywords honoured at once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from mercato.db import transaction
from mercato.inbox import accounts, automation
from mercato.inbox.models import Message
from mercato.jobs import registry
from tests.inbox.conftest import BUYER, notification, now, text_message


def _rules(client, admin, account, **rules):
    response = client.put(
        f"/api/v1/inbox/accounts/{account['id']}/automation", headers=admin, json=rules
    )
    assert response.status_code == 200, response.text
    return response.json()


def _order(client, admin, *, ship: bool) -> dict:
    product = client.post(
        "/api/v1/products",
        headers=admin,
        json={"title": "Tee", "status": "active", "variants": [{"sku": "TEE-1", "price": 2500}]},
    )
    assert product.status_code == 201, product.text
    order = client.post(
        "/api/v1/orders",
        headers=admin,
        json={
            "lines": [{"sku": "TEE-1", "quantity": 1}],
            "payment_status": "paid",
            "customer": {"name": "Ada", "phone": f"+{BUYER}"},
        },
    ).json()
    if ship:
        shipped = client.post(
            f"/api/v1/orders/{order['id']}/fulfillments",
            headers=admin,
            json={
                "carrier": "UPS",
                "tracking_number": "1Z999AA10123456784",
                "tracking_url": "https://www.ups.com/track?tracknum=1Z999AA10123456784",
            },
        )
        assert shipped.status_code == 201, shipped.text
    return order


def _automate(job_context, sessions, wamid: str) -> str | None:
    with transaction(sessions) as session:
        message_id = session.scalar(select(Message.id).where(Message.platform_message_id == wamid))
    registry.TASKS[automation.JOB].fn(job_context, message_id=message_id)


def _replies(sessions) -> list[Message]:
    with transaction(sessions) as session:
        query = select(Message).where(Message.direction == "out").order_by(Message.at, Message.id)
        return list(session.scalars(query))


def test_where_is_my_order_is_answered_in_the_language_asked(
    client, admin, account, deliver, sessions, job_context
):
    order = _order(client, admin, ship=True)
    _rules(client, admin, account, order_status=True)
    deliver(notification([text_message("wamid.Q1", "Bonjour, où est ma commande ?", now())]))
    _automate(job_context, sessions, "wamid.Q1")
    [reply] = _replies(sessions)
    assert reply.author == "automation"
    assert reply.text.startswith(f"Votre commande n°{order['number']} (25.00 USD) est en route.")
    assert "1Z999AA10123456784" in reply.text and "UPS" in reply.text
    assert reply.content["text"]["body"] == reply.text
    # An automatic answer is not the merchant's first response.
    [conversation] = client.get("/api/v1/conversations", headers=admin).json()["items"]
    assert conversation["first_reply_at"] is None


def test_an_unknown_number_or_another_question_gets_no_automatic_order_answer(
    client, admin, account, deliver, sessions, job_context
):
    _rules(client, admin, account, order_status=True)
    deliver(notification([text_message("wamid.Q2", "where is my order?", now())]))  # no order
    _automate(job_context, sessions, "wamid.Q2")
    _order(client, admin, ship=False)
    deliver(notification([text_message("wamid.Q3", "Do you have it in blue?", now())]))
    _automate(job_context, sessions, "wamid.Q3")
    assert _replies(sessions) == []
    deliver(notification([text_message("wamid.Q4", "Where's my order??", now())]))
    _automate(job_context, sessions, "wamid.Q4")
    [reply] = _replies(sessions)
    assert "is being prepared" in reply.text


def test_outside_opening_hours_an_away_message_goes_once(
    client, admin, account, deliver, sessions, job_context
):
    # Open only on a day that is not today, so now is always outside the hours.
    closed_today = automation.DAYS[(datetime.now(UTC).weekday() + 3) % 7]
    _rules(
        client,
        admin,
        account,
        hours={closed_today: ["09:00", "17:00"]},
        away_message="We are closed now; we answer from 9:00.",
    )
    for n in (1, 2):
        deliver(notification([text_message(f"wamid.A{n}", f"hello {n}", now())]))
        _automate(job_context, sessions, f"wamid.A{n}")
    assert [r.text for r in _replies(sessions)] == ["We are closed now; we answer from 9:00."]


def test_opening_hours_are_checked_in_the_store_s_zone():
    rules = automation.AutomationRules(timezone="Asia/Tokyo", hours={"mon": ["09:00", "18:00"]})
    monday_10_tokyo = datetime(2026, 12, 7, 1, 0, tzinfo=UTC)  # 10:00 in Tokyo
    assert automation.is_open(rules, monday_10_tokyo)
    assert not automation.is_open(rules, monday_10_tokyo + timedelta(hours=9))  # 19:00


def test_bad_rules_are_refused_naming_the_field(client, admin, account):
    for rules, field in (
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"hours": {"mon": ["18:00", "09:00"]}}, "hours.mon"),
        ({"hours": {"someday": ["09:00", "18:00"]}}, "someday"),
    ):
        response = client.put(
            f"/api/v1/inbox/accounts/{account['id']}/automation", headers=admin, json=rules
        )
        assert response.status_code == 422, rules
        assert field in response.text


def test_satisfaction_is_asked_after_resolution_and_the_rating_recorded_for_the_agent(
    client, admin, account, deliver, sessions
):
    _rules(client, admin, account, csat=True)
    deliver(notification([text_message("wamid.C1", "thanks for the help", now())]))
    [conversation] = client.get("/api/v1/conversations", headers=admin).json()["items"]
    path = f"/api/v1/conversations/{conversation['id']}"
    client.patch(path, headers=admin, json={"assignee": "sam"})
    resolved = client.patch(path, headers=admin, json={"status": "resolved"})
    assert resolved.json()["status"] == "resolved"
    [question] = _replies(sessions)
    assert question.text.startswith("How did we do?")

    deliver(notification([text_message("wamid.C2", "5", now())]))
    rated = client.get(path, headers=admin).json()
    assert (rated["csat_score"], rated["csat_agent"]) == (5, "sam")
    assert rated["status"] == "resolved"  # the rating does not reopen it
    deliver(notification([text_message("wamid.C3", "one more question", now())]))
    assert client.get(path, headers=admin).json()["status"] == "open"


@pytest.mark.parametrize("word", ["STOP", "stop.", "Arrêt", "BAJA"])
def test_an_opt_out_keyword_stops_marketing_at_once(
    client, admin, account, deliver, sessions, word
):
    with transaction(sessions) as session:
        accounts.replace_templates(
            session,
            account["id"],
            [
                {
                    "name": "drop_alert",
                    "language": "en",
                    "status": "APPROVED",
                    "category": "MARKETING",
                },
                {"name": "shipped", "language": "en", "status": "APPROVED", "category": "UTILITY"},
            ],
        )
    deliver(notification([text_message("wamid.M1", "hi", now())]))
    [conversation] = client.get("/api/v1/conversations", headers=admin).json()["items"]
    path = f"/api/v1/conversations/{conversation['id']}"
    marketing = {"type": "template", "template": {"name": "drop_alert", "language": "en"}}

    refused = client.post(f"{path}/messages", headers=admin, json=marketing)
    assert refused.status_code == 409  # no consent yet
    assert refused.json()["type"].endswith("no-marketing-consent")
    given = client.patch(
        path,
        headers=admin,
        json={"marketing_consent": True, "consent_source": "checkbox at checkout: 'Send me drops'"},
    )
    assert given.json()["marketing_consent_at"] is not None
    assert client.post(f"{path}/messages", headers=admin, json=marketing).status_code == 202

    deliver(notification([text_message("wamid.M2", word, now())]))
    after = client.get(path, headers=admin).json()
    assert after["marketing_opt_out_at"] is not None
    assert client.post(f"{path}/messages", headers=admin, json=marketing).status_code == 409
    utility = {"type": "template", "template": {"name": "shipped", "language": "en"}}
    assert client.post(f"{path}/messages", headers=admin, json=utility).status_code == 202
