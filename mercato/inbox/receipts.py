"""Read receipts: when the team reads a conversation, the person sees it read on their
platform: WhatsApp's blue ticks on their latest message (and those before it), Messenger's
and Instagram's ``mark_seen``, TikTok Shop's Read Message. Sent by the worker, once per
reading; a refusal is logged, never retried (docs/platforms/whatsapp.md, messenger.md
and tiktok.md, "Read receipts")."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from mercato import jobs
from mercato.channels.http import PlatformUnavailable
from mercato.channels.meta.graph import GraphError
from mercato.channels.tiktok.client import TikTokError
from mercato.db import Sessions, transaction, utcnow
from mercato.inbox import accounts
from mercato.inbox.models import COMMENT_KINDS, Conversation, Message

log = logging.getLogger(__name__)

JOB = "inbox.send_read_receipt"
# WhatsApp takes read receipts for messages received in the last 30 days.
WHATSAPP_WITHIN = timedelta(days=30)


def queue(session: Session, conversation: Conversation) -> None:
    """In the caller's transaction: the receipt follows the reading, or neither happens."""
    jobs.enqueue(session, JOB, {"conversation_id": conversation.id})


def send(sessions: Sessions, conversation_id: str) -> str:
    """The platform told (no transaction open meanwhile); what came of it."""
    with transaction(sessions.read) as session:
        conversation = session.get(Conversation, conversation_id)
        if conversation is None:
            return "gone"
        latest = session.scalars(
            select(Message)
            .where(Message.conversation_id == conversation.id, Message.direction == "in")
            .order_by(Message.at.desc(), Message.id.desc())  # the thread's own order
            .limit(1)
        ).first()
        # A comment is read in public; there is no receipt to give.
        if latest is None or latest.kind in COMMENT_KINDS or not latest.platform_message_id:
            return "nothing to mark"
        account = accounts.get_account(session, conversation.account_id)
        platform, contact, wamid = (
            account.platform,
            conversation.contact_id,
            latest.platform_message_id,
        )
        if platform == "whatsapp" and utcnow() - latest.at > WHATSAPP_WITHIN:
            return "too old"
        client = accounts.client(session, account, sessions)
    try:
        with client:
            if platform == "whatsapp":
                client.mark_read(wamid)
            elif platform == "tiktok":
                client.mark_read(contact)
            else:
                client.mark_seen(contact)
    except PlatformUnavailable:  # 429/5xx after the client's retries: the job retries
        raise
    except (GraphError, TikTokError) as exc:
        log.warning("read receipt refused by %s for %s: %s", platform, conversation_id, exc)
        return "refused"
    return "marked"
