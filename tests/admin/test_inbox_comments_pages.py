"""The dashboard's inbox for Messenger and Instagram: comments with their actions (public
reply, one private reply, a private checkout link, hide, show, delete) and a composer that
knows the human-agent window."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from mercato.channels.meta.webhooks import SIGNATURE_HEADER, signature
from mercato.db import transaction
from mercato.inbox.models import Message
from mercato.sandbox import messenger as sim
from tests.helpers import SANDBOX, csrf_of, signed_in, tee

PERSON = "7788990011"


@pytest.fixture
def instagram(client, admin, sandbox):
    response = client.post(
        "/api/v1/inbox/accounts",
        headers=admin,
        json={
            "platform": "instagram",
            "name": "shop-instagram",
            "instagram_account_id": sim.INSTAGRAM_ID,
            "page_id": sim.PAGE_ID,
            "human_agent": True,
            "access_token": sim.ACCESS_TOKEN,
            "app_secret": sim.APP_SECRET,
            "verify_token": "v",
            "base_url": f"{SANDBOX}/messenger",
        },
    )
    assert response.status_code == 201, response.text
    return response.json()


def _post(client, account, payload: dict) -> None:
    raw = json.dumps(payload).encode()
    headers = {SIGNATURE_HEADER: signature(sim.APP_SECRET, raw)}
    assert client.post(account["webhook_path"], content=raw, headers=headers).status_code == 200


def _comment(client, sandbox, account, text: str) -> str:
    answer = sandbox.post(
        "/messenger/_sandbox/comments",
        json={"platform": "instagram", "sender": PERSON, "name": "ada.insta", "text": text},
    ).json()
    _post(client, account, answer["payload"])
    return answer["comment_id"]


def _thread_path(client, admin) -> str:
    [conversation] = client.get("/api/v1/conversations", headers=admin).json()["items"]
    return f"/admin/inbox/{conversation['id']}"


def _message(sessions, text: str) -> Message:
    with transaction(sessions) as session:
        return session.scalar(select(Message).where(Message.text == text))


def test_a_comment_is_answered_hidden_and_deleted_from_the_thread(
    client, admin, sandbox, sessions, instagram
):
    comment_id = _comment(client, sandbox, instagram, "Price of the tee?")
    agent = signed_in(client, sessions, "inbox:write", name="mia")
    path = _thread_path(client, admin)
    page = agent.get(path)
    assert "Instagram" in page.text and "on a post" in page.text
    # A comment opens no chat: the composer says so and offers nothing to type.
    assert 'data-window="closed"' in page.text and "answer it from the comment" in page.text
    comment = _message(sessions, "Price of the tee?")
    base = f"{path}/comments/{comment.id}"
    csrf = csrf_of(page.text)

    public = agent.post(
        f"{base}/replies", data={"csrf": csrf, "text": "Sent you a DM!"}, follow_redirects=True
    )
    assert "Public reply queued." in public.text
    private = agent.post(
        f"{base}/replies",
        data={"csrf": csrf, "text": "It is 25 USD", "private": "on"},
        follow_redirects=True,
    )
    assert "Private reply queued." in private.text
    # One private reply per comment: the form is gone, and the server refuses a second.
    assert "Send one private message" not in private.text
    again = agent.post(
        f"{base}/replies",
        data={"csrf": csrf, "text": "Hello?", "private": "on"},
        follow_redirects=True,
    )
    assert "already has its private reply" in again.text

    hidden = agent.post(f"{base}/hide", data={"csrf": csrf}, follow_redirects=True)
    assert "Hidden." in hidden.text and ">Show<" in hidden.text
    remote = sandbox.get("/messenger/_sandbox/comments").json()["comments"][comment_id]
    assert remote["hidden"] is True
    deleted = agent.post(f"{base}/delete", data={"csrf": csrf}, follow_redirects=True)
    assert "Deleted." in deleted.text
    assert sandbox.get("/messenger/_sandbox/comments").json()["comments"][comment_id]["deleted"]
    assert f"{base}/hide" not in deleted.text  # nothing more to do with it


def test_a_checkout_link_goes_privately_to_the_commenter(
    client, admin, sandbox, sessions, instagram, make_products
):
    make_products(tee())
    _comment(client, sandbox, instagram, "I want one")
    agent = signed_in(client, sessions, "inbox:write", name="mia")
    path = _thread_path(client, admin)
    comment = _message(sessions, "I want one")
    sent = agent.post(
        f"{path}/checkout-links",
        data={"csrf": csrf_of(agent.get(path).text), "items": "TEE-M:1", "comment_id": comment.id},
        follow_redirects=True,
    )
    assert "Checkout link queued." in sent.text
    with transaction(sessions) as session:
        link = session.scalar(select(Message).where(Message.kind == "private_reply"))
    assert link.reply_to_id == comment.id and "/shop/cart?items=TEE-M:1" in link.text


def test_after_a_day_the_composer_says_a_person_may_still_answer(
    client, admin, sandbox, sessions, instagram, monkeypatch
):
    answer = sandbox.post(
        "/messenger/_sandbox/inbound",
        json={"platform": "instagram", "sender": PERSON, "text": "Where is my parcel?"},
    ).json()
    _post(client, instagram, answer["payload"])
    agent = signed_in(client, sessions, "inbox:write", name="mia")
    path = _thread_path(client, admin)
    assert "window open until" in agent.get(path).text
    later = datetime.now(UTC) + timedelta(hours=30)
    monkeypatch.setattr("mercato.inbox.conversations.utcnow", lambda: later)
    page = agent.get(path).text
    assert "a person may reply until" in page
    assert re.search(r"tagged as a person.s answer", page)
    assert 'data-window="open"' in page
