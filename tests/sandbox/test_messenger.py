"""The Messenger and Instagram simulator refuses what Meta documents it refuses
(docs/platforms/messenger.md), and the adapter's bodies pass it."""

from __future__ import annotations

import pytest

from mercato.channels.messenger import mapping
from mercato.sandbox import messenger as sim

SEND = f"/messenger/v26.0/{sim.PAGE_ID}/messages"
AUTH = {"Authorization": f"Bearer {sim.ACCESS_TOKEN}"}
PERSON = "1234"


def _writes(sandbox, platform: str = "messenger", sender: str = PERSON) -> None:
    sandbox.post(
        "/messenger/_sandbox/inbound", json={"platform": platform, "sender": sender, "text": "hi"}
    )


def _error(response) -> tuple[int, int | None]:
    error = response.json()["error"]
    return error["code"], error.get("error_subcode")


def test_a_response_needs_the_persons_message_within_24_hours(sandbox):
    body = mapping.text("messenger", PERSON, "Hello")
    assert _error(sandbox.post(SEND, json=body, headers=AUTH)) == (100, 2018001)
    _writes(sandbox)
    sent = sandbox.post(SEND, json=body, headers=AUTH)
    assert sent.status_code == 200 and sent.json()["recipient_id"] == PERSON
    sandbox.put("/messenger/_sandbox/clock", json={"advance_hours": 25})
    assert _error(sandbox.post(SEND, json=body, headers=AUTH)) == (10, sim.OUTSIDE_WINDOW)
    tagged = mapping.text("messenger", PERSON, "Hello", tag="HUMAN_AGENT")
    assert sandbox.post(SEND, json=tagged, headers=AUTH).status_code == 200
    sandbox.put("/messenger/_sandbox/settings", json={"human_agent": False})
    assert _error(sandbox.post(SEND, json=tagged, headers=AUTH))[0] == 10
    sandbox.put("/messenger/_sandbox/settings", json={"human_agent": True})
    sandbox.put("/messenger/_sandbox/clock", json={"advance_hours": 24 * 6})
    assert _error(sandbox.post(SEND, json=tagged, headers=AUTH)) == (10, sim.OUTSIDE_WINDOW)


def test_bodies_meta_would_refuse_are_refused(sandbox):
    _writes(sandbox, "instagram")
    refused = [
        {
            "recipient": {"id": PERSON},
            "messaging_type": "RESPONSE",
            "message": {"text": "x"},
            "x": 1,
        },
        {"recipient": {"id": PERSON}, "messaging_type": "RESPONSE", "message": {}},
        {"recipient": {"id": PERSON}, "messaging_type": "RESPONSE", "message": {"text": "é" * 501}},
    ]
    for body in refused:
        assert _error(sandbox.post(SEND, json=body, headers=AUTH))[0] == 100, body
    card = mapping.cards("instagram", PERSON, [mapping.Card("Tee", "https://shop.test/p/tee")])
    card["message"]["attachment"]["payload"]["elements"] *= 11
    assert _error(sandbox.post(SEND, json=card, headers=AUTH))[0] == 100
    bad_token = sandbox.post(SEND, json=refused[0], headers={"Authorization": "Bearer nope"})
    assert bad_token.status_code == 401 and _error(bad_token)[0] == 190


def test_the_adapters_limits_match_the_platforms():
    with pytest.raises(ValueError, match="text: 1001 bytes, at most 1000"):
        mapping.text("instagram", PERSON, "a" * 1001)
    assert mapping.text("messenger", PERSON, "a" * 2000)["message"]["text"]
    with pytest.raises(ValueError, match="at most 2000"):
        mapping.text("messenger", PERSON, "a" * 2001)
    with pytest.raises(ValueError, match="cards: 1 to 10"):
        mapping.cards("messenger", PERSON, [mapping.Card("T", "https://x")] * 11)
    long = mapping.cards("messenger", PERSON, [mapping.Card("T" * 120, "https://x")])
    assert len(long["message"]["attachment"]["payload"]["elements"][0]["title"]) == 80


def test_a_comment_takes_one_private_reply_within_7_days(sandbox):
    made = sandbox.post(
        "/messenger/_sandbox/comments",
        json={"platform": "instagram", "sender": PERSON, "name": "ada", "text": "price?"},
    ).json()
    body = mapping.private_reply("instagram", made["comment_id"], "25 USD")
    assert sandbox.post(SEND, json=body, headers=AUTH).status_code == 200
    assert _error(sandbox.post(SEND, json=body, headers=AUTH)) == (10, sim.PRIVATE_REPLY_USED)
    late = sandbox.post(
        "/messenger/_sandbox/comments",
        json={"platform": "instagram", "sender": PERSON, "name": "ada", "text": "hello"},
    ).json()
    sandbox.put("/messenger/_sandbox/clock", json={"advance_hours": 24 * 7})
    body = mapping.private_reply("instagram", late["comment_id"], "Sorry")
    assert _error(sandbox.post(SEND, json=body, headers=AUTH)) == (10, sim.OUTSIDE_WINDOW)


def test_comments_are_answered_hidden_and_deleted_on_their_platforms_edges(sandbox):
    made = sandbox.post(
        "/messenger/_sandbox/comments",
        json={"platform": "messenger", "sender": PERSON, "name": "Ben", "text": "hm"},
    ).json()
    comment = made["comment_id"]
    root = "/messenger/v26.0"
    # A Page's comment is answered on /comments, not Instagram's /replies.
    assert _error(sandbox.post(f"{root}/{comment}/replies", json={"message": "x"}, headers=AUTH))
    assert (
        "id"
        in sandbox.post(
            f"{root}/{comment}/comments", json={"message": "Thanks!"}, headers=AUTH
        ).json()
    )
    assert _error(sandbox.post(f"{root}/{comment}", json={"hide": True}, headers=AUTH))[0] == 100
    hidden = sandbox.post(f"{root}/{comment}", json={"is_hidden": True}, headers=AUTH)
    assert hidden.json() == {"success": True}
    assert sandbox.delete(f"{root}/{comment}", headers=AUTH).json() == {"success": True}
    assert _error(sandbox.delete(f"{root}/{comment}", headers=AUTH)) == (100, 33)
