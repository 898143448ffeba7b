"""WhatsApp Cloud API webhooks (docs/platforms/whatsapp.md §2): the ``messages`` field
parsed into inbound messages and delivery statuses (the signature check is Meta's, in
``channels.meta.webhooks``).

Meta batches notifications and redelivers them, in any order: callers loop over what
``parse`` returns and deduplicate on ``message_id`` (and on message id + status)."""

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

OBJECT = "whatsapp_business_account"
FIELD = "messages"


def parse(payload: dict) -> tuple[list[InboundMessage], list[StatusUpdate]]:
    """Every message and status in one notification, in the order received. Changes of
    other fields are skipped; a malformed part raises ValueError naming its path."""
    if not isinstance(payload, dict):
        raise ValueError("payload: not a JSON object")
    if payload.get("object") != OBJECT:
        raise ValueError(f"object: {payload.get('object')!r} is not {OBJECT!r}")
    messages: list[InboundMessage] = []
    statuses: list[StatusUpdate] = []
    for e, entry in enumerate(json_list(payload, "entry", "")):
        where = f"entry[{e}]"
        for c, change in enumerate(json_list(json_object(entry, where), "changes", where)):
            at = f"{where}.changes[{c}]"
            if json_object(change, at).get("field") != FIELD:
                continue
            value = json_object(change.get("value"), f"{at}.value")
            phone_number_id = json_string(
                json_object(value.get("metadata"), f"{at}.value.metadata"),
                "phone_number_id",
                f"{at}.value.metadata",
            )
            names = _profile_names(value, f"{at}.value")
            for m, message in enumerate(json_list(value, "messages", f"{at}.value", optional=True)):
                messages.append(
                    _message(message, f"{at}.value.messages[{m}]", phone_number_id, names)
                )
            for s, status in enumerate(json_list(value, "statuses", f"{at}.value", optional=True)):
                statuses.append(_status(status, f"{at}.value.statuses[{s}]", phone_number_id))
    return messages, statuses


def message_text(message: dict) -> str | None:
    """What a person reads in a message: its text, the title of the button or list row
    tapped, a quick-reply button's text, a media caption or an order's note."""
    kind = message.get("type")
    body = message.get(kind) if isinstance(kind, str) else None
    if not isinstance(body, dict):
        return None
    if kind == "text":
        return body.get("body")
    if kind == "interactive":
        reply = body.get(body.get("type")) if isinstance(body.get("type"), str) else None
        return reply.get("title") if isinstance(reply, dict) else None
    if kind == "button":
        return body.get("text")
    if kind == "order":
        return body.get("text")
    return body.get("caption")


def _message(
    message: Any, where: str, phone_number_id: str, names: dict[str, str]
) -> InboundMessage:
    message = json_object(message, where)
    wa_id = json_string(message, "from", where)
    context = message.get("context")
    return InboundMessage(
        account_ref=phone_number_id,
        contact_id=wa_id,
        contact_name=names.get(wa_id),
        phone=f"+{wa_id}",
        message_id=json_string(message, "id", where),
        sent_at=_time(message, where),
        kind=json_string(message, "type", where),
        text=message_text(message),
        content=message,
        reply_to=context.get("id") if isinstance(context, dict) else None,
    )


def _status(status: Any, where: str, phone_number_id: str) -> StatusUpdate:
    status = json_object(status, where)
    errors = status.get("errors") or []
    if not isinstance(errors, list) or not all(isinstance(e, dict) for e in errors):
        raise ValueError(f"{where}.errors: not a list of objects")
    return StatusUpdate(
        account_ref=phone_number_id,
        message_id=json_string(status, "id", where),
        contact_id=json_string(status, "recipient_id", where),
        status=json_string(status, "status", where),
        at=_time(status, where),
        errors=tuple(errors),
    )


def _profile_names(value: dict, where: str) -> dict[str, str]:
    names = {}
    for n, contact in enumerate(json_list(value, "contacts", where, optional=True)):
        contact = json_object(contact, f"{where}.contacts[{n}]")
        profile = contact.get("profile")
        if isinstance(profile, dict) and isinstance(contact.get("wa_id"), str):
            names[contact["wa_id"]] = profile.get("name")
    return names


def _time(parent: dict, where: str) -> datetime:
    """Unix seconds, sent as a string (an integer is taken too)."""
    value = parent.get("timestamp")
    if isinstance(value, bool) or not isinstance(value, (str, int)) or not str(value).isdigit():
        raise ValueError(f"{where}.timestamp: missing or not unix seconds")
    return datetime.fromtimestamp(int(value), UTC)
