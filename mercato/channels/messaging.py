"""What a messaging platform's webhooks carry, in one shape for every platform
(WhatsApp, Messenger, Instagram): the inbox stores these, whatever sent them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class InboundMessage:
    # The platform's id of the number, Page or Instagram account it reached.
    account_ref: str
    # The person's id on the platform (WhatsApp number, Page-scoped or Instagram-scoped id).
    contact_id: str
    contact_name: str | None
    # E.164, when the person's id is a phone number.
    phone: str | None
    message_id: str
    sent_at: datetime
    # text, image, order, comment, story_mention, ...
    kind: str
    text: str | None
    # The platform's object, kept whole.
    content: dict
    # The platform id of the message (or comment) this one answers.
    reply_to: str | None = None
    # A message the business sent from another app (Meta's echo): stored as outbound.
    echo: bool = False


@dataclass(frozen=True)
class StatusUpdate:
    account_ref: str
    contact_id: str
    # sent, delivered, read or failed
    status: str
    at: datetime
    # The message it is about; None when it covers every message sent up to ``up_to``.
    message_id: str | None = None
    up_to: datetime | None = None
    errors: tuple[dict, ...] = ()
