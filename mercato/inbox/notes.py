"""Internal notes: the team's words in a thread, beside the messages, never sent."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from mercato import events
from mercato.db import utcnow
from mercato.inbox import records
from mercato.inbox.models import Message
from mercato.inbox.records import message_changed
from mercato.inbox.schemas import NoteCreate


def add(session: Session, conversation_id: str, data: NoteCreate, now: datetime | None = None):
    now = now or utcnow()
    conversation = records.conversation(session, conversation_id, lock=True)
    note = Message(
        account_id=conversation.account_id,
        conversation_id=conversation.id,
        direction="note",
        kind="note",
        text=data.text,
        status="received",
        author=data.author,
        at=now,
        status_at=now,
    )
    session.add(note)
    conversation.updated_at = now
    session.flush()
    events.record(session, "message.noted", message_changed(note), key=conversation.id)
    return note
