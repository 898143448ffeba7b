"""The inbox against the Messenger and Instagram simulator: DMs stored once and answered
within Meta's windows (24 hours; a person's reply tagged HUMAN_AGENT up to 7 days), product
cards in the generic template's shape, echoes, read receipts, and comments answered in
public or once in private, hidden and deleted."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from mercato.config import get_settings
from mercato.db import transaction
from mercato.inbox.models import Message
from mercato.jobs import registry
from mercato.sandbox import messenger as sim
from tests.helpers import SANDBOX, tee
from tests.inbox.conftest import signed

PERSON = "6543210987654321"


def _simulator(sandbox) -> sim.MessengerSim:
    mount = next(r for r in sandbox.app.routes if getattr(r, "path", "") == "/messenger")
    return mount.app.state.sim


def _connect(client, admin, platform: str, human_agent: bool = True) -> dict:
    ids = (
        {"instagram_account_id": sim.INSTAGRAM_ID, "page_id": sim.PAGE_ID}
        if platform == "instagram"
        else {"page_id": sim.PAGE_ID}
    )
    response = client.post(
        "/api/v1/inbox/accounts",
        headers=admin,
        json={
            "platform": platform,
            "name": f"sim-{platform}",
            **ids,
            "human_agent": human_agent,
            "access_token": sim.ACCESS_TOKEN,
            "app_secret": sim.APP_SECRET,
            "verify_token": "v",
            "base_url": f"{SANDBOX}/messenger",
        },
    )
    assert response.status_code == 201, response.text
    return response.json()


@pytest.fixture
def instagram(client, admin, sandbox):
    return _connect(client, admin, "instagram")


@pytest.fixture
def page(client, admin, sandbox):
    return _connect(client, admin, "messenger")


def _hand_over(client, account: dict, answer) -> dict:
    """Post what the simulator would have posted to the account's webhook."""
    raw, headers = signed(answer.json()["payload"], sim.APP_SECRET)
    response = client.post(account["webhook_path"], content=raw, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def _writes(client, sandbox, account: dict, text: str, duplicates: int = 0) -> dict:
    answer = sandbox.post(
        "/messenger/_sandbox/inbound",
        json={"platform": account["platform"], "sender": PERSON, "text": text},
    )
    receipt = _hand_over(client, account, answer)
    for _ in range(duplicates):
        receipt = _hand_over(client, account, answer)
    return receipt


def _comments(client, sandbox, account: dict, text: str) -> str:
    answer = sandbox.post(
        "/messenger/_sandbox/comments",
        json={"platform": account["platform"], "sender": PERSON, "name": "ada", "text": text},
    )
    assert _hand_over(client, account, answer)["stored"] == 1
    return answer.json()["comment_id"]


def _conversation(client, admin) -> dict:
    [conversation] = client.get("/api/v1/conversations", headers=admin).json()["items"]
    return client.get(f"/api/v1/conversations/{conversation['id']}", headers=admin).json()


def _send(job_context, message_id: str) -> None:
    registry.TASKS["inbox.send_message"].fn(job_context, message_id=message_id)


def _sent(sandbox) -> list[dict]:
    return sandbox.get("/messenger/_sandbox/messages").json()["messages"]


def _clock(sandbox, hours: float) -> None:
    sandbox.put("/messenger/_sandbox/clock", json={"advance_hours": hours})


def test_an_instagram_message_is_stored_once_and_answered_in_metas_shape(
    client, admin, sandbox, instagram, job_context
):
    receipt = _writes(client, sandbox, instagram, "Do you ship to Lisbon?", duplicates=2)
    assert (receipt["stored"], receipt["duplicates"]) == (0, 1)
    thread = _conversation(client, admin)
    assert [(m["direction"], m["text"]) for m in thread["messages"]] == [
        ("in", "Do you ship to Lisbon?")
    ]
    assert thread["platform"] == "instagram" and thread["contact_id"] == PERSON
    assert thread["window_closes_at"] is not None and thread["phone"] is None

    reply = client.post(
        f"/api/v1/conversations/{thread['id']}/messages",
        headers=admin,
        json={"type": "text", "text": "Yes, in 3 days.", "author": "sam"},
    )
    assert reply.status_code == 202, reply.text
    _send(job_context, reply.json()["id"])
    [sent] = _sent(sandbox)
    assert sent["body"] == {
        "recipient": {"id": PERSON},
        "messaging_type": "RESPONSE",
        "message": {"text": "Yes, in 3 days."},
    }
    # Instagram names the message it read.
    read = sandbox.post(
        "/messenger/_sandbox/reads",
        json={"platform": "instagram", "sender": PERSON, "mid": sent["id"]},
    )
    assert _hand_over(client, instagram, read)["statuses"] == 1
    last = _conversation(client, admin)["messages"][-1]
    assert (last["status"], last["platform_message_id"]) == ("read", sent["id"])


def test_after_24_hours_only_a_persons_reply_goes_tagged_human_agent_until_7_days(
    client, admin, sandbox, page, job_context
):
    _writes(client, sandbox, page, "My parcel is late")
    thread = _conversation(client, admin)
    path = f"/api/v1/conversations/{thread['id']}/messages"
    _clock(sandbox, 30)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("mercato.inbox.sending.utcnow", lambda: _sim_now(sandbox))
        reply = client.post(path, headers=admin, json={"type": "text", "text": "Checking now"})
        assert reply.status_code == 202, reply.text
        _send(job_context, reply.json()["id"])
        [sent] = _sent(sandbox)
        assert (sent["body"]["messaging_type"], sent["body"]["tag"]) == (
            "MESSAGE_TAG",
            "HUMAN_AGENT",
        )
        # A week later nothing may go: refused before any call, with the reason.
        _clock(sandbox, 24 * 6)
        late = client.post(path, headers=admin, json={"type": "text", "text": "Any news?"})
    assert late.status_code == 409
    assert "7 days" in late.json()["detail"]
    assert len(_sent(sandbox)) == 1


def test_without_the_human_agent_permission_the_window_shuts_at_24_hours(
    client, admin, sandbox, job_context
):
    account = _connect(client, admin, "messenger", human_agent=False)
    _writes(client, sandbox, account, "Hello?")
    thread = _conversation(client, admin)
    _clock(sandbox, 25)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("mercato.inbox.sending.utcnow", lambda: _sim_now(sandbox))
        refused = client.post(
            f"/api/v1/conversations/{thread['id']}/messages",
            headers=admin,
            json={"type": "text", "text": "Sorry for the wait"},
        )
    assert refused.status_code == 409
    assert "Human Agent permission" in refused.json()["detail"]
    assert refused.json()["templates"] == []
    assert _sent(sandbox) == []


def _sim_now(sandbox):
    return _simulator(sandbox).now()


def test_a_product_goes_as_a_card_linking_to_its_page_with_its_price(
    client, admin, sandbox, instagram, make_products, job_context
):
    make_products(tee())
    _writes(client, sandbox, instagram, "Is the tee in M?")
    thread = _conversation(client, admin)
    reply = client.post(
        f"/api/v1/conversations/{thread['id']}/messages",
        headers=admin,
        json={"type": "product", "sku": "TEE-M", "text": "Last ones"},
    )
    assert reply.status_code == 202, reply.text
    _send(job_context, reply.json()["id"])
    [sent] = _sent(sandbox)
    payload = sent["body"]["message"]["attachment"]["payload"]
    assert payload["template_type"] == "generic"
    [card] = payload["elements"]
    assert card["title"] == "Organic Tee (Blue / M)"
    assert card["subtitle"] == "25.00 USD · Last ones"
    assert "/shop/p/tee?variant=" in card["default_action"]["url"]
    assert card["buttons"] == [
        {"type": "web_url", "url": card["default_action"]["url"], "title": "View"}
    ]


def test_a_comment_opens_no_window_and_gets_one_private_reply(
    client, admin, sandbox, instagram, job_context
):
    comment_id = _comments(client, sandbox, instagram, "How much is the red one?")
    thread = _conversation(client, admin)
    [comment] = thread["messages"]
    assert (comment["kind"], comment["platform_message_id"]) == ("comment", comment_id)
    assert thread["window_closes_at"] is None  # a comment is not a message to the account
    dm = client.post(
        f"/api/v1/conversations/{thread['id']}/messages",
        headers=admin,
        json={"type": "text", "text": "Hi!"},
    )
    assert dm.status_code == 409

    replies = f"/api/v1/inbox/comments/{comment['id']}/replies"
    public = client.post(replies, headers=admin, json={"text": "Sent you a message!"})
    private = client.post(replies, headers=admin, json={"text": "It is 25 USD", "private": True})
    assert public.status_code == private.status_code == 202
    again = client.post(replies, headers=admin, json={"text": "Again", "private": True})
    assert again.status_code == 409 and "already" in again.json()["detail"]
    for queued in (public, private):
        _send(job_context, queued.json()["id"])

    [sent] = _sent(sandbox)
    assert sent["body"] == {
        "recipient": {"comment_id": comment_id},
        "message": {"text": "It is 25 USD"},
    }
    state = sandbox.get("/messenger/_sandbox/comments").json()["comments"][comment_id]
    assert [r["message"] for r in state["replies"]] == ["Sent you a message!"]
    kinds = {m["kind"]: m for m in _conversation(client, admin)["messages"]}
    assert kinds["comment_reply"]["status"] == kinds["private_reply"]["status"] == "sent"
    assert kinds["private_reply"]["reply_to_id"] == comment["id"]


def test_a_private_reply_after_7_days_is_refused_before_any_call(client, admin, sandbox, instagram):
    _comments(client, sandbox, instagram, "price?")
    [comment] = _conversation(client, admin)["messages"]
    _clock(sandbox, 24 * 7 + 1)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("mercato.inbox.comments.utcnow", lambda: _sim_now(sandbox))
        late = client.post(
            f"/api/v1/inbox/comments/{comment['id']}/replies",
            headers=admin,
            json={"text": "Still interested?", "private": True},
        )
    assert late.status_code == 409 and "7 days" in late.json()["detail"]
    assert _sent(sandbox) == []


@pytest.mark.parametrize("platform", ["instagram", "messenger"])
def test_comments_are_hidden_shown_and_deleted_on_the_platform(client, admin, sandbox, platform):
    account = _connect(client, admin, platform)
    comment_id = _comments(client, sandbox, account, "spam spam")
    [comment] = _conversation(client, admin)["messages"]
    base = f"/api/v1/inbox/comments/{comment['id']}"

    def remote():
        return sandbox.get("/messenger/_sandbox/comments").json()["comments"][comment_id]

    hidden = client.post(f"{base}/hide", headers=admin)
    assert hidden.status_code == 200 and hidden.json()["status"] == "hidden"
    assert remote()["hidden"] is True
    shown = client.post(f"{base}/show", headers=admin)
    assert shown.json()["status"] == "received" and remote()["hidden"] is False
    deleted = client.post(f"{base}/delete", headers=admin)
    assert deleted.json()["status"] == "deleted" and remote()["deleted"] is True
    again = client.post(f"{base}/hide", headers=admin)
    assert again.status_code == 409


def test_a_refusal_of_the_platform_changes_nothing(client, admin, sandbox, instagram):
    _comments(client, sandbox, instagram, "hello")
    [comment] = _conversation(client, admin)["messages"]
    sandbox.post("/messenger/_sandbox/faults", json={"kind": "expired_token"})
    refused = client.post(f"/api/v1/inbox/comments/{comment['id']}/hide", headers=admin)
    assert refused.status_code == 502
    assert refused.json()["error"]["code"] == 190
    assert _conversation(client, admin)["messages"][0]["status"] == "received"


def test_only_comments_are_answered_as_comments(client, admin, sandbox, instagram):
    _writes(client, sandbox, instagram, "hi")
    [message] = _conversation(client, admin)["messages"]
    refused = client.post(
        f"/api/v1/inbox/comments/{message['id']}/replies", headers=admin, json={"text": "x"}
    )
    assert refused.status_code == 422


def test_echoes_show_what_the_page_sent_elsewhere_and_never_double_our_own(
    client, admin, sandbox, page, job_context
):
    simulator = _simulator(sandbox)
    simulator.webhooks["messenger"] = f"http://testserver{page['webhook_path']}"
    simulator.transport = lambda url, raw, headers: (
        client.post(url, content=raw, headers=headers).status_code
    )
    sandbox.put("/messenger/_sandbox/settings", json={"human_agent": True, "echoes": True})
    _writes(client, sandbox, page, "hello")
    thread = _conversation(client, admin)
    reply = client.post(
        f"/api/v1/conversations/{thread['id']}/messages",
        headers=admin,
        json={"type": "text", "text": "Hi there"},
    )
    # The echo of our own send arrives before the worker records the send.
    _send(job_context, reply.json()["id"])
    # A message the Page sent from Meta Business Suite.
    echo = sim.messaging(
        "messenger",
        {"sender": {"id": sim.PAGE_ID}, "recipient": {"id": PERSON}},
        {"message": {"mid": "m_suite", "is_echo": True, "text": "Sent from the phone"}},
        at=simulator.now(),
    )
    raw, headers = signed(echo, sim.APP_SECRET)
    assert client.post(page["webhook_path"], content=raw, headers=headers).status_code == 200
    messages = _conversation(client, admin)["messages"]
    assert [(m["direction"], m["text"], m["status"]) for m in messages] == [
        ("in", "hello", "received"),
        ("out", "Hi there", "sent"),
        ("out", "Sent from the phone", "sent"),
    ]
    assert messages[1]["id"] == reply.json()["id"]


def test_a_messenger_read_watermark_marks_what_was_sent_before_it_read(
    client, admin, sandbox, page, job_context, sessions
):
    _writes(client, sandbox, page, "hello")
    thread = _conversation(client, admin)
    for text in ("one", "two"):
        queued = client.post(
            f"/api/v1/conversations/{thread['id']}/messages",
            headers=admin,
            json={"type": "text", "text": text},
        )
        _send(job_context, queued.json()["id"])
    read = sandbox.post(
        "/messenger/_sandbox/reads", json={"platform": "messenger", "sender": PERSON}
    )
    assert _hand_over(client, page, read)["statuses"] == 2
    with transaction(sessions) as session:
        states = session.scalars(
            select(Message.status).where(Message.direction == "out").order_by(Message.at)
        ).all()
    assert states == ["read", "read"]


def test_a_comment_turns_into_a_sale_through_a_checkout_link_sent_privately(
    client, admin, sandbox, instagram, make_products, job_context
):
    make_products(tee())
    comment_id = _comments(client, sandbox, instagram, "I want the M!")
    thread = _conversation(client, admin)
    comment = thread["messages"][0]
    link = client.post(
        f"/api/v1/conversations/{thread['id']}/checkout-links",
        headers=admin,
        json={"items": [{"sku": "TEE-M", "quantity": 1}], "comment_id": comment["id"]},
    )
    assert link.status_code == 202, link.text
    assert link.json()["kind"] == "private_reply"
    _send(job_context, link.json()["id"])
    [sent] = _sent(sandbox)
    assert sent["recipient"] == {"comment_id": comment_id}
    url = sent["body"]["message"]["text"]
    assert "ch=instagram" in url and f"conv={thread['id']}" in url


def test_a_hidden_comment_or_one_on_a_live_video_is_answered_only_privately(
    client, admin, sandbox, instagram
):
    answer = sandbox.post(
        "/messenger/_sandbox/comments",
        json={"platform": "instagram", "sender": PERSON, "name": "ada", "text": "how much?!"}
        | {"live": True},
    )
    assert _hand_over(client, instagram, answer)["stored"] == 1
    [live] = _conversation(client, admin)["messages"]
    assert live["kind"] == "live_comment"
    replies = f"/api/v1/inbox/comments/{live['id']}/replies"
    public = client.post(replies, headers=admin, json={"text": "25 USD"})
    assert public.status_code == 409 and "privately" in public.json()["detail"]
    private = client.post(replies, headers=admin, json={"text": "25 USD", "private": True})
    assert private.status_code == 202

    _comments(client, sandbox, instagram, "rude words")
    [hidden] = [m for m in _conversation(client, admin)["messages"] if m["text"] == "rude words"]
    assert client.post(f"/api/v1/inbox/comments/{hidden['id']}/hide", headers=admin).is_success
    refused = client.post(
        f"/api/v1/inbox/comments/{hidden['id']}/replies", headers=admin, json={"text": "Hm"}
    )
    assert refused.status_code == 409


def test_choices_go_as_quick_replies_and_a_tap_comes_back_as_the_persons_message(
    client, admin, sandbox, page, job_context
):
    _writes(client, sandbox, page, "Do you deliver on Saturday?")
    thread = _conversation(client, admin)
    queued = client.post(
        f"/api/v1/conversations/{thread['id']}/messages",
        headers=admin,
        json={"type": "buttons", "text": "Which day suits you?", "choices": ["Saturday", "Monday"]},
    )
    assert queued.status_code == 202, queued.text
    _send(job_context, queued.json()["id"])
    [sent] = _sent(sandbox)
    assert sent["body"]["message"] == {
        "text": "Which day suits you?",
        "quick_replies": [
            {"content_type": "text", "title": "Saturday", "payload": "b1"},
            {"content_type": "text", "title": "Monday", "payload": "b2"},
        ],
    }
    too_many = client.post(
        f"/api/v1/conversations/{thread['id']}/messages",
        headers=admin,
        json={"type": "buttons", "text": "Pick", "choices": [f"c{n}" for n in range(14)]},
    )
    assert too_many.status_code == 422


def test_where_is_my_order_is_answered_for_a_buyer_who_ordered_through_a_link(
    client, admin, sandbox, instagram, make_products, job_context, sessions
):
    """No phone number on Instagram: the order the conversation's link led to is theirs."""
    make_products(tee())
    _writes(client, sandbox, instagram, "hi")
    thread = _conversation(client, admin)
    order = client.post(
        "/api/v1/orders",
        headers=admin,
        json={
            "channel": "storefront",
            "lines": [{"sku": "TEE-M", "quantity": 1}],
            "payment_status": "paid",
            "attribution": {"conversation_id": thread["id"]},
        },
    )
    assert order.status_code == 201, order.text
    client.put(
        f"/api/v1/inbox/accounts/{instagram['id']}/automation",
        headers=admin,
        json={"order_status": True},
    )
    _writes(client, sandbox, instagram, "Where is my order?")
    with transaction(sessions) as session:
        asked = session.scalar(select(Message.id).where(Message.text == "Where is my order?"))
    registry.TASKS["inbox.automate"].fn(job_context, message_id=asked)
    answer = _conversation(client, admin)["messages"][-1]
    assert answer["direction"] == "out" and answer["author"] == "automation"
    assert f"#{order.json()['number']}" in answer["text"]


def test_an_image_goes_by_its_link_and_a_caption_is_refused_where_meta_has_none(
    client, admin, sandbox, instagram, job_context
):
    _writes(client, sandbox, instagram, "What does the back look like?")
    path = f"/api/v1/conversations/{_conversation(client, admin)['id']}/messages"
    url = "https://cdn.shop.test/tee-back.jpg"
    queued = client.post(path, headers=admin, json={"type": "image", "image_url": url})
    assert queued.status_code == 202, queued.text
    _send(job_context, queued.json()["id"])
    [sent] = _sent(sandbox)
    assert sent["body"]["message"] == {
        "attachment": {"type": "image", "payload": {"url": url, "is_reusable": True}}
    }
    captioned = client.post(
        path, headers=admin, json={"type": "image", "image_url": url, "text": "The back"}
    )
    assert captioned.status_code == 422 and "no caption" in captioned.text
    plain = client.post(
        path, headers=admin, json={"type": "image", "image_url": "http://cdn.shop.test/x.jpg"}
    )
    assert plain.status_code == 422


def test_a_list_message_is_refused_where_meta_has_none(client, admin, sandbox, page):
    _writes(client, sandbox, page, "hi")
    refused = client.post(
        f"/api/v1/conversations/{_conversation(client, admin)['id']}/messages",
        headers=admin,
        json={
            "type": "list",
            "text": "Pick",
            "button": "Open",
            "rows": [{"rows": [{"title": "A"}]}],
        },
    )
    assert refused.status_code == 422 and "no list messages" in refused.text
    assert _sent(sandbox) == []


def _read(client, admin, job_context) -> str:
    thread = _conversation(client, admin)
    path = f"/api/v1/conversations/{thread['id']}"
    assert client.patch(path, headers=admin, json={"read": True}).status_code == 200
    return registry.TASKS["inbox.send_read_receipt"].fn(job_context, conversation_id=thread["id"])


def _actions(sandbox) -> list[dict]:
    return sandbox.get("/messenger/_sandbox/messages").json()["actions"]


@pytest.mark.parametrize("platform", ["instagram", "messenger"])
def test_reading_a_dm_marks_it_seen(client, admin, sandbox, job_context, platform):
    account = _connect(client, admin, platform)
    _writes(client, sandbox, account, "Still in stock?")
    _read(client, admin, job_context)
    assert _actions(sandbox) == [{"to": PERSON, "action": "mark_seen"}]


def test_a_comment_read_sends_no_receipt(client, admin, sandbox, instagram, job_context):
    _comments(client, sandbox, instagram, "price?")
    _read(client, admin, job_context)
    assert _actions(sandbox) == []


def test_the_simulator_refuses_a_receipt_to_a_stranger(sandbox, instagram):
    refused = sandbox.post(
        f"/messenger/{get_settings().meta_graph_version}/{sim.PAGE_ID}/messages",
        json={"recipient": {"id": "999"}, "sender_action": "mark_seen"},
        headers={"Authorization": f"Bearer {sim.ACCESS_TOKEN}"},
    )
    assert refused.status_code == 400 and "No matching user" in refused.json()["error"]["message"]
