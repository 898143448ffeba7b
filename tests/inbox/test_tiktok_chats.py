"""TikTok Shop buyer chats in the inbox, against the TikTok simulator: read on a schedule
(TikTok pushes no chat webhook), each message stored once, answered with text or TikTok's
own product card, and a conversation TikTok closes to the shop refused with its words."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from mercato.catalog.models import Variant
from mercato.channels import service
from mercato.channels.models import Channel, Listing
from mercato.db import Sessions, make_sessionmaker, transaction
from mercato.inbox import polling, tasks
from mercato.jobs import registry
from tests.helpers import csrf_of, signed_in, tee


@pytest.fixture
def shop(client, admin, sandbox, make_channel):
    """The TikTok channel and the inbox account reading its chats."""
    channel_id = make_channel("tiktok")
    response = client.post(
        "/api/v1/inbox/accounts",
        headers=admin,
        json={"platform": "tiktok", "name": "tiktok-shop", "catalog_channel_id": channel_id},
    )
    assert response.status_code == 201, response.text
    return {"channel_id": channel_id, **response.json()}


def _buyer_writes(sandbox, text: str, **more) -> str:
    answer = sandbox.post("/tiktok/_sandbox/chats", json={"text": text, "nickname": "ana", **more})
    return answer.json()["conversation_id"]


def _poll(engine, sessions, shop):
    return polling.poll(Sessions(sessions, make_sessionmaker(engine, read_only=True)), shop["id"])


def _thread(client, admin) -> dict:
    [conversation] = client.get("/api/v1/conversations", headers=admin).json()["items"]
    return client.get(f"/api/v1/conversations/{conversation['id']}", headers=admin).json()


def _send(job_context, message_id: str) -> None:
    registry.TASKS["inbox.send_message"].fn(job_context, message_id=message_id)


def test_buyer_messages_are_read_on_a_schedule_and_stored_once(
    client, admin, sandbox, shop, engine, sessions, job_context
):
    chat_id = _buyer_writes(sandbox, "Is this jacket waterproof?")
    tasks.poll_chats(job_context)  # the worker's run, every minute
    assert polling.JOB in registry.TASKS
    _buyer_writes(sandbox, "And does it come in XL?", conversation_id=chat_id)
    again = _poll(engine, sessions, shop)
    assert (again.stored, again.duplicates) == (1, 0)
    assert _poll(engine, sessions, shop).stored == 0  # nothing new: nothing stored
    thread = _thread(client, admin)
    assert (thread["platform"], thread["contact_id"], thread["contact_name"]) == (
        "tiktok",
        chat_id,
        "ana",
    )
    assert [m["text"] for m in thread["messages"]] == [
        "Is this jacket waterproof?",
        "And does it come in XL?",
    ]
    assert thread["reply_open"] is True and thread["window_closes_at"] is None


def test_answers_go_as_text_and_as_tiktoks_product_card(
    client, admin, sandbox, shop, engine, sessions, job_context, make_products
):
    [product] = make_products(tee())
    with transaction(sessions) as session:
        variant = session.scalar(select(Variant).where(Variant.sku == "TEE-M"))
        session.add(
            Listing(
                channel_id=shop["channel_id"],
                variant_id=variant.id,
                product_id=product.id,
                item_id="TEE-M",
                platform_ref="1729384756:1729384757",
                verdict="approved",
            )
        )
    _simulator(sandbox).items["1729384756"] = {"id": "1729384756"}
    chat_id = _buyer_writes(sandbox, "Do you have the tee in M?")
    _poll(engine, sessions, shop)
    path = f"/api/v1/conversations/{_thread(client, admin)['id']}/messages"
    text = client.post(path, headers=admin, json={"type": "text", "text": "Yes! Here it is:"})
    card = client.post(path, headers=admin, json={"type": "product", "sku": "TEE-M"})
    assert text.status_code == card.status_code == 202, card.text
    for queued in (text, card):
        _send(job_context, queued.json()["id"])
    sent = sandbox.get("/tiktok/_sandbox/chats/sent").json()["messages"]
    assert [(m["conversation_id"], m["type"], m["content"]) for m in sent] == [
        (chat_id, "TEXT", '{"content":"Yes! Here it is:"}'),
        (chat_id, "PRODUCT_CARD", '{"product_id":"1729384756"}'),
    ]
    # Reading the chat again finds our own messages: they are not stored twice.
    assert _poll(engine, sessions, shop).stored == 0
    statuses = [m["status"] for m in _thread(client, admin)["messages"]]
    assert statuses == ["received", "sent", "sent"]


def test_a_conversation_tiktok_closes_to_the_shop_shows_the_send_failed(
    client, admin, sandbox, shop, engine, sessions, job_context
):
    chat_id = _buyer_writes(sandbox, "hello")
    _poll(engine, sessions, shop)
    sandbox.post(
        "/tiktok/_sandbox/chats", json={"conversation_id": chat_id, "can_send_message": False}
    )
    queued = client.post(
        f"/api/v1/conversations/{_thread(client, admin)['id']}/messages",
        headers=admin,
        json={"type": "text", "text": "Hi!"},
    )
    _send(job_context, queued.json()["id"])
    last = _thread(client, admin)["messages"][-1]
    assert last["status"] == "failed"
    assert last["error"]["code"] == 36009011 and "does not accept" in last["error"]["message"]


def test_templates_and_webhooks_are_not_tiktoks(client, admin, sandbox, shop, engine, sessions):
    _buyer_writes(sandbox, "hi")
    _poll(engine, sessions, shop)
    refused = client.post(
        f"/api/v1/conversations/{_thread(client, admin)['id']}/messages",
        headers=admin,
        json={"type": "template", "template": {"name": "x", "language": "en"}},
    )
    assert refused.status_code == 422
    assert client.post(shop["webhook_path"], content=b"{}").status_code == 404


def test_an_inbox_account_needs_the_shops_tiktok_channel(client, admin, make_channel):
    meta = make_channel("meta")
    refused = client.post(
        "/api/v1/inbox/accounts",
        headers=admin,
        json={"platform": "tiktok", "name": "x", "catalog_channel_id": meta},
    )
    assert refused.status_code == 422 and "tiktok" in refused.text


def _simulator_mount(sandbox):
    return next(r for r in sandbox.app.routes if getattr(r, "path", "") == "/tiktok").app


def _simulator(sandbox):
    return _simulator_mount(sandbox).state.sim


def test_an_expired_shop_token_is_refreshed_stored_and_the_chats_still_read(
    client, admin, sandbox, shop, engine, sessions
):
    with transaction(sessions) as session:
        channel = session.get(Channel, shop["channel_id"])
        service.replace_credentials(
            session,
            channel.id,
            {**service.credentials(channel), "refresh_token": "tt-refresh-token"},
        )
    _buyer_writes(sandbox, "Still there?")
    sandbox.post("/tiktok/_sandbox/faults", json={"kind": "expired_token"})
    assert _poll(engine, sessions, shop).stored == 1
    with sessions() as session:
        stored = service.credentials(session.get(Channel, shop["channel_id"]))
    assert stored["access_token"].startswith("at-") and stored["refresh_token"].startswith("rt-")


def test_reading_a_chat_marks_it_read_on_tiktok(
    client, admin, sandbox, shop, engine, sessions, job_context
):
    chat_id = _buyer_writes(sandbox, "Is this jacket waterproof?")
    _poll(engine, sessions, shop)
    thread = _thread(client, admin)
    path = f"/api/v1/conversations/{thread['id']}"
    simulator = _simulator(sandbox)
    assert simulator.chats[chat_id]["unread"] == 1
    assert client.patch(path, headers=admin, json={"read": True}).status_code == 200
    registry.TASKS["inbox.send_read_receipt"].fn(job_context, conversation_id=thread["id"])
    assert simulator.chats[chat_id]["unread"] == 0


def test_one_of_the_shops_orders_goes_as_tiktoks_order_card(
    client, admin, sandbox, shop, engine, sessions, job_context, make_products
):
    make_products(tee())
    placed = {"id": "576461413038785752"}  # an order TikTok has (its order book's shape aside)
    _simulator_mount(sandbox).state.orders.orders[placed["id"]] = placed
    order = client.post(
        "/api/v1/orders",
        headers=admin,
        json={
            "channel": shop["channel_id"],
            "external_id": placed["id"],
            "lines": [{"sku": "TEE-M", "quantity": 1}],
            "payment_status": "paid",
        },
    )
    assert order.status_code == 201, order.text
    elsewhere = client.post(
        "/api/v1/orders",
        headers=admin,
        json={"channel": "storefront", "lines": [{"sku": "TEE-M", "quantity": 1}]},
    )
    chat_id = _buyer_writes(sandbox, "Where is my order?")
    _poll(engine, sessions, shop)
    path = f"/api/v1/conversations/{_thread(client, admin)['id']}/messages"
    by_ours = client.post(path, headers=admin, json={"type": "order", "order": order.json()["id"]})
    by_theirs = client.post(path, headers=admin, json={"type": "order", "order": placed["id"]})
    assert by_ours.status_code == by_theirs.status_code == 202, by_ours.text
    for queued in (by_ours, by_theirs):
        _send(job_context, queued.json()["id"])
    sent = sandbox.get("/tiktok/_sandbox/chats/sent").json()["messages"]
    card = f'{{"order_id":"{placed["id"]}"}}'
    assert [(m["conversation_id"], m["type"], m["content"]) for m in sent] == [
        (chat_id, "ORDER_CARD", card),
        (chat_id, "ORDER_CARD", card),
    ]
    shown = _thread(client, admin)["messages"][-1]
    assert (shown["kind"], shown["text"]) == ("order_card", f"Order {order.json()['number']}")

    # Another channel's order is not TikTok's to show; nothing is queued.
    refused = client.post(
        path, headers=admin, json={"type": "order", "order": elsewhere.json()["id"]}
    )
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "order"
    assert len(_thread(client, admin)["messages"]) == 3
    # An order TikTok does not know: sent, refused by TikTok, shown failed with its words.
    unknown = client.post(
        "/api/v1/orders",
        headers=admin,
        json={
            "channel": shop["channel_id"],
            "external_id": "576461413038785753",
            "lines": [{"sku": "TEE-M", "quantity": 1}],
        },
    )
    # From the dashboard's thread, by TikTok's order id.
    signed_in(client, sessions, "inbox:write")
    page = f"/admin/inbox/{_thread(client, admin)['id']}"
    html = client.get(page).text
    assert "Send order card" in html
    form = {"csrf": csrf_of(html), "type": "order", "order": "576461413038785753"}
    assert client.post(f"{page}/messages", data=form).status_code in (200, 303)
    queued = _thread(client, admin)["messages"][-1]
    assert (queued["kind"], queued["status"]) == ("order_card", "queued")
    _send(job_context, queued["id"])
    last = _thread(client, admin)["messages"][-1]
    assert last["status"] == "failed" and "order not found" in last["error"]["message"]
    assert unknown.status_code == 201
