"""TikTok Shop's buyer chats, read on a schedule (TikTok pushes no chat webhook,
docs/platforms/tiktok.md "Buyer chats"): the conversation list, latest first, until a page
holds nothing new; the messages of each conversation with something new, newest first,
until one already stored. No transaction is open while TikTok answers."""

from __future__ import annotations

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from mercato.channels.tiktok import chat
from mercato.db import Sessions, transaction
from mercato.inbox import accounts, receiving
from mercato.inbox.models import Message

JOB = "inbox.poll_chats"
# A bounded read per run: a backlog larger than this is read over the next runs.
MAX_CONVERSATION_PAGES = 5
MAX_MESSAGE_PAGES = 5


def _stored(session: Session, account_id: str, ids: list[str]) -> set[str]:
    if not ids:
        return set()
    return set(
        session.scalars(
            select(Message.platform_message_id).where(
                tuple_(Message.account_id, Message.platform_message_id).in_(
                    [(account_id, i) for i in ids]
                )
            )
        )
    )


def poll(sessions: Sessions, account_id: str) -> receiving.Receipt:
    """Read and store what is new in one TikTok Shop account's chats."""
    with transaction(sessions.read) as session:
        account = accounts.get_account(session, account_id, "tiktok")
        client = accounts.client(session, account, sessions)
    new: list = []
    with client:
        token = None
        for _ in range(MAX_CONVERSATION_PAGES):
            conversations, token = client.conversations(token)
            latest = {
                c["id"]: c["latest_message"]["id"]
                for c in conversations
                if isinstance(c.get("latest_message"), dict) and c.get("id")
            }
            with transaction(sessions.read) as session:
                known = _stored(session, account_id, list(latest.values()))
            changed = [c for c in conversations if latest.get(c.get("id")) not in known]
            for conversation in changed:
                new += _new_messages(sessions, client, account_id, conversation)
            # Latest activity first: a page with nothing new means the rest is read.
            if not changed or not token:
                break
    with transaction(sessions.write) as session:
        account = accounts.get_account(session, account_id, "tiktok")
        return receiving.store(session, account, new)


def _new_messages(sessions: Sessions, client: chat.ChatClient, account_id: str, conversation):
    found, token = [], None
    for _ in range(MAX_MESSAGE_PAGES):
        page, token = client.messages(conversation["id"], token)
        parsed = [chat.parse(account_id, conversation, m) for m in page]
        parsed = [m for m in parsed if m is not None]
        with transaction(sessions.read) as session:
            known = _stored(session, account_id, [m.message_id for m in parsed])
        found += [m for m in parsed if m.message_id not in known]
        if known or not token:  # reached what was read before
            break
    return found
