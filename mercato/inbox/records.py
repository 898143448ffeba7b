"""The inbox's rows by id, and the payloads of the events their changes record."""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from mercato.crypto import value_key
from mercato.customers.models import Customer
from mercato.errors import NotFound
from mercato.inbox.models import Conversation, Message
from mercato.inbox.schemas import ConversationChanged, MessageChanged
from mercato.orders.models import Order


def conversation(session: Session, conversation_id: str, *, lock: bool = False) -> Conversation:
    query = select(Conversation).where(Conversation.id == conversation_id)
    if lock:
        query = query.with_for_update()
    found = session.scalar(query)
    if found is None:
        raise NotFound(f"No conversation {conversation_id!r}.")
    return found


def message(session: Session, message_id: str) -> Message:
    found = session.get(Message, message_id)
    if found is None:
        raise NotFound(f"No message {message_id!r}.")
    return found


def orders_of(session: Session, conversation: Conversation, limit: int) -> list[Order]:
    """The person's orders, latest first: their profile's (customers.identities), by
    their number, and those the conversation's links led to."""
    theirs = Order.attribution["conversation_id"].as_string() == conversation.id
    if conversation.phone:
        theirs = or_(Order.customer_phone_hash == value_key(conversation.phone), theirs)
    if conversation.customer_id:
        profile = select(Customer.profile_id).where(Customer.id == conversation.customer_id)
        rows = select(Customer.id).where(Customer.profile_id == profile.scalar_subquery())
        theirs = or_(Order.customer_id.in_(rows), theirs)
    return list(
        session.scalars(select(Order).where(theirs).order_by(Order.placed_at.desc()).limit(limit))
    )


def conversation_changed(conversation: Conversation) -> ConversationChanged:
    return ConversationChanged(
        conversation_id=conversation.id,
        account_id=conversation.account_id,
        contact_id=conversation.contact_id,
        status=conversation.status,
        assignee=conversation.assignee,
    )


def message_changed(message: Message) -> MessageChanged:
    return MessageChanged(
        message_id=message.id,
        conversation_id=message.conversation_id,
        account_id=message.account_id,
        direction=message.direction,
        kind=message.kind,
        status=message.status,
        text=message.text,
        error=message.error,
    )
