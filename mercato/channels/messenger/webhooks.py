"""Messenger and Instagram webhooks (docs/platforms/messenger.md §2) parsed into the
inbox's shapes: messages (with story replies and mentions), echoes of what the business
sent from elsewhere, delivery and read receipts, and comments on the Page's or the
Instagram account's posts.

``object`` is ``page`` for a Facebook Page, ``instagram`` for an Instagram professional
account; both carry ``entry[].messaging[]`` for messages and ``entry[].changes[]`` for
comments. Meta batches and redelivers: callers deduplicate on ``message_id``. Events
Mercato does not keep (reactions, referrals, hand-over, comment edits...) are skipped;
a malformed part raises ValueError naming its path."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from mercato.channels.messaging import (
    InboundMessage,
    StatusUpdate,
    json_list,
    json_object,
    json_string,
)

OBJECTS = {"page": "messenger", "instagram": "instagram"}
# Comments arrive as ``comments``/``live_comments`` (Instagram) and ``feed`` with
# ``item: comment`` (Page).
COMMENT_FIELDS = {"instagram": ("comments", "live_comments"), "messenger": ("feed",)}


def parse(payload: Any, platform: str) -> tuple[list[InboundMessage], list[StatusUpdate]]:
    if not isinstance(payload, dict):
        raise ValueError("payload: not a JSON object")
    if OBJECTS.get(payload.get("object")) != platform:
        raise ValueError(f"object: {payload.get('object')!r} is not a {platform} notification")
    messages: list[InboundMessage] = []
    statuses: list[StatusUpdate] = []
    for e, entry in enumerate(json_list(payload, "entry", "")):
        where = f"entry[{e}]"
        entry = json_object(entry, where)
        account_ref = json_string(entry, "id", where, numbers=True)
        for m, event in enumerate(json_list(entry, "messaging", where, optional=True)):
            _messaging(
                json_object(event, f"{where}.messaging[{m}]"),
                f"{where}.messaging[{m}]",
                account_ref,
                messages,
                statuses,
            )
        for c, change in enumerate(json_list(entry, "changes", where, optional=True)):
            at = f"{where}.changes[{c}]"
            comment = _comment(json_object(change, at), at, platform, account_ref, entry)
            if comment is not None:
                messages.append(comment)
    return messages, statuses


def _messaging(event: dict, where: str, account_ref: str, messages: list, statuses: list) -> None:
    sender = _party(event, "sender", where)
    recipient = _party(event, "recipient", where)
    at = _millis(event, "timestamp", where)
    if isinstance(event.get("message"), dict):
        message = event["message"]
        if message.get("is_deleted"):  # unsent by the person: nothing to keep [I]
            return
        echo = bool(message.get("is_echo"))
        kind, text = message_kind(message)
        reply = message.get("reply_to") if isinstance(message.get("reply_to"), dict) else {}
        messages.append(
            InboundMessage(
                account_ref=account_ref,
                # An echo goes from the business to the person.
                contact_id=recipient if echo else sender,
                contact_name=None,
                phone=None,
                message_id=json_string(message, "mid", f"{where}.message", numbers=True),
                sent_at=at,
                kind=kind,
                text=text,
                content=message,
                reply_to=reply.get("mid"),
                echo=echo,
            )
        )
    elif isinstance(event.get("postback"), dict):
        postback = event["postback"]
        if postback.get("mid"):
            messages.append(
                InboundMessage(
                    account_ref=account_ref,
                    contact_id=sender,
                    contact_name=None,
                    phone=None,
                    message_id=postback["mid"],
                    sent_at=at,
                    kind="postback",
                    text=postback.get("title"),
                    content=postback,
                )
            )
    elif isinstance(event.get("delivery"), dict):
        delivery = event["delivery"]
        mids = delivery.get("mids") or []
        if not isinstance(mids, list):
            raise ValueError(f"{where}.delivery.mids: not a list")
        watermark = _millis(delivery, "watermark", f"{where}.delivery", optional=True)
        statuses.extend(
            StatusUpdate(account_ref, sender, "delivered", at, message_id=str(mid)) for mid in mids
        )
        if not mids and watermark is not None:
            statuses.append(StatusUpdate(account_ref, sender, "delivered", at, up_to=watermark))
    elif isinstance(event.get("read"), dict):
        read = event["read"]
        if read.get("mid"):  # Instagram names the message read
            statuses.append(StatusUpdate(account_ref, sender, "read", at, message_id=read["mid"]))
        else:  # Messenger: everything sent up to the watermark
            watermark = _millis(read, "watermark", f"{where}.read")
            statuses.append(StatusUpdate(account_ref, sender, "read", at, up_to=watermark))


def _party(event: dict, key: str, where: str) -> str:
    return json_string(
        json_object(event.get(key), f"{where}.{key}"), "id", f"{where}.{key}", numbers=True
    )


def message_kind(message: dict) -> tuple[str, str | None]:
    """(kind, what a person reads) for a ``message`` object."""
    text = message.get("text") if isinstance(message.get("text"), str) else None
    reply = message.get("reply_to")
    if isinstance(reply, dict) and isinstance(reply.get("story"), dict):
        return "story_reply", text
    attachments = message.get("attachments")
    if isinstance(attachments, list) and attachments and isinstance(attachments[0], dict):
        kind = attachments[0].get("type")
        if isinstance(kind, str) and kind:
            return kind, text
    return "text", text


def _comment(
    change: dict, where: str, platform: str, account_ref: str, entry: dict
) -> InboundMessage | None:
    """A new comment by someone else, or None for other changes."""
    if change.get("field") not in COMMENT_FIELDS[platform]:
        return None
    value = json_object(change.get("value"), f"{where}.value")
    author = json_object(value.get("from"), f"{where}.value.from")
    author_id = json_string(author, "id", f"{where}.value.from", numbers=True)
    if author_id == account_ref:  # the business's own reply
        return None
    if platform == "messenger":
        if value.get("item") != "comment" or value.get("verb") != "add":
            return None
        comment_id = json_string(value, "comment_id", f"{where}.value", numbers=True)
        text = value.get("message")
        at = _seconds(value.get("created_time")) or _entry_time(entry)
        name = author.get("name")
    else:
        comment_id = json_string(value, "id", f"{where}.value", numbers=True)
        text = value.get("text")
        at = _entry_time(entry)  # Instagram sends no creation time [V examples]
        name = author.get("username")
    return InboundMessage(
        account_ref=account_ref,
        contact_id=author_id,
        contact_name=name if isinstance(name, str) else None,
        phone=None,
        message_id=comment_id,
        sent_at=at,
        kind="live_comment" if change["field"] == "live_comments" else "comment",
        text=text if isinstance(text, str) else None,
        content=value,
        reply_to=value.get("parent_id") if isinstance(value.get("parent_id"), str) else None,
    )


def _entry_time(entry: dict) -> datetime:
    """``entry.time``: milliseconds on Messenger, seconds in Instagram's samples [I]."""
    value = entry.get("time")
    if isinstance(value, int) and not isinstance(value, bool):
        return _seconds(value // 1000 if value > 10**11 else value)
    return datetime.now(UTC)


def _seconds(value: Any) -> datetime | None:
    if isinstance(value, bool) or not isinstance(value, (int, str)) or not str(value).isdigit():
        return None
    return datetime.fromtimestamp(int(value), UTC)


def _millis(parent: dict, key: str, where: str, optional: bool = False) -> datetime | None:
    value = parent.get(key)
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{where}.{key}: missing or not unix milliseconds")
    return datetime.fromtimestamp(value / 1000, UTC)
