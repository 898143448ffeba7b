"""Reading and changing conversations: the list (latest activity first), one thread with
the person's orders beside it, status, assignee and read marks."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, or_, select, tuple_
from sqlalchemy.orm import Session

from mercato import events
from mercato.db import utcnow
from mercato.errors import FieldError, ValidationFailed
from mercato.inbox import accounts, automation, consent, records, windows
from mercato.inbox.models import Conversation, InboxAccount, Message, MessageTemplate
from mercato.inbox.records import conversation_changed
from mercato.inbox.schemas import ConversationUpdate
from mercato.orders.models import Order
from mercato.pagination import MAX_PAGE_SIZE, Page

THREAD_MESSAGES = 50
THREAD_ORDERS = 10


@dataclass
class Shown:
    """A conversation as the API shows it: with its platform and reply window."""

    conversation: Conversation
    platform: str
    # Meta granted the account's app the Human Agent permission (Messenger, Instagram).
    human_agent: bool = field(default=False, kw_only=True)
    # The latest message, when the list was asked for it (the dashboard's excerpt).
    last_message: Message | None = field(default=None, kw_only=True)

    def __getattr__(self, name):
        return getattr(self.conversation, name)

    @property
    def window_closes_at(self) -> datetime | None:
        closes = windows.closes_at(self.platform, self.conversation.last_inbound_at)
        return closes if closes is not None and closes > utcnow() else None

    @property
    def reply_open(self) -> bool:
        """A free-form reply may be sent now (by a person, at least)."""
        return bool(
            self.window_closes_at
            or self.human_agent_until
            or windows.WINDOWS[self.platform].free_form is None
        )

    @property
    def human_agent_until(self) -> datetime | None:
        until = windows.human_agent_until(
            self.platform, self.conversation.last_inbound_at, self.human_agent
        )
        return until if until is not None and until > utcnow() else None


@dataclass
class Thread(Shown):
    messages: list[Message]
    orders: list[Order]
    templates: list[MessageTemplate]


def _platforms(session: Session) -> dict[str, tuple[str, bool]]:
    """account id -> (platform, human agent permitted)."""
    rows = session.execute(select(InboxAccount.id, InboxAccount.platform, InboxAccount.human_agent))
    return {account_id: (platform, human) for account_id, platform, human in rows}


def shown(conversation: Conversation, account: InboxAccount, **more) -> Shown:
    return Shown(conversation, account.platform, human_agent=account.human_agent, **more)


def _encode(conversation: Conversation) -> str:
    text = f"{conversation.last_message_at.isoformat()}|{conversation.id}"
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _decode(cursor: str) -> tuple[datetime, str]:
    try:
        at, _, last_id = (
            base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode().partition("|")
        )
        return datetime.fromisoformat(at), last_id
    except ValueError:
        raise ValidationFailed(
            "The cursor is not one this API gave out.",
            [FieldError(("query", "cursor"), "invalid cursor")],
        ) from None


def list_conversations(
    session: Session,
    *,
    status: str | None = None,
    account_id: str | None = None,
    assignee: str | None = None,
    unread: bool | None = None,
    cursor: str | None = None,
    limit: int = 50,
    last_message: bool = False,
) -> Page:
    """Latest activity first; with ``last_message``, each with its latest message."""
    limit = max(1, min(limit, MAX_PAGE_SIZE))
    query = select(Conversation)
    if status:
        query = query.where(Conversation.status == status)
    if account_id:
        query = query.where(Conversation.account_id == account_id)
    if assignee:
        query = query.where(Conversation.assignee == assignee)
    if unread is not None:
        query = query.where(Conversation.unread > 0 if unread else Conversation.unread == 0)
    if cursor:
        at, last_id = _decode(cursor)
        query = query.where(tuple_(Conversation.last_message_at, Conversation.id) < (at, last_id))
    rows = list(
        session.scalars(
            query.order_by(Conversation.last_message_at.desc(), Conversation.id.desc()).limit(
                limit + 1
            )
        )
    )
    platforms = _platforms(session)
    more = len(rows) > limit
    rows = rows[:limit]
    latest = _latest_messages(session, [c.id for c in rows]) if last_message else {}
    return Page(
        [
            Shown(
                c,
                platforms[c.account_id][0],
                human_agent=platforms[c.account_id][1],
                last_message=latest.get(c.id),
            )
            for c in rows
        ],
        _encode(rows[-1]) if more and rows else None,
    )


def _latest_messages(session: Session, conversation_ids: list[str]) -> dict[str, Message]:
    """conversation id -> its latest message, in one query."""
    if not conversation_ids:
        return {}
    ranked = (
        select(
            Message.id,
            func.row_number()
            .over(
                partition_by=Message.conversation_id,
                order_by=(Message.at.desc(), Message.id.desc()),
            )
            .label("rank"),
        )
        .where(Message.conversation_id.in_(conversation_ids))
        .subquery()
    )
    found = session.scalars(
        select(Message).join(ranked, ranked.c.id == Message.id).where(ranked.c.rank == 1)
    )
    return {m.conversation_id: m for m in found}


def unread_total(session: Session) -> int:
    """How many conversations have messages nobody has read."""
    return (
        session.scalar(
            select(func.count()).select_from(Conversation).where(Conversation.unread > 0)
        )
        or 0
    )


def thread(session: Session, conversation_id: str) -> Thread:
    conversation = records.conversation(session, conversation_id)
    account = accounts.get_account(session, conversation.account_id)
    latest = list(
        session.scalars(
            select(Message)
            .where(Message.conversation_id == conversation.id)
            .order_by(Message.at.desc(), Message.id.desc())
            .limit(THREAD_MESSAGES)
        )
    )
    # The person's orders: by their number, and those the conversation's links led to.
    theirs = Order.attribution["conversation_id"].as_string() == conversation.id
    if conversation.phone:
        theirs = or_(Order.customer_phone == conversation.phone, theirs)
    orders = list(
        session.scalars(
            select(Order).where(theirs).order_by(Order.placed_at.desc()).limit(THREAD_ORDERS)
        )
    )
    approved = [t for t in accounts.templates(session, account.id) if t.status == "APPROVED"]
    return Thread(
        conversation,
        account.platform,
        latest[::-1],
        orders,
        approved,
        human_agent=account.human_agent,
    )


def update(session: Session, conversation_id: str, data: ConversationUpdate) -> Shown:
    conversation = records.conversation(session, conversation_id, lock=True)
    now = utcnow()
    changed = False
    resolved = False
    if data.status is not None and data.status != conversation.status:
        conversation.status = data.status
        conversation.resolved_at = now if data.status == "resolved" else None
        resolved = data.status == "resolved"
        changed = True
    if "assignee" in data.model_fields_set and data.assignee != conversation.assignee:
        conversation.assignee = data.assignee or None
        changed = True
    was_unread = conversation.unread > 0
    if data.read:
        conversation.unread = 0
    if data.marketing_consent is not None:
        consent.record(
            session, conversation, data.marketing_consent, data.consent_source or "merchant", now
        )
    conversation.updated_at = now
    session.flush()
    if resolved:
        automation.ask_satisfaction(session, conversation, now)
    if changed:
        events.record(
            session, "conversation.updated", conversation_changed(conversation), key=conversation.id
        )
    if data.read and was_unread:  # other open pages show the count drop
        events.record(
            session, "conversation.read", conversation_changed(conversation), key=conversation.id
        )
    return shown(conversation, accounts.get_account(session, conversation.account_id))
