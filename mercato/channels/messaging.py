"""What a messaging platform's webhooks carry, in one shape for every platform
(WhatsApp, Messenger, Instagram): the inbox stores these, whatever sent them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


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


# Reading a webhook's JSON: each helper names the path of what is missing or malformed.


def json_object(value: Any, where: str) -> dict:
    if not isinstance(value, dict):
        raise ValueError(f"{where or 'payload'}: not an object")
    return value


def json_list(parent: dict, key: str, where: str, optional: bool = False) -> list:
    value = parent.get(key)
    if value is None and optional:
        return []
    if not isinstance(value, list):
        raise ValueError(f"{where + '.' if where else ''}{key}: missing or not a list")
    return value


def json_string(parent: dict, key: str, where: str, *, numbers: bool = False) -> str:
    """A non-empty string (``numbers``: an integer id is taken as its digits)."""
    value = parent.get(key)
    if numbers and isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value:
        raise ValueError(f"{where}.{key}: missing or not a string")
    return value
