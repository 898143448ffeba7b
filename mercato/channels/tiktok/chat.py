"""TikTok Shop buyer chats (customer service API, docs/platforms/tiktok.md "Buyer chats"):
the shop's conversations and their messages read, messages sent. I/O and parsing only.

TikTok Shop pushes no webhook for chat messages (its webhook event types are orders,
returns, packages, products and authorisation), so the inbox reads the conversation list
on a schedule and the messages of those with something new."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import orjson

from mercato.channels.messaging import InboundMessage
from mercato.channels.tiktok.api import Api, TikTokError

CONVERSATIONS = "/customer_service/202309/conversations"
CONVERSATIONS_PAGE = 20  # the documented maximum
MESSAGES_PAGE = 10  # the documented maximum
TEXT_MAX = 2000  # characters of a TEXT message
# Who wrote: the buyer; the shop or its agents (from Seller Center, or Mercato itself);
# TikTok's system and robot messages are shown to nobody here.
BUYER, SELLER = "BUYER", ("SHOP", "CUSTOMER_SERVICE")
KINDS = {
    "TEXT": "text",
    "IMAGE": "image",
    "VIDEO": "video",
    "EMOTICONS": "emoticon",
    "PRODUCT_CARD": "product",
    "ORDER_CARD": "order_card",
    "BUYER_ENTER_FROM_PRODUCT": "entered_from_product",
    "BUYER_ENTER_FROM_ORDER": "entered_from_order",
}


class ChatClient:
    def __init__(self, settings: dict[str, Any], credentials: dict[str, str], http: httpx.Client):
        self.api = Api(settings, credentials, http)

    def conversations(self, page_token: str | None = None) -> tuple[list[dict], str | None]:
        """One page of the shop's conversations (with their latest message); the next
        page's token, or None."""
        query = {"page_size": str(CONVERSATIONS_PAGE)}
        if page_token:
            query["page_token"] = page_token
        data = self.api.call("GET", CONVERSATIONS, query=query)
        return data.get("conversations") or [], data.get("next_page_token") or None

    def messages(
        self, conversation_id: str, page_token: str | None = None
    ) -> tuple[list[dict], str | None]:
        """One page of a conversation's messages, newest first."""
        query = {"page_size": str(MESSAGES_PAGE)}
        if page_token:
            query["page_token"] = page_token
        data = self.api.call("GET", f"{CONVERSATIONS}/{conversation_id}/messages", query=query)
        return data.get("messages") or [], data.get("next_page_token") or None

    def send(self, body: dict) -> str:
        """Send one message body (``message``): its id."""
        path = f"{CONVERSATIONS}/{body['conversation_id']}/messages"
        data = self.api.call("POST", path, {"type": body["type"], "content": body["content"]})
        if not isinstance(data.get("message_id"), str):
            raise TikTokError(None, "the answer holds no message_id")
        return data["message_id"]

    def mark_read(self, conversation_id: str) -> None:
        """The conversation's messages read by the shop (Read Message, no body)."""
        self.api.call("POST", f"{CONVERSATIONS}/{conversation_id}/messages/read")

    def close(self) -> None:
        self.api.http.close()

    def __enter__(self) -> ChatClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def message(conversation_id: str, kind: str, content: dict) -> dict:
    """A message body: ``content`` is sent as a JSON string, as TikTok wants it."""
    if kind == "TEXT":
        text = content.get("content")
        if not isinstance(text, str) or not text.strip():
            raise ValueError("text: required")
        if len(text) > TEXT_MAX:
            raise ValueError(f"text: {len(text)} characters, at most {TEXT_MAX}")
    elif kind == "PRODUCT_CARD" and not content.get("product_id"):
        raise ValueError("product_id: required")
    elif kind == "ORDER_CARD" and not content.get("order_id"):
        raise ValueError("order_id: required")
    elif kind not in ("TEXT", "PRODUCT_CARD", "ORDER_CARD"):
        raise ValueError(f"type: {kind!r} is not sent by Mercato")
    return {
        "conversation_id": conversation_id,
        "type": kind,
        "content": orjson.dumps(content).decode(),
    }


def buyer_of(conversation: dict) -> dict:
    for participant in conversation.get("participants") or []:
        if isinstance(participant, dict) and participant.get("role") == BUYER:
            return participant
    return {}


def parse(shop_id: str, conversation: dict, found: dict) -> InboundMessage | None:
    """A message of a conversation in the inbox's shape; None for what no one reads here
    (system and robot messages, those TikTok hides from agents, unknown shapes)."""
    sender = found.get("sender") if isinstance(found.get("sender"), dict) else {}
    role = sender.get("role")
    if role != BUYER and role not in SELLER or found.get("is_visible") is False:
        return None
    if not isinstance(found.get("id"), str) or not isinstance(found.get("create_time"), int):
        return None
    try:
        content = orjson.loads(found.get("content") or "{}")
    except orjson.JSONDecodeError:
        content = {}
    kind = KINDS.get(str(found.get("type")), "other")
    text = content.get("content") if isinstance(content, dict) else None
    buyer = buyer_of(conversation)
    return InboundMessage(
        account_ref=shop_id,
        contact_id=str(conversation["id"]),
        contact_name=buyer.get("nickname"),
        phone=None,
        message_id=found["id"],
        sent_at=datetime.fromtimestamp(found["create_time"], UTC),
        kind=kind,
        text=text if isinstance(text, str) else None,
        content={"type": found.get("type"), **(content if isinstance(content, dict) else {})},
        # What the shop's own agents wrote (in Seller Center) shows as sent.
        echo=role in SELLER,
    )
