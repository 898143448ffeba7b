"""WhatsApp Cloud API webhooks (docs/platforms/whatsapp.md §2): the ``messages`` field
parsed into inbound messages and delivery statuses (the signature check is Meta's, in
``channels.meta.webhooks``).

Meta batches notifications and redelivers them, in any order: callers loop over what
``parse`` returns and deduplicate on ``message_id`` (and on message id + status)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from mercato.channels.messaging import InboundMessage, StatusUpdate

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
    for e, entry in enumerate(_list(payload, "entry", "")):
        where = f"entry[{e}]"
        for c, change in enumerate(_list(_obj(entry, where), "changes", where)):
            at = f"{where}.changes[{c}]"
            if _obj(change, at).get("field") != FIELD:
                continue
            value = _obj(change.get("value"), f"{at}.value")
            phone_number_id = _str(
                _obj(value.get("metadata"), f"{at}.value.metadata"),
                "phone_number_id",
                f"{at}.value.metadata",
            )
            names = _profile_names(value, f"{at}.value")
            for m, message in enumerate(_list(value, "messages", f"{at}.value", optional=True)):
                messages.append(
                    _message(message, f"{at}.value.messages[{m}]", phone_number_id, names)
                )
            for s, status in enumerate(_list(value, "statuses", f"{at}.value", optional=True)):
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
    message = _obj(message, where)
    wa_id = _str(message, "from", where)
    context = message.get("context")
    return InboundMessage(
        account_ref=phone_number_id,
        contact_id=wa_id,
        contact_name=names.get(wa_id),
        phone=f"+{wa_id}",
        message_id=_str(message, "id", where),
        sent_at=_time(message, where),
        kind=_str(message, "type", where),
        text=message_text(message),
        content=message,
        reply_to=context.get("id") if isinstance(context, dict) else None,
    )


def _status(status: Any, where: str, phone_number_id: str) -> StatusUpdate:
    status = _obj(status, where)
    errors = status.get("errors") or []
    if not isinstance(errors, list) or not all(isinstance(e, dict) for e in errors):
        raise ValueError(f"{where}.errors: not a list of objects")
    return StatusUpdate(
        account_ref=phone_number_id,
        message_id=_str(status, "id", where),
        contact_id=_str(status, "recipient_id", where),
        status=_str(status, "status", where),
        at=_time(status, where),
        errors=tuple(errors),
    )


def _profile_names(value: dict, where: str) -> dict[str, str]:
    names = {}
    for n, contact in enumerate(_list(value, "contacts", where, optional=True)):
        contact = _obj(contact, f"{where}.contacts[{n}]")
        profile = contact.get("profile")
        if isinstance(profile, dict) and isinstance(contact.get("wa_id"), str):
            names[contact["wa_id"]] = profile.get("name")
    return names


def _obj(value: Any, where: str) -> dict:
    if not isinstance(value, dict):
        raise ValueError(f"{where or 'payload'}: not an object")
    return value


def _list(parent: dict, key: str, where: str, optional: bool = False) -> list:
    value = parent.get(key)
    if value is None and optional:
        return []
    if not isinstance(value, list):
        raise ValueError(f"{where + '.' if where else ''}{key}: missing or not a list")
    return value


def _str(parent: dict, key: str, where: str) -> str:
    value = parent.get(key)
    if not isinstance(value, str) or not value:
        raise ValueError(f"{where}.{key}: missing or not a string")
    return value


def _time(parent: dict, where: str) -> datetime:
    """Unix seconds, sent as a string (an integer is taken too)."""
    value = parent.get("timestamp")
    if isinstance(value, bool) or not isinstance(value, (str, int)) or not str(value).isdigit():
        raise ValueError(f"{where}.timestamp: missing or not unix seconds")
    return datetime.fromtimestamp(int(value), UTC)
