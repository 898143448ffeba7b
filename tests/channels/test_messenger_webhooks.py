"""Messenger and Instagram webhooks parsed into the inbox's shapes (samples shaped as
Meta's webhook references, docs/platforms/messenger.md §2)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from mercato.channels.messenger.webhooks import parse

PAGE = "104582615230218"
IG = "17841405822304914"
MS = 1765000000123


def _page(*events: dict, changes=None) -> dict:
    entry: dict = {"id": PAGE, "time": MS, "messaging": list(events)}
    if changes:
        entry["changes"] = changes
    return {"object": "page", "entry": [entry]}


def _event(sender: str, recipient: str, **body) -> dict:
    return {"sender": {"id": sender}, "recipient": {"id": recipient}, "timestamp": MS, **body}


def test_a_text_message_an_echo_and_receipts():
    messages, statuses = parse(
        _page(
            _event("PSID1", PAGE, message={"mid": "m_1", "text": "hello, world!"}),
            _event(PAGE, "PSID1", message={"mid": "m_2", "is_echo": True, "text": "hi"}),
            _event("PSID1", PAGE, delivery={"mids": ["m_2"], "watermark": MS}),
            _event("PSID1", PAGE, read={"watermark": MS}),
        ),
        "messenger",
    )
    first, echo = messages
    assert (first.contact_id, first.message_id, first.text, first.kind) == (
        "PSID1",
        "m_1",
        "hello, world!",
        "text",
    )
    assert first.sent_at == datetime.fromtimestamp(MS / 1000, UTC) and not first.echo
    assert (echo.contact_id, echo.echo) == ("PSID1", True)  # the person is the recipient
    delivered, read = statuses
    assert (delivered.status, delivered.message_id) == ("delivered", "m_2")
    assert (read.status, read.message_id, read.up_to) == ("read", None, first.sent_at)


def test_instagram_story_replies_mentions_and_read_by_message():
    payload = {
        "object": "instagram",
        "entry": [
            {
                "id": IG,
                "time": MS,
                "messaging": [
                    _event(
                        "IGSID",
                        IG,
                        message={
                            "mid": "aWdf1",
                            "text": "love it",
                            "reply_to": {"story": {"url": "https://cdn/x", "id": "1"}},
                        },
                    ),
                    _event(
                        "IGSID",
                        IG,
                        message={
                            "mid": "aWdf2",
                            "attachments": [
                                {"type": "story_mention", "payload": {"url": "https://cdn/y"}}
                            ],
                        },
                    ),
                    _event("IGSID", IG, read={"mid": "aWdf0"}),
                    _event("IGSID", IG, message={"mid": "aWdf3", "is_deleted": True}),
                ],
            }
        ],
    }
    messages, statuses = parse(payload, "instagram")
    assert [(m.kind, m.text) for m in messages] == [
        ("story_reply", "love it"),
        ("story_mention", None),
    ]
    assert [(s.status, s.message_id) for s in statuses] == [("read", "aWdf0")]


def test_comments_of_instagram_and_of_a_page_and_the_accounts_own_skipped():
    instagram = {
        "object": "instagram",
        "entry": [
            {
                "id": IG,
                "time": 1765000000,
                "changes": [
                    {
                        "field": "comments",
                        "value": {
                            "id": "17865799348089039",
                            "from": {"id": "IGSID", "username": "ada"},
                            "text": "price?",
                            "media": {"id": "17887498072083520", "media_product_type": "FEED"},
                        },
                    },
                    {
                        "field": "comments",
                        "value": {"id": "2", "from": {"id": IG, "username": "shop"}, "text": "x"},
                    },
                ],
            }
        ],
    }
    [comment], _ = parse(instagram, "instagram")
    assert (comment.kind, comment.contact_id, comment.contact_name, comment.text) == (
        "comment",
        "IGSID",
        "ada",
        "price?",
    )
    assert comment.sent_at == datetime.fromtimestamp(1765000000, UTC)
    page = _page(
        changes=[
            {
                "field": "feed",
                "value": {
                    "from": {"id": "55", "name": "Ben"},
                    "item": "comment",
                    "verb": "add",
                    "comment_id": "PAGE_POST_C1",
                    "post_id": "PAGE_POST",
                    "parent_id": "PAGE_POST",
                    "created_time": 1765000001,
                    "message": "in stock?",
                },
            },
            {"field": "feed", "value": {"from": {"id": "55"}, "item": "like", "verb": "add"}},
        ]
    )
    [fb], _ = parse(page, "messenger")
    assert (fb.message_id, fb.contact_name, fb.text, fb.reply_to) == (
        "PAGE_POST_C1",
        "Ben",
        "in stock?",
        "PAGE_POST",
    )


@pytest.mark.parametrize(
    ("payload", "where"),
    [
        ({"object": "instagram", "entry": []}, "object"),
        ({"object": "page"}, "entry"),
        ({"object": "page", "entry": [{"messaging": []}]}, "entry[0].id"),
        (_page({"sender": {"id": "1"}, "recipient": {"id": PAGE}, "timestamp": "x"}), "timestamp"),
        (_page(_event("1", PAGE, message={"text": "no mid"})), "message.mid"),
    ],
)
def test_a_malformed_notification_names_where(payload, where):
    with pytest.raises(ValueError, match=where.replace("[", r"\[").replace("]", r"\]")):
        parse(payload, "messenger")
