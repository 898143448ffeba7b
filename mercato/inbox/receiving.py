"""What the platform's signed webhooks bring: messages stored once per platform message
id, in their conversation (made on the person's first message), and delivery statuses
that only move a message forward (they arrive duplicated and out of order)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from mercato import events, jobs
from mercato.channels.whatsapp import webhooks
from mercato.customers.models import Customer
from mercato.db import new_id, utcnow
from mercato.errors import MercatoError, Unauthorized
from mercato.inbox import accounts, automation, consent
from mercato.inbox.models import Conversation, Message
from mercato.inbox.records import conversation_changed, message_changed
from mercato.inbox.schemas import MessageChanged
from mercato.inserts import insert_or_ignore

# How far each status moves a message; "failed" ends it unless it was already read.
PROGRESS = {"queued": 0, "sent": 1, "delivered": 2, "read": 3}


class BadSignature(Unauthorized):
    slug = "bad-signature"
    title = "Signature missing or invalid"


class MalformedPayload(MercatoError):
    slug = "malformed-payload"
    title = "Malformed payload"
    status = 400


@dataclass
class Receipt:
    stored: int = 0
    duplicates: int = 0
    statuses: int = 0


def verify_subscription(session: Session, account_id: str, params: Mapping[str, str]) -> str:
    """Meta's subscription check: the challenge back when the verify token matches."""
    account = accounts.get_account(session, account_id)
    challenge = webhooks.verify_challenge(params, accounts.credentials(account).verify_token)
    if challenge is None:
        raise BadSignature("The verify token does not match.")
    return challenge


def receive(
    session: Session,
    account_id: str,
    raw: bytes,
    headers: Mapping[str, str],
    now: datetime | None = None,
) -> Receipt:
    """Verify the signature on the raw bytes, then store what the notification carries."""
    account = accounts.get_account(session, account_id)
    secret = accounts.credentials(account).app_secret
    if not webhooks.verify_signature(secret, raw, headers.get(webhooks.SIGNATURE_HEADER)):
        raise BadSignature("The X-Hub-Signature-256 header does not match the body.")
    try:
        inbound, statuses = webhooks.parse(orjson.loads(raw))
    except (orjson.JSONDecodeError, ValueError) as exc:
        raise MalformedPayload(f"The notification cannot be read: {exc}") from None
    now = now or utcnow()
    receipt = Receipt()
    # Another number of the same Meta app is not this account's to store.
    for message in sorted(inbound, key=lambda m: m.sent_at):
        if message.phone_number_id != account.external_id:
            continue
        if _store(session, account, message, now):
            receipt.stored += 1
        else:
            receipt.duplicates += 1
    for status in sorted(statuses, key=lambda s: s.at):
        if status.phone_number_id == account.external_id:
            receipt.statuses += _apply_status(session, account.id, status)
    return receipt


def _conversation(session: Session, account_id: str, message) -> tuple[Conversation, bool]:
    """The person's conversation, locked; made on their first message (concurrent first
    messages agree on one)."""
    made = session.scalar(
        insert_or_ignore(session, Conversation, ("account_id", "contact_id"))
        .values(
            id=new_id("cnv"),
            account_id=account_id,
            contact_id=message.wa_id,
            contact_name=message.profile_name,
            phone=f"+{message.wa_id}",
            status="open",
            unread=0,
            last_message_at=message.sent_at,
            created_at=utcnow(),
            updated_at=utcnow(),
        )
        .returning(Conversation.id)
    )
    conversation = session.scalar(
        select(Conversation)
        .where(Conversation.account_id == account_id, Conversation.contact_id == message.wa_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return conversation, made is not None


def _store(session: Session, account, message, now: datetime) -> bool:
    account_id = account.id
    conversation, new = _conversation(session, account_id, message)
    stored = session.scalar(
        insert_or_ignore(session, Message, ("account_id", "platform_message_id"))
        .values(
            id=new_id("msg"),
            account_id=account_id,
            conversation_id=conversation.id,
            direction="in",
            platform_message_id=message.message_id,
            kind=message.kind,
            text=message.text,
            content=message.content,
            status="received",
            at=message.sent_at,
            status_at=now,
        )
        .returning(Message.id)
    )
    if stored is None:
        return False
    if conversation.customer_id is None and conversation.phone:
        conversation.customer_id = session.scalar(
            select(Customer.id).where(Customer.phone == conversation.phone)
        )
    if message.profile_name:
        conversation.contact_name = message.profile_name
    conversation.unread += 1
    if conversation.last_inbound_at is None or message.sent_at > conversation.last_inbound_at:
        conversation.last_inbound_at = message.sent_at
    conversation.last_message_at = max(conversation.last_message_at, message.sent_at)
    score = automation.rating(conversation, message.text) if message.kind == "text" else None
    if score is not None:  # the answer to the satisfaction question: not a new request
        automation.record_rating(session, conversation, score)
    reopened = conversation.status == "resolved" and score is None
    if reopened:
        conversation.status, conversation.resolved_at = "open", None
    conversation.updated_at = now
    session.flush()
    answer = consent.keyword(message.text) if message.kind == "text" else None
    if answer is not None:
        consent.record(
            session, conversation, answer == "in", f"whatsapp keyword: {message.text}", now
        )
    if new or reopened:
        events.record(
            session,
            "conversation.created" if new else "conversation.reopened",
            conversation_changed(conversation),
            key=conversation.id,
        )
    if score is None and message.kind == "text" and automation.wants(account):
        jobs.enqueue(
            session, automation.JOB, {"message_id": stored}, key=f"inbox:{conversation.id}"
        )
    events.record(
        session,
        "message.received",
        MessageChanged(
            message_id=stored,
            conversation_id=conversation.id,
            account_id=account_id,
            direction="in",
            kind=message.kind,
            status="received",
            text=message.text,
        ),
        key=conversation.id,
    )
    return True


def _apply_status(session: Session, account_id: str, status) -> int:
    """Move an outbound message forward; an older or repeated status changes nothing."""
    message = session.scalar(
        select(Message)
        .where(
            Message.account_id == account_id,
            Message.platform_message_id == status.message_id,
            Message.direction == "out",
        )
        .with_for_update()
    )
    if message is None or not moves_forward(message.status, status.status):
        return 0
    message.status, message.status_at = status.status, status.at
    if status.status == "failed":
        first = status.errors[0] if status.errors else {}
        message.error = {
            "code": first.get("code"),
            "title": first.get("title"),
            "message": first.get("message") or (first.get("error_data") or {}).get("details"),
        }
    session.flush()
    events.record(
        session, f"message.{status.status}", message_changed(message), key=message.conversation_id
    )
    return 1


def moves_forward(current: str, incoming: str) -> bool:
    if current in ("failed", "received"):
        return False
    if incoming == "failed":
        return current != "read"
    return PROGRESS.get(incoming, -1) > PROGRESS.get(current, -1)
