"""The inbox against the WhatsApp Cloud API simulator: a customer writes, the agent answers
with a product card from the catalog linked to the number, the worker sends it in Meta's
shape, and the statuses that come back (out of order) move it to read."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from mercato.config import get_settings
from mercato.db import transaction
from mercato.inbox.models import Message
from mercato.jobs import registry
from mercato.jobs.models import Job
from mercato.sandbox import whatsapp as sim
from tests.helpers import SANDBOX, list_in_meta_catalog, tee
from tests.inbox.conftest import signed

CUSTOMER = "15551234567"


@pytest.fixture
def number(client, admin, sandbox, make_channel, make_products, sessions):
    """The simulator's number, linked to a Meta catalog (cat1) where TEE-M is listed."""
    [product] = make_products(tee())
    meta = make_channel("meta")
    list_in_meta_catalog(sessions, sandbox, product, meta)
    response = client.post(
        "/api/v1/inbox/accounts",
        headers=admin,
        json={
            "name": "sim-number",
            "phone_number_id": sim.PHONE_NUMBER_ID,
            "business_account_id": sim.WABA_ID,
            "access_token": sim.ACCESS_TOKEN,
            "app_secret": sim.APP_SECRET,
            "verify_token": "v",
            "base_url": f"{SANDBOX}/whatsapp",
            "catalog_channel_id": meta,
        },
    )
    assert response.status_code == 201, response.text
    return response.json()


def _customer_writes(client, sandbox, number, text: str) -> None:
    """The simulator opens the window and hands over the notification Meta would post."""
    payload = sandbox.post("/whatsapp/_sandbox/inbound", json={"wa_id": CUSTOMER, "text": text})
    raw, headers = signed(payload.json()["payload"], sim.APP_SECRET)
    assert client.post(number["webhook_path"], content=raw, headers=headers).json()["stored"] == 1


def _run(job_context, name: str, **args) -> None:
    registry.TASKS[name].fn(job_context, **args)


def test_a_product_card_reaches_the_platform_in_its_shape_and_is_followed_to_read(
    client, admin, sandbox, number, job_context
):
    _customer_writes(client, sandbox, number, "Is the tee in M?")
    [conversation] = client.get("/api/v1/conversations", headers=admin).json()["items"]
    path = f"/api/v1/conversations/{conversation['id']}"
    queued = client.post(
        f"{path}/messages", headers=admin, json={"type": "product", "sku": "TEE-M", "text": "Yes!"}
    )
    assert queued.status_code == 202, queued.text
    _run(job_context, "inbox.send_message", message_id=queued.json()["id"])

    [sent] = sandbox.get("/whatsapp/_sandbox/messages").json()["messages"]
    assert sent["to"] == CUSTOMER
    assert sent["body"]["type"] == "interactive"
    assert sent["body"]["interactive"]["type"] == "product"
    assert sent["body"]["interactive"]["action"] == {
        "catalog_id": "cat1",
        "product_retailer_id": "TEE-M",
    }
    reply = client.get(path, headers=admin).json()["messages"][-1]
    assert (reply["status"], reply["platform_message_id"]) == ("sent", sent["id"])

    statuses = sandbox.post(
        "/whatsapp/_sandbox/statuses",
        json={"message_id": sent["id"], "statuses": ["sent", "delivered", "read"], "reverse": True},
    ).json()["payloads"]
    for payload in statuses:
        raw, headers = signed(payload, sim.APP_SECRET)
        client.post(number["webhook_path"], content=raw, headers=headers)
    assert client.get(path, headers=admin).json()["messages"][-1]["status"] == "read"


def test_a_product_not_in_the_linked_catalog_goes_as_a_link_to_its_page(
    client, admin, sandbox, number, job_context
):
    _customer_writes(client, sandbox, number, "And the S?")
    [conversation] = client.get("/api/v1/conversations", headers=admin).json()["items"]
    queued = client.post(
        f"/api/v1/conversations/{conversation['id']}/messages",
        headers=admin,
        json={"type": "product", "sku": "TEE-S"},
    ).json()
    assert queued["kind"] == "text" and "/shop/p/tee?variant=" in queued["text"]
    _run(job_context, "inbox.send_message", message_id=queued["id"])
    [sent] = sandbox.get("/whatsapp/_sandbox/messages").json()["messages"]
    assert sent["body"]["text"]["preview_url"] is True


def test_a_refusal_from_the_platform_is_shown_on_the_message(
    client, admin, sandbox, number, job_context
):
    _customer_writes(client, sandbox, number, "hi")
    [conversation] = client.get("/api/v1/conversations", headers=admin).json()["items"]
    queued = client.post(
        f"/api/v1/conversations/{conversation['id']}/messages",
        headers=admin,
        json={"type": "text", "text": "Hello"},
    ).json()
    sandbox.post("/whatsapp/_sandbox/faults", json={"kind": "expired_token"})
    _run(job_context, "inbox.send_message", message_id=queued["id"])
    reply = client.get(f"/api/v1/conversations/{conversation['id']}", headers=admin).json()
    failed = reply["messages"][-1]
    assert failed["status"] == "failed"
    assert failed["error"]["code"] == 190


def test_approved_templates_are_read_from_the_platform(client, admin, sandbox, number, job_context):
    for name, status in (("order_update", "APPROVED"), ("spring_sale", "PENDING")):
        sandbox.post(
            "/whatsapp/_sandbox/templates",
            json={"name": name, "language": "en_US", "status": status, "category": "UTILITY"},
        )
    _run(job_context, "inbox.sync_templates")
    _customer_writes(client, sandbox, number, "hi")
    [conversation] = client.get("/api/v1/conversations", headers=admin).json()["items"]
    thread = client.get(f"/api/v1/conversations/{conversation['id']}", headers=admin).json()
    assert [(t["name"], t["status"]) for t in thread["templates"]] == [("order_update", "APPROVED")]


def test_a_cart_sent_from_the_catalog_is_answered_with_a_checkout_link_holding_it(
    client, admin, sandbox, number, job_context, sessions
):
    client.put(
        f"/api/v1/inbox/accounts/{number['id']}/automation", headers=admin, json={"carts": True}
    )
    cart = {
        "catalog_id": "cat1",
        "text": "for my sister",
        "product_items": [
            {"product_retailer_id": "TEE-M", "quantity": 2, "item_price": 25, "currency": "USD"},
            {"product_retailer_id": "GONE-1", "quantity": 1, "item_price": 9, "currency": "USD"},
        ],
    }
    payload = sandbox.post("/whatsapp/_sandbox/inbound", json={"wa_id": CUSTOMER, "order": cart})
    raw, headers = signed(payload.json()["payload"], sim.APP_SECRET)
    assert client.post(number["webhook_path"], content=raw, headers=headers).status_code == 200
    with transaction(sessions) as session:
        [(message_id, kind)] = session.execute(
            select(Message.id, Message.kind).where(Message.direction == "in")
        ).all()
    assert kind == "order"
    _run(job_context, "inbox.automate", message_id=message_id)
    [conversation] = client.get("/api/v1/conversations", headers=admin).json()["items"]
    reply = client.get(f"/api/v1/conversations/{conversation['id']}", headers=admin).json()[
        "messages"
    ][-1]
    assert reply["author"] == "automation"
    assert reply["text"].startswith("Here is your cart, ready to pay:")
    assert "/shop/cart?items=TEE-M:2&ch=whatsapp&conv=" in reply["text"]


def test_reply_buttons_reach_the_platform_in_its_shape(client, admin, sandbox, number, job_context):
    _customer_writes(client, sandbox, number, "Can I change my size?")
    [conversation] = client.get("/api/v1/conversations", headers=admin).json()["items"]
    path = f"/api/v1/conversations/{conversation['id']}/messages"
    queued = client.post(
        path,
        headers=admin,
        json={"type": "buttons", "text": "Which size?", "choices": ["S", "M", "L"]},
    )
    assert queued.status_code == 202, queued.text
    _run(job_context, "inbox.send_message", message_id=queued.json()["id"])
    [sent] = sandbox.get("/whatsapp/_sandbox/messages").json()["messages"]
    assert sent["body"]["interactive"] == {
        "type": "button",
        "body": {"text": "Which size?"},
        "action": {
            "buttons": [
                {"type": "reply", "reply": {"id": f"b{n}", "title": size}}
                for n, size in enumerate(["S", "M", "L"], start=1)
            ]
        },
    }
    four = client.post(
        path,
        headers=admin,
        json={"type": "buttons", "text": "Which?", "choices": ["S", "M", "L", "XL"]},
    )
    assert four.status_code == 422 and "1 to 3" in four.text


def test_an_image_with_its_caption_reaches_the_platform(
    client, admin, sandbox, number, job_context
):
    _customer_writes(client, sandbox, number, "Photo of the label?")
    [conversation] = client.get("/api/v1/conversations", headers=admin).json()["items"]
    queued = client.post(
        f"/api/v1/conversations/{conversation['id']}/messages",
        headers=admin,
        json={"type": "image", "image_url": "https://cdn.shop.test/label.png", "text": "Here"},
    )
    assert queued.status_code == 202, queued.text
    _run(job_context, "inbox.send_message", message_id=queued.json()["id"])
    [sent] = sandbox.get("/whatsapp/_sandbox/messages").json()["messages"]
    assert (sent["type"], sent["body"]["image"]) == (
        "image",
        {"link": "https://cdn.shop.test/label.png", "caption": "Here"},
    )


def test_a_list_message_reaches_the_platform_and_its_limits_are_refused_first(
    client, admin, sandbox, number, job_context
):
    _customer_writes(client, sandbox, number, "What can I do about my order?")
    [conversation] = client.get("/api/v1/conversations", headers=admin).json()["items"]
    path = f"/api/v1/conversations/{conversation['id']}/messages"
    rows = [
        {"title": "Orders", "rows": [{"title": "Track it"}, {"title": "Cancel it"}]},
        {"title": "Returns", "rows": [{"title": "Start a return", "description": "30 days"}]},
    ]
    queued = client.post(
        path,
        headers=admin,
        json={"type": "list", "text": "How can we help?", "button": "Options", "rows": rows},
    )
    assert queued.status_code == 202, queued.text
    _run(job_context, "inbox.send_message", message_id=queued.json()["id"])
    [sent] = sandbox.get("/whatsapp/_sandbox/messages").json()["messages"]
    assert sent["body"]["interactive"] == {
        "type": "list",
        "body": {"text": "How can we help?"},
        "action": {
            "button": "Options",
            "sections": [
                {
                    "title": "Orders",
                    "rows": [{"id": "r1", "title": "Track it"}, {"id": "r2", "title": "Cancel it"}],
                },
                {
                    "title": "Returns",
                    "rows": [{"id": "r3", "title": "Start a return", "description": "30 days"}],
                },
            ],
        },
    }
    eleven = [{"rows": [{"title": f"row {n}"} for n in range(6)]}] * 2
    too_many = client.post(
        path,
        headers=admin,
        json={"type": "list", "text": "Pick", "button": "Open", "rows": eleven},
    )
    assert too_many.status_code == 422 and "at most 10" in too_many.text


SHIPPED = {
    "name": "order_shipped",
    "language": "en_US",
    "status": "APPROVED",
    "category": "UTILITY",
    "components": [
        {"type": "HEADER", "format": "TEXT", "text": "Order {{1}}"},
        {"type": "BODY", "text": "Hi {{1}}, your order {{2}} left today. Track it: {{3}}"},
    ],
}


def _templates_read(client, admin, sandbox, number, job_context) -> str:
    """The number's templates read from Meta, and a customer who wrote (a template may
    go at any time)."""
    sandbox.post("/whatsapp/_sandbox/templates", json=SHIPPED)
    _run(job_context, "inbox.sync_templates")
    _customer_writes(client, sandbox, number, "Where is it?")
    [conversation] = client.get("/api/v1/conversations", headers=admin).json()["items"]
    return conversation["id"]


def test_a_template_goes_with_a_value_for_each_variable_and_reads_as_the_customer_sees_it(
    client, admin, sandbox, number, job_context
):
    conversation = _templates_read(client, admin, sandbox, number, job_context)
    path = f"/api/v1/conversations/{conversation}/messages"
    thread = client.get(f"/api/v1/conversations/{conversation}", headers=admin).json()
    [template] = thread["templates"]
    assert template["components"][1]["text"].startswith("Hi {{1}}")

    choice = {"name": "order_shipped", "language": "en_US"}
    short = client.post(
        path,
        headers=admin,
        json={"type": "template", "template": {**choice, "parameters": ["Ada", "#1001"]}},
    )
    assert short.status_code == 422
    [error] = short.json()["errors"]
    assert error["loc"][-2:] == ["template", "parameters"]
    assert "{{1}}, {{2}}, {{3}}" in error["message"] and "2 given" in error["message"]
    no_header = client.post(
        path,
        headers=admin,
        json={
            "type": "template",
            "template": {**choice, "parameters": ["Ada", "#1001", "https://t.example/1"]},
        },
    )
    assert no_header.status_code == 422
    assert no_header.json()["errors"][0]["loc"][-2:] == ["template", "header_parameters"]

    queued = client.post(
        path,
        headers=admin,
        json={
            "type": "template",
            "template": {
                **choice,
                "parameters": ["Ada", "#1001", "https://t.example/1"],
                "header_parameters": ["#1001"],
            },
        },
    )
    assert queued.status_code == 202, queued.text
    assert (
        queued.json()["text"]
        == "Hi Ada, your order #1001 left today. Track it: https://t.example/1"
    )
    _run(job_context, "inbox.send_message", message_id=queued.json()["id"])
    [sent] = sandbox.get("/whatsapp/_sandbox/messages").json()["messages"]
    assert sent["body"]["template"]["components"] == [
        {"type": "header", "parameters": [{"type": "text", "text": "#1001"}]},
        {
            "type": "body",
            "parameters": [
                {"type": "text", "text": "Ada"},
                {"type": "text", "text": "#1001"},
                {"type": "text", "text": "https://t.example/1"},
            ],
        },
    ]
    shown = client.get(f"/api/v1/conversations/{conversation}", headers=admin).json()
    assert shown["messages"][-1]["status"] == "sent"


def test_the_simulator_refuses_a_template_missing_a_value_as_meta_does(sandbox):
    sandbox.post("/whatsapp/_sandbox/templates", json=SHIPPED)
    sandbox.post("/whatsapp/_sandbox/inbound", json={"wa_id": CUSTOMER, "text": "hi"})
    body = {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": CUSTOMER,
        "type": "template",
        "template": {
            "name": "order_shipped",
            "language": {"code": "en_US"},
            "components": [{"type": "body", "parameters": [{"type": "text", "text": "Ada"}]}],
        },
    }
    refused = sandbox.post(
        f"/whatsapp/{get_settings().meta_graph_version}/{sim.PHONE_NUMBER_ID}/messages",
        json=body,
        headers={"Authorization": f"Bearer {sim.ACCESS_TOKEN}"},
    )
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == 132000
    assert (
        "header: number of localizable_params (0) does not match the expected number of params (1)"
        in str(refused.json())
    )


def _read(client, admin, sessions) -> list[str]:
    """The agent reads the thread; the read receipts the reading queued."""
    [conversation] = client.get("/api/v1/conversations", headers=admin).json()["items"]
    path = f"/api/v1/conversations/{conversation['id']}"
    assert client.patch(path, headers=admin, json={"read": True}).status_code == 200
    with sessions() as session:
        jobs = session.scalars(select(Job).where(Job.name == "inbox.send_read_receipt"))
        return [j.args["conversation_id"] for j in jobs]


def test_reading_a_thread_shows_the_customer_blue_ticks(
    client, admin, sandbox, number, job_context, sessions
):
    _customer_writes(client, sandbox, number, "Hello?")
    _customer_writes(client, sandbox, number, "Anyone there?")
    [conversation_id] = _read(client, admin, sessions)
    _run(job_context, "inbox.send_read_receipt", conversation_id=conversation_id)
    latest = client.get(f"/api/v1/conversations/{conversation_id}", headers=admin).json()
    wamid = latest["messages"][-1]["platform_message_id"]
    # The latest message marked read marks the earlier ones too (Meta's rule).
    assert sandbox.get("/whatsapp/_sandbox/messages").json()["read"] == [wamid]
    # Nothing new to read: no second receipt.
    assert len(_read(client, admin, sessions)) == 1


def test_no_receipt_for_a_message_older_than_30_days(
    client, admin, sandbox, number, job_context, sessions
):
    _customer_writes(client, sandbox, number, "Hello?")
    with transaction(sessions) as session:
        for message in session.scalars(select(Message)):
            message.at -= timedelta(days=31)
    [conversation_id] = _read(client, admin, sessions)
    _run(job_context, "inbox.send_read_receipt", conversation_id=conversation_id)
    assert sandbox.get("/whatsapp/_sandbox/messages").json()["read"] == []


def test_the_simulator_refuses_a_receipt_for_an_unknown_message(sandbox):
    refused = sandbox.post(
        f"/whatsapp/{get_settings().meta_graph_version}/{sim.PHONE_NUMBER_ID}/messages",
        json={"messaging_product": "whatsapp", "status": "read", "message_id": "wamid.nope"},
        headers={"Authorization": f"Bearer {sim.ACCESS_TOKEN}"},
    )
    assert refused.status_code == 400 and refused.json()["error"]["code"] == 131009
