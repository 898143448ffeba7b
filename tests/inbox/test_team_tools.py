"""What the team works with in the inbox: internal notes, labels, canned replies with
variables, search, and the time a person has waited for an answer (with the account's
first-response target)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from mercato.db import transaction
from mercato.jobs.models import Job
from tests.helpers import tee
from tests.inbox.conftest import BUYER, notification, now, text_message


@pytest.fixture
def conversation(client, admin, deliver) -> str:
    raw = notification([text_message("wamid.T1", "Hi! Where is my parcel?", now())])
    assert deliver(raw).json()["stored"] == 1
    return client.get("/api/v1/conversations", headers=admin).json()["items"][0]["id"]


def test_a_note_shows_in_the_thread_and_is_never_sent(client, admin, conversation, sessions):
    path = f"/api/v1/conversations/{conversation}"
    note = client.post(
        f"{path}/notes",
        headers=admin,
        json={"text": "Parcel lost by UPS, refund?", "author": "mia"},
    )
    assert note.status_code == 201 and note.json()["direction"] == "note"
    thread = client.get(path, headers=admin).json()
    assert [(m["direction"], m["text"]) for m in thread["messages"]] == [
        ("in", "Hi! Where is my parcel?"),
        ("note", "Parcel lost by UPS, refund?"),
    ]
    with transaction(sessions) as session:
        assert not session.scalars(select(Job).where(Job.name == "inbox.send_message")).all()
    # A note answers nobody: the person still waits.
    assert thread["waiting_since"] is not None


def test_labels_are_set_listed_and_filtered(client, admin, conversation):
    path = f"/api/v1/conversations/{conversation}"
    labelled = client.patch(path, headers=admin, json={"labels": ["VIP", "return", "vip"]})
    assert labelled.json()["labels"] == ["return", "vip"]
    found = client.get("/api/v1/conversations", headers=admin, params={"label": "vip"}).json()
    assert [c["id"] for c in found["items"]] == [conversation]
    none = client.get("/api/v1/conversations", headers=admin, params={"label": "wholesale"})
    assert none.json()["items"] == []
    cleared = client.patch(path, headers=admin, json={"labels": []})
    assert cleared.json()["labels"] == []
    bad = client.patch(path, headers=admin, json={"labels": ["<b>"]})
    assert bad.status_code == 422


def test_search_finds_names_numbers_and_words_of_messages(client, admin, conversation):
    def search(q: str) -> list[str]:
        found = client.get("/api/v1/conversations", headers=admin, params={"q": q}).json()
        return [c["id"] for c in found["items"]]

    assert search("parcel") == [conversation]  # a word of a message, any case
    assert search("ada") == [conversation]  # the name
    assert search(BUYER[-6:]) == [conversation]  # part of the number
    assert search("refund") == []
    assert search("100%") == []  # the wildcard is a character like any other


def test_a_canned_reply_is_sent_with_the_conversations_values(
    client, admin, conversation, make_products
):
    make_products(tee())
    made = client.post(
        "/api/v1/inbox/canned-replies",
        headers=admin,
        json={"name": "where", "text": "Hi {name}! {order} is {order_status}."},
    )
    assert made.status_code == 201, made.text
    order = client.post(
        "/api/v1/orders",
        headers=admin,
        json={
            "channel": "phone",
            "lines": [{"sku": "TEE-M", "quantity": 1}],
            "payment_status": "paid",
            "customer": {"name": "Ada Buyer", "phone": f"+{BUYER}"},
        },
    )
    assert order.status_code == 201, order.text
    sent = client.post(
        f"/api/v1/conversations/{conversation}/messages",
        headers=admin,
        json={"type": "canned", "canned_reply": "where"},
    )
    assert sent.status_code == 202, sent.text
    assert sent.json()["text"] == f"Hi Ada! #{order.json()['number']} is unfulfilled."
    unknown = client.post(
        "/api/v1/inbox/canned-replies",
        headers=admin,
        json={"name": "bad", "text": "Hello {first_name}"},
    )
    assert unknown.status_code == 422 and "first_name" in unknown.text
    twice = client.post(
        "/api/v1/inbox/canned-replies", headers=admin, json={"name": "where", "text": "x"}
    )
    assert twice.status_code == 409
    missing = client.post(
        f"/api/v1/conversations/{conversation}/messages",
        headers=admin,
        json={"type": "canned", "canned_reply": "nope"},
    )
    assert missing.status_code == 422


def test_waiting_and_overdue_follow_the_first_response_target(
    client, admin, account, conversation, monkeypatch
):
    client.put(
        f"/api/v1/inbox/accounts/{account['id']}/automation",
        headers=admin,
        json={"first_response_minutes": 30},
    )
    path = f"/api/v1/conversations/{conversation}"
    shown = client.get(path, headers=admin).json()
    assert shown["waiting_since"] is not None and shown["overdue"] is False
    waiting = client.get("/api/v1/conversations", headers=admin, params={"waiting": True})
    assert [c["id"] for c in waiting.json()["items"]] == [conversation]
    later = now() + timedelta(minutes=45)
    monkeypatch.setattr("mercato.inbox.conversations.utcnow", lambda: later)
    assert client.get(path, headers=admin).json()["overdue"] is True
    monkeypatch.undo()
    client.post(f"{path}/messages", headers=admin, json={"type": "text", "text": "On its way!"})
    answered = client.get(path, headers=admin).json()
    assert answered["waiting_since"] is None and answered["overdue"] is False
    assert (
        client.get("/api/v1/conversations", headers=admin, params={"waiting": True}).json()["items"]
        == []
    )


def test_the_resolution_timer_runs_from_the_first_message_and_again_from_a_reopening(
    client, admin, account, conversation, deliver, monkeypatch
):
    client.put(
        f"/api/v1/inbox/accounts/{account['id']}/automation",
        headers=admin,
        json={"resolution_minutes": 240},
    )
    path = f"/api/v1/conversations/{conversation}"
    shown = client.get(path, headers=admin).json()
    opened = datetime.fromisoformat(shown["opened_at"])
    assert datetime.fromisoformat(shown["resolution_due_at"]) == opened + timedelta(hours=4)
    assert shown["resolution_overdue"] is False
    # Answering does not stop it (the first-response timer does): only resolving does.
    client.post(f"{path}/messages", headers=admin, json={"type": "text", "text": "Looking!"})
    later = now() + timedelta(hours=5)
    monkeypatch.setattr("mercato.inbox.conversations.utcnow", lambda: later)
    assert client.get(path, headers=admin).json()["resolution_overdue"] is True
    monkeypatch.undo()
    resolved = client.patch(path, headers=admin, json={"status": "resolved"}).json()
    assert resolved["resolution_due_at"] is None and resolved["resolution_overdue"] is False
    assert resolved["resolved_at"] is not None

    # The person writes again: a new spell, timed from that message.
    again = now() + timedelta(minutes=1)
    assert (
        deliver(notification([text_message("wamid.T2", "One more thing", again)])).json()["stored"]
        == 1
    )
    reopened = client.get(path, headers=admin).json()
    assert reopened["status"] == "open" and reopened["resolved_at"] is None
    assert datetime.fromisoformat(reopened["opened_at"]) == again.replace(microsecond=0)
    assert datetime.fromisoformat(reopened["resolution_due_at"]) == datetime.fromisoformat(
        reopened["opened_at"]
    ) + timedelta(hours=4)


def test_a_long_thread_is_read_back_page_by_page(client, admin, deliver):
    start = now() - timedelta(hours=2)
    texts = [f"message {n}" for n in range(55)]
    messages = [
        text_message(f"wamid.P{n}", text, start + timedelta(seconds=n))
        for n, text in enumerate(texts)
    ]
    assert deliver(notification(messages)).json()["stored"] == 55
    [conversation] = client.get("/api/v1/conversations", headers=admin).json()["items"]
    path = f"/api/v1/conversations/{conversation['id']}"
    latest = client.get(path, headers=admin).json()
    assert [m["text"] for m in latest["messages"]] == texts[5:] and latest["earlier"] is True
    older = client.get(path, headers=admin, params={"before": latest["messages"][0]["id"]})
    assert [m["text"] for m in older.json()["messages"]] == texts[:5]
    assert older.json()["earlier"] is False
    wrong = client.get(path, headers=admin, params={"before": "msg_nope"})
    assert wrong.status_code == 422
