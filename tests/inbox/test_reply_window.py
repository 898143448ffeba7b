"""WhatsApp's customer service window: free-form replies within 24 hours of the person's
last message; outside it only an approved template, refused here before any call."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from mercato.db import transaction
from mercato.inbox import accounts
from mercato.inbox.models import Message
from mercato.jobs.models import Job
from tests.inbox.conftest import notification, now, text_message

WELCOME = {
    "name": "order_update",
    "language": "en_US",
    "status": "APPROVED",
    "category": "UTILITY",
    "components": [{"type": "BODY", "text": "Hi {{1}}, about your order {{2}}."}],
}


def _conversation_after(client, admin, deliver, hours: float) -> str:
    deliver(
        notification(
            [text_message("wamid.W1", "where is my order?", now() - timedelta(hours=hours))]
        )
    )
    [conversation] = client.get("/api/v1/conversations", headers=admin).json()["items"]
    return conversation["id"]


def _templates(sessions, account_id, *found):
    with transaction(sessions) as session:
        accounts.replace_templates(session, account_id, list(found))


def _queued(sessions) -> tuple[int, int]:
    with transaction(sessions) as session:
        messages = session.scalar(
            select(func.count()).select_from(Message).where(Message.direction == "out")
        )
        jobs = session.scalar(
            select(func.count()).select_from(Job).where(Job.name == "inbox.send_message")
        )
    return messages, jobs


def test_a_free_form_reply_after_24_hours_is_refused_and_a_template_offered(
    client, admin, account, deliver, sessions
):
    _templates(sessions, account["id"], WELCOME, {**WELCOME, "name": "promo", "status": "PENDING"})
    conversation_id = _conversation_after(client, admin, deliver, hours=25)
    thread = client.get(f"/api/v1/conversations/{conversation_id}", headers=admin).json()
    assert thread["window_closes_at"] is None
    assert [t["name"] for t in thread["templates"]] == ["order_update"]

    refused = client.post(
        f"/api/v1/conversations/{conversation_id}/messages",
        headers=admin,
        json={"type": "text", "text": "Your order shipped!"},
    )
    assert refused.status_code == 409
    body = refused.json()
    assert body["type"].endswith("reply-window-closed")
    assert body["templates"] == [{"name": "order_update", "language": "en_US"}]
    assert _queued(sessions) == (0, 0)  # nothing recorded, nothing for the worker to send

    template = client.post(
        f"/api/v1/conversations/{conversation_id}/messages",
        headers=admin,
        json={
            "type": "template",
            "template": {
                "name": "order_update",
                "language": "en_US",
                "components": [
                    {
                        "type": "body",
                        "parameters": [
                            {"type": "text", "text": "Ada"},
                            {"type": "text", "text": "#1001"},
                        ],
                    }
                ],
            },
        },
    )
    assert template.status_code == 202, template.text
    assert template.json()["content"]["type"] == "template"
    assert _queued(sessions) == (1, 1)


def test_a_template_not_approved_is_refused_naming_the_field(
    client, admin, account, deliver, sessions
):
    _templates(sessions, account["id"], {**WELCOME, "status": "REJECTED"})
    conversation_id = _conversation_after(client, admin, deliver, hours=30)
    refused = client.post(
        f"/api/v1/conversations/{conversation_id}/messages",
        headers=admin,
        json={"type": "template", "template": {"name": "order_update", "language": "en_US"}},
    )
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["loc"][-2:] == ["template", "name"]
    assert _queued(sessions) == (0, 0)


def test_within_the_window_a_free_form_reply_is_queued(client, admin, deliver, sessions):
    conversation_id = _conversation_after(client, admin, deliver, hours=23)
    sent = client.post(
        f"/api/v1/conversations/{conversation_id}/messages",
        headers=admin,
        json={"type": "text", "text": "It left the warehouse today."},
    )
    assert sent.status_code == 202
    assert sent.json()["status"] == "queued"
    assert sent.json()["content"] == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "15551234567",
        "type": "text",
        "text": {"body": "It left the warehouse today.", "preview_url": False},
    }
    assert _queued(sessions) == (1, 1)
