"""Canned replies: saved answers with variables filled in from the conversation when sent
({name}, {order}, {order_status}, {tracking}). A reply naming a variable that does
not exist is refused when it is saved, not when a customer would see it."""

from __future__ import annotations

import string

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mercato.db import utcnow
from mercato.errors import Conflict, FieldError, NotFound, ValidationFailed
from mercato.inbox import records
from mercato.inbox.models import CannedReply, Conversation
from mercato.inbox.schemas import CannedReplyIn
from mercato.orders.models import Fulfillment

VARIABLES = ("name", "order", "order_status", "tracking")


def _checked(data: CannedReplyIn) -> CannedReplyIn:
    try:
        named = [field for _, field, _, _ in string.Formatter().parse(data.text) if field]
    except ValueError as exc:
        raise ValidationFailed(
            "The reply cannot be read.", [FieldError(("text",), f"{exc} (write {{{{ for a brace)")]
        ) from None
    unknown = [f for f in named if f not in VARIABLES]
    if unknown:
        raise ValidationFailed(
            "The reply names variables that do not exist.",
            [FieldError(("text",), f"unknown {', '.join(unknown)}; use {', '.join(VARIABLES)}")],
        )
    return data


def create(session: Session, data: CannedReplyIn) -> CannedReply:
    reply = CannedReply(**_checked(data).model_dump())
    _save(session, reply)
    return reply


def update(session: Session, reply_id: str, data: CannedReplyIn) -> CannedReply:
    reply = get(session, reply_id)
    reply.name, reply.text, reply.updated_at = data.name, _checked(data).text, utcnow()
    _save(session, reply)
    return reply


def _save(session: Session, reply: CannedReply) -> None:
    try:
        with session.begin_nested():
            session.add(reply)
            session.flush()
    except IntegrityError:
        raise Conflict(f"A canned reply named {reply.name!r} exists.") from None


def get(session: Session, reply_id: str) -> CannedReply:
    reply = session.get(CannedReply, reply_id)
    if reply is None:
        raise NotFound(f"No canned reply {reply_id!r}.")
    return reply


def delete(session: Session, reply_id: str) -> None:
    session.delete(get(session, reply_id))
    session.flush()


def list_all(session: Session) -> list[CannedReply]:
    return list(session.scalars(select(CannedReply).order_by(CannedReply.name)))


def render(session: Session, name: str, conversation: Conversation) -> str:
    """The named reply with the conversation's values in place."""
    reply = session.scalar(select(CannedReply).where(CannedReply.name == name))
    if reply is None:
        raise ValidationFailed(
            "No such canned reply.", [FieldError(("canned_reply",), f"no reply named {name!r}")]
        )
    [order] = records.orders_of(session, conversation, 1) or [None]
    tracking = None
    if order is not None:
        tracking = session.scalar(
            select(Fulfillment.tracking_number)
            .where(Fulfillment.order_id == order.id, Fulfillment.tracking_number.is_not(None))
            .order_by(Fulfillment.created_at.desc())
        )
    values = {
        "name": (conversation.contact_name or "there").split(" ")[0],
        "order": f"#{order.number}" if order else "your order",
        "order_status": order.fulfillment_status.replace("_", " ") if order else "",
        "tracking": tracking or "",
    }
    return reply.text.format(**values)
