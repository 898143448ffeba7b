from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, validates

from mercato.crypto import Encrypted, search_terms, value_key
from mercato.db import Base, JSONType, UTCDateTime, new_id, utcnow

PLATFORMS = ("whatsapp", "messenger", "instagram", "tiktok")
CONVERSATION_STATUSES = ("open", "pending", "snoozed", "resolved")
# "note": an internal note of the merchant's team, in the thread, never sent.
DIRECTIONS = ("in", "out", "note")
# An outbound message moves queued -> sent -> delivered -> read, or ends failed; an
# inbound one is received, and a comment may then be hidden or deleted by the merchant.
MESSAGE_STATUSES = (
    "received",
    "queued",
    "sent",
    "delivered",
    "read",
    "failed",
    "hidden",
    "deleted",
)
# Comments on the account's posts: answered in public or once in private, hidden, deleted.
COMMENT_KINDS = ("comment", "live_comment")


class InboxAccount(Base):
    """One messaging account: a WhatsApp Business phone number, a Facebook Page (Messenger
    and its posts' comments), an Instagram professional account (DMs and comments) or a
    TikTok Shop (its buyer chats, through the shop's TikTok channel)."""

    __tablename__ = "inbox_accounts"
    __table_args__ = (
        CheckConstraint(f"platform IN ({', '.join(map(repr, PLATFORMS))})", name="platform"),
        UniqueConstraint("platform", "external_id"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("ibx"))
    platform: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(100), unique=True)
    # The id webhooks name it by: WhatsApp's phone number id, the Page id, or the
    # Instagram professional account id; TikTok: the shop's channel id.
    external_id: Mapped[str] = mapped_column(String(64))
    # WhatsApp: the WhatsApp Business Account (its templates). Instagram: the Page it is
    # linked to (messages are sent through the Page).
    business_id: Mapped[str | None] = mapped_column(String(64))
    # Messenger and Instagram: the Meta app may tag a person's replies HUMAN_AGENT (up to
    # 7 days after the person's last message; Meta grants this permission on review).
    human_agent: Mapped[bool] = mapped_column(Boolean, default=False)
    # Where the platform's API lives: the real one, or a local simulator.
    base_url: Mapped[str] = mapped_column(String(500))
    # Fernet token of the JSON credentials (access token, app secret, verify token).
    credentials_encrypted: Mapped[str] = mapped_column(Text, default="")
    # WhatsApp: the Meta channel whose catalog is linked to this number (product messages
    # name its catalog and its items). TikTok: the shop's channel (its credentials, its
    # products).
    catalog_channel_id: Mapped[str | None] = mapped_column(
        ForeignKey("channels.id", ondelete="SET NULL")
    )
    # The merchant's automation rules (inbox/automation.py: Rules), edited as data.
    automation: Mapped[dict[str, Any]] = mapped_column(JSONType(), default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MessageTemplate(Base):
    """A message template as the platform approved it (or not): the only thing that may be
    sent outside the reply window."""

    __tablename__ = "inbox_templates"
    __table_args__ = (UniqueConstraint("account_id", "name", "language"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("tpl"))
    account_id: Mapped[str] = mapped_column(ForeignKey("inbox_accounts.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(512))
    language: Mapped[str] = mapped_column(String(16))
    # The platform's word: APPROVED, PENDING, REJECTED, PAUSED, DISABLED...
    status: Mapped[str] = mapped_column(String(24))
    category: Mapped[str | None] = mapped_column(String(24))
    components: Mapped[list[Any]] = mapped_column(JSONType(), default=list)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Conversation(Base):
    """One thread per (account, person on the platform)."""

    __tablename__ = "inbox_conversations"
    __table_args__ = (
        CheckConstraint(f"status IN {CONVERSATION_STATUSES}", name="status"),
        UniqueConstraint("account_id", "contact_id_hash"),
        Index("ix_inbox_conversations_status_last", "status", "last_message_at"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("cnv"))
    account_id: Mapped[str] = mapped_column(ForeignKey("inbox_accounts.id", ondelete="CASCADE"))
    # The person's id on the platform (WhatsApp: their number, digits only) and name,
    # encrypted at rest: the conversation is found (and unique) by the id's keyed hash.
    contact_id: Mapped[str] = mapped_column(Encrypted())
    contact_id_hash: Mapped[str] = mapped_column(String(64))
    contact_name: Mapped[str | None] = mapped_column(Encrypted())
    # E.164, when the platform id is a phone number: how orders and customers are found,
    # through its keyed hash (name and phone are encrypted at rest, searched by the keyed
    # hashes of their words and of the number's ends).
    phone: Mapped[str | None] = mapped_column(Encrypted())
    phone_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    search_terms: Mapped[str | None] = mapped_column(Text)
    customer_id: Mapped[str | None] = mapped_column(
        ForeignKey("customers.id", ondelete="SET NULL"), index=True
    )
    status: Mapped[str] = mapped_column(String(16), default="open")
    assignee: Mapped[str | None] = mapped_column(String(100))
    unread: Mapped[int] = mapped_column(Integer, default=0)
    # The person's last message: the platform's reply window runs from it.
    last_inbound_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_message_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Marketing on this channel: given when, how (the wording or form the person agreed
    # to), and withdrawn when (an opt-out keyword such as STOP takes effect at once).
    marketing_consent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    marketing_consent_source: Mapped[str | None] = mapped_column(String(255))
    marketing_opt_out_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When the merchant first answered (first-response time).
    first_reply_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Since when the person has been waiting for an answer (their message after the
    # merchant's last reply); None when nobody is waiting. The SLA timers run from it.
    waiting_since: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    # When the current spell began (the first message, or the one that reopened it):
    # the resolution timer runs from it until ``resolved_at``.
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Satisfaction: asked after resolution, answered 1-5, credited to the assignee then.
    csat_asked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    csat_score: Mapped[int | None] = mapped_column(Integer)
    csat_agent: Mapped[str | None] = mapped_column(String(100))
    # The last automatic away message (one per closed spell, not one per message).
    away_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @validates("contact_id")
    def _hash_contact(self, _: str, value: str) -> str:
        self.contact_id_hash = value_key(value)
        return value

    @validates("contact_name", "phone")
    def _search_contact(self, key: str, value: str | None) -> str | None:
        found = {"contact_name": self.contact_name, "phone": self.phone}
        found[key] = value
        self.search_terms = contact_terms(found["contact_name"], found["phone"])
        if key == "phone":
            self.phone_hash = value_key(value)
        return value


def contact_terms(name: str | None, phone: str | None) -> str | None:
    """What a conversation is searched by: its contact's name and number."""
    return search_terms(names=(name,), phones=(phone,))


class Message(Base):
    """A message in or out. Inbound ones are unique per (account, platform message id),
    so a redelivered webhook stores nothing twice."""

    __tablename__ = "inbox_messages"
    __table_args__ = (
        CheckConstraint(f"direction IN {DIRECTIONS}", name="direction"),
        CheckConstraint(f"status IN {MESSAGE_STATUSES}", name="status"),
        UniqueConstraint("account_id", "platform_message_id"),
        Index("ix_inbox_messages_conversation_at", "conversation_id", "at"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("msg"))
    account_id: Mapped[str] = mapped_column(ForeignKey("inbox_accounts.id", ondelete="CASCADE"))
    conversation_id: Mapped[str] = mapped_column(
        ForeignKey("inbox_conversations.id", ondelete="CASCADE")
    )
    direction: Mapped[str] = mapped_column(String(4))
    # The platform's message id (wamid..., mid...) or comment id: known on arrival, or
    # once sent.
    platform_message_id: Mapped[str | None] = mapped_column(String(255))
    # An answer to a comment (public reply or private reply): the comment.
    reply_to_id: Mapped[str | None] = mapped_column(
        ForeignKey("inbox_messages.id", ondelete="SET NULL"), index=True
    )
    # text, template, product, product_list, image, order, interactive, comment,
    # comment_reply, private_reply, story_reply, story_mention, ...
    kind: Mapped[str] = mapped_column(String(32))
    text: Mapped[str | None] = mapped_column(Text)
    # Inbound: the platform's message object; outbound: the request body sent.
    content: Mapped[dict[str, Any]] = mapped_column(JSONType(), default=dict)
    status: Mapped[str] = mapped_column(String(16))
    # Who wrote an outbound message (an agent's name, "automation").
    author: Mapped[str | None] = mapped_column(String(100))
    # The platform's refusal: {"code", "title", "message"}.
    error: Mapped[dict[str, Any] | None] = mapped_column(JSONType())
    # Inbound: when the person sent it; outbound: when it was queued.
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    status_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ConversationLabel(Base):
    """A label the team put on a conversation ("vip", "return", "wholesale")."""

    __tablename__ = "inbox_conversation_labels"

    conversation_id: Mapped[str] = mapped_column(
        ForeignKey("inbox_conversations.id", ondelete="CASCADE"), primary_key=True
    )
    label: Mapped[str] = mapped_column(String(50), primary_key=True, index=True)


class CannedReply(Base):
    """A saved answer with variables ({name}, {order}, {order_status}, {tracking}) filled
    in from the conversation when it is sent."""

    __tablename__ = "inbox_canned_replies"

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("cnd"))
    name: Mapped[str] = mapped_column(String(100), unique=True)
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
