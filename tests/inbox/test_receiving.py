"""Inbound WhatsApp notifications: verified on the raw bytes, each message stored once in
its person's conversation, statuses only moving a message forward."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

from sqlalchemy import func, select, text

from mercato.db import transaction
from mercato.events.models import Event
from mercato.inbox import receiving
from mercato.inbox.models import Conversation, Message
from tests.helpers import written_sql
from tests.inbox.conftest import (
    BUYER,
    VERIFY_TOKEN,
    notification,
    now,
    signed,
    status,
    text_message,
)


def test_subscription_check_answers_the_challenge_only_for_the_right_token(client, account):
    path = account["webhook_path"]
    ok = client.get(
        path,
        params={
            "hub.mode": "subscribe",
            "hub.verify_token": VERIFY_TOKEN,
            "hub.challenge": "1158201444",
        },
    )
    assert (ok.status_code, ok.text) == (200, "1158201444")
    wrong = client.get(
        path, params={"hub.mode": "subscribe", "hub.verify_token": "guess", "hub.challenge": "1"}
    )
    assert wrong.status_code == 401


def test_a_message_is_stored_once_however_often_it_is_delivered(client, admin, deliver):
    payload = notification([text_message("wamid.A1", "Is the tee in M?", now())])
    first, again = deliver(payload), deliver(payload)
    assert first.json() == {"stored": 1, "duplicates": 0, "statuses": 0}
    assert again.json() == {"stored": 0, "duplicates": 1, "statuses": 0}

    page = client.get("/api/v1/conversations", headers=admin).json()
    [conversation] = page["items"]
    assert conversation["contact_id"] == BUYER
    assert conversation["phone"] == f"+{BUYER}"
    assert conversation["contact_name"] == "Ada Buyer"
    assert conversation["unread"] == 1
    assert conversation["window_closes_at"] is not None
    thread = client.get(f"/api/v1/conversations/{conversation['id']}", headers=admin).json()
    assert [(m["direction"], m["text"]) for m in thread["messages"]] == [("in", "Is the tee in M?")]


def test_a_tampered_or_unsigned_notification_stores_nothing(client, admin, account, deliver):
    payload = notification([text_message("wamid.B1", "hello", now())])
    raw, headers = signed(payload)
    tampered = client.post(
        account["webhook_path"], content=raw.replace(b"hello", b"hellO"), headers=headers
    )
    assert tampered.status_code == 401
    assert deliver(payload, secret="another-app").status_code == 401
    unsigned = client.post(account["webhook_path"], content=raw)
    assert unsigned.status_code == 401
    assert client.get("/api/v1/conversations", headers=admin).json()["items"] == []


def test_a_malformed_notification_is_refused_and_an_unknown_account_is_not_found(client, account):
    raw, headers = signed({"object": "whatsapp_business_account", "entry": "nope"})
    assert client.post(account["webhook_path"], content=raw, headers=headers).status_code == 400
    raw, headers = signed(notification([text_message("wamid.C1", "hi", now())]))
    assert (
        client.post("/webhooks/whatsapp/ibx_unknown", content=raw, headers=headers).status_code
        == 404
    )


def test_messages_of_one_person_share_a_conversation_and_events_are_recorded(
    client, admin, deliver, sessions
):
    at = now()
    deliver(notification([text_message("wamid.D1", "first", at - timedelta(minutes=1))]))
    deliver(
        notification(
            [
                text_message("wamid.D2", "second", at),
                text_message("wamid.X1", "someone else", at, sender="447700900123"),
            ]
        )
    )
    page = client.get("/api/v1/conversations", headers=admin).json()["items"]
    assert sorted(c["contact_id"] for c in page) == sorted([BUYER, "447700900123"])
    mine = next(c for c in page if c["contact_id"] == BUYER)
    assert mine["unread"] == 2
    with transaction(sessions) as session:
        types = list(session.scalars(select(Event.type).order_by(Event.seq)))
    assert types.count("conversation.created") == 2
    assert types.count("message.received") == 3


def test_statuses_move_a_reply_forward_never_back(client, admin, deliver, sessions):
    deliver(notification([text_message("wamid.E1", "hi", now())]))
    [conversation] = client.get("/api/v1/conversations", headers=admin).json()["items"]
    sent = client.post(
        f"/api/v1/conversations/{conversation['id']}/messages",
        headers=admin,
        json={"type": "text", "text": "Hello! Yes, M is in stock."},
    )
    assert sent.status_code == 202, sent.text
    reply_id = sent.json()["id"]
    with transaction(sessions) as session:  # as if the worker had sent it
        session.get(Message, reply_id).platform_message_id = "wamid.OUT1"
        session.get(Message, reply_id).status = "sent"
    at = now()
    # Read arrives before delivered, and delivered twice.
    deliver(notification(statuses=[status("wamid.OUT1", "read", at)]))
    deliver(notification(statuses=[status("wamid.OUT1", "delivered", at - timedelta(seconds=5))]))
    deliver(notification(statuses=[status("wamid.OUT1", "delivered", at - timedelta(seconds=5))]))
    failed_late = deliver(
        notification(statuses=[status("wamid.OUT1", "failed", at, errors=[{"code": 131026}])])
    )
    assert failed_late.json()["statuses"] == 0
    thread = client.get(f"/api/v1/conversations/{conversation['id']}", headers=admin).json()
    reply = next(m for m in thread["messages"] if m["id"] == reply_id)
    assert reply["status"] == "read"


def test_a_failed_status_shows_the_platform_s_words_on_the_message(
    client, admin, deliver, sessions
):
    deliver(notification([text_message("wamid.F1", "hi", now())]))
    [conversation] = client.get("/api/v1/conversations", headers=admin).json()["items"]
    reply_id = client.post(
        f"/api/v1/conversations/{conversation['id']}/messages",
        headers=admin,
        json={"type": "text", "text": "Hello"},
    ).json()["id"]
    with transaction(sessions) as session:
        message = session.get(Message, reply_id)
        message.platform_message_id, message.status = "wamid.OUT2", "sent"
    error = {
        "code": 131026,
        "title": "Message undeliverable",
        "message": "Message undeliverable",
        "error_data": {"details": "Message could not be delivered"},
    }
    deliver(notification(statuses=[status("wamid.OUT2", "failed", now(), errors=[error])]))
    thread = client.get(f"/api/v1/conversations/{conversation['id']}", headers=admin).json()
    reply = next(m for m in thread["messages"] if m["id"] == reply_id)
    assert reply["status"] == "failed"
    assert reply["error"]["code"] == 131026
    assert reply["error"]["title"] == "Message undeliverable"
    assert reply["error"]["message"] == "Message could not be delivered"


def test_marking_a_conversation_read_is_an_event_other_pages_follow(
    client, admin, deliver, sessions
):
    deliver(notification([text_message("wamid.R1", "hello?", now())]))
    [conversation] = client.get("/api/v1/conversations", headers=admin).json()["items"]
    path = f"/api/v1/conversations/{conversation['id']}"
    assert client.patch(path, headers=admin, json={"read": True}).json()["unread"] == 0
    client.patch(path, headers=admin, json={"read": True})  # nothing left to read: no event
    with transaction(sessions) as session:
        types = list(session.scalars(select(Event.type).order_by(Event.seq)))
    assert types.count("conversation.read") == 1


def test_first_messages_of_one_new_person_written_together_share_one_conversation(
    client, admin, account, engine, sessions
):
    """Two batches (two API processes) bring a new person's first messages at once: the
    second waits for the first's conversation and adds its message to it."""
    at = now()
    first, second = (
        receiving.Delivery(
            "whatsapp",
            account["id"],
            *signed(notification([text_message(wamid, body, at)])),
        )
        for wamid, body in (("wamid.N1", "hello?"), ("wamid.N2", "anyone there?"))
    )
    outcomes: dict[str, object] = {}
    with transaction(sessions) as session:
        outcomes["first"] = receiving.receive_many(session, [first])
        racer = threading.Thread(target=lambda: outcomes.update(second=_receive(sessions, second)))
        racer.start()
        if engine.dialect.name == "postgresql":  # the second's insert waits on the first's row
            _until_waiting_on_a_lock(sessions)
    racer.join(30)
    assert [r.stored for r in outcomes["first"] + outcomes["second"]] == [1, 1]
    [conversation] = client.get("/api/v1/conversations", headers=admin).json()["items"]
    assert (conversation["contact_id"], conversation["unread"]) == (BUYER, 2)
    with transaction(sessions) as session:
        assert session.scalar(select(func.count()).select_from(Message)) == 2


def _receive(sessions, delivery: receiving.Delivery) -> list:
    with transaction(sessions) as session:
        return receiving.receive_many(session, [delivery])


def _until_waiting_on_a_lock(sessions) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with transaction(sessions) as session:
            waiting = session.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND wait_event_type = 'Lock'"
                )
            )
        if waiting:
            return
        time.sleep(0.01)
    raise AssertionError("the second batch never waited for the first")


def test_a_new_person_s_conversation_is_written_once_with_what_their_messages_make_of_it(
    client, admin, account, engine, sessions
):
    """Its first messages (one of them delivered twice in the batch) are taken into the
    new conversation before it is written: no update follows the insert."""
    at = now()
    hello = text_message("wamid.F1", "hello?", at - timedelta(minutes=2))
    deliveries = [
        receiving.Delivery("whatsapp", account["id"], *signed(notification(messages)))
        for messages in ([hello], [hello], [text_message("wamid.F2", "size M?", at)])
    ]
    receipts, written = written_sql(
        engine, sessions, lambda session: receiving.receive_many(session, deliveries)
    )
    assert [(r.stored, r.duplicates) for r in receipts] == [(1, 0), (0, 1), (1, 0)]
    assert not [s for s in written if s.startswith("UPDATE inbox_conversations")]
    [conversation] = client.get("/api/v1/conversations", headers=admin).json()["items"]
    assert (conversation["unread"], conversation["status"]) == (2, "open")
    with transaction(sessions) as session:
        row = session.scalars(select(Conversation)).one()
        assert row.customer_id is not None
        assert row.waiting_since == at - timedelta(minutes=2) and row.last_inbound_at == at
        assert row.last_message_at == at
