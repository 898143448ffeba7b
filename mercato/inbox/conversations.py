"""Reading and changing conversations: the list (latest activity first), one thread with
the person's orders beside it, status, assignee and read marks."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import delete, func, or_, select, tuple_
from sqlalchemy.orm import Session

from mercato import events
from mercato.crypto import matching_terms, value_key
from mercato.db import utcnow
from mercato.errors import FieldError, ValidationFailed
from mercato.inbox import accounts, automation, consent, receipts, records, windows
from mercato.inbox.models import (
    Conversation,
    ConversationLabel,
    InboxAccount,
    Message,
    MessageTemplate,
)
from mercato.inbox.records import conversation_changed
from mercato.inbox.schemas import ConversationUpdate
from mercato.orders.models import Order
from mercato.pagination import MAX_PAGE_SIZE, Page

THREAD_MESSAGES = 50
THREAD_ORDERS = 10


@dataclass
class Shown:
    """A conversation as the API shows it: with its platform, reply window, labels and
    service-level timer."""

    conversation: Conversation
    account: InboxAccount
    labels: list[str] = field(default_factory=list, kw_only=True)
    # The latest message, when the list was asked for it (the dashboard's excerpt).
    last_message: Message | None = field(default=None, kw_only=True)

    def __getattr__(self, name):
        return getattr(self.conversation, name)

    @property
    def platform(self) -> str:
        return self.account.platform

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
        """Meta granted the account's app the Human Agent permission (Messenger,
        Instagram): a person's reply may go until then."""
        until = windows.human_agent_until(
            self.platform, self.conversation.last_inbound_at, self.account.human_agent
        )
        return until if until is not None and until > utcnow() else None

    @property
    def overdue(self) -> bool:
        """Waiting longer than the account's first-response target."""
        target = (self.account.automation or {}).get("first_response_minutes")
        waiting = self.conversation.waiting_since
        return bool(target and waiting and utcnow() - waiting > timedelta(minutes=target))

    @property
    def resolution_due_at(self) -> datetime | None:
        """When the account's resolution target says this spell should be resolved by
        (None: no target, or already resolved)."""
        target = (self.account.automation or {}).get("resolution_minutes")
        opened = self.conversation.opened_at
        if not target or opened is None or self.conversation.status == "resolved":
            return None
        return opened + timedelta(minutes=target)

    @property
    def resolution_overdue(self) -> bool:
        due = self.resolution_due_at
        return due is not None and utcnow() > due


@dataclass
class Thread(Shown):
    messages: list[Message] = field(kw_only=True)
    earlier: bool = field(default=False, kw_only=True)
    orders: list[Order] = field(kw_only=True)
    templates: list[MessageTemplate] = field(kw_only=True)


def _accounts(session: Session) -> dict[str, InboxAccount]:
    return {a.id: a for a in session.scalars(select(InboxAccount))}


def labels_of(session: Session, conversation_ids: list[str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    if conversation_ids:
        rows = session.execute(
            select(ConversationLabel.conversation_id, ConversationLabel.label)
            .where(ConversationLabel.conversation_id.in_(conversation_ids))
            .order_by(ConversationLabel.label)
        )
        for conversation_id, label in rows:
            found.setdefault(conversation_id, []).append(label)
    return found


def shown(session: Session, conversation: Conversation) -> Shown:
    account = accounts.get_account(session, conversation.account_id)
    labels = labels_of(session, [conversation.id]).get(conversation.id, [])
    return Shown(conversation, account, labels=labels)


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
    label: str | None = None,
    waiting: bool | None = None,
    q: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
    last_message: bool = False,
) -> Page:
    """Latest activity first; with ``last_message``, each with its latest message. ``q``
    finds the words in the person's name, number or id, or in any message."""
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
    if label:
        query = query.where(
            select(ConversationLabel.label)
            .where(
                ConversationLabel.conversation_id == Conversation.id,
                ConversationLabel.label == label,
            )
            .exists()
        )
    if waiting is not None:
        query = query.where(
            Conversation.waiting_since.is_not(None)
            if waiting
            else Conversation.waiting_since.is_(None)
        )
    if q and q.strip():
        words = q.strip()
        query = query.where(
            or_(
                # Name and number are encrypted: found whole, by whole words, or by the
                # number's last digits.
                matching_terms(Conversation.search_terms, words),
                Conversation.contact_id_hash == value_key(words),
                select(Message.id)
                .where(
                    Message.conversation_id == Conversation.id,
                    Message.text.icontains(words, autoescape=True),
                )
                .exists(),
            )
        )
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
    known = _accounts(session)
    more = len(rows) > limit
    rows = rows[:limit]
    latest = _latest_messages(session, [c.id for c in rows]) if last_message else {}
    labels = labels_of(session, [c.id for c in rows])
    return Page(
        [
            Shown(
                c, known[c.account_id], labels=labels.get(c.id, []), last_message=latest.get(c.id)
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


def thread(session: Session, conversation_id: str, before: str | None = None) -> Thread:
    """The latest messages (oldest first), or those just before the message ``before``;
    ``earlier`` says whether older ones remain."""
    conversation = records.conversation(session, conversation_id)
    account = accounts.get_account(session, conversation.account_id)
    query = select(Message).where(Message.conversation_id == conversation.id)
    if before:
        mark = session.get(Message, before)
        if mark is None or mark.conversation_id != conversation.id:
            raise ValidationFailed(
                "No such message in this conversation.",
                [FieldError(("query", "before"), "not a message of this conversation")],
            )
        query = query.where(tuple_(Message.at, Message.id) < (mark.at, mark.id))
    latest = list(
        session.scalars(
            query.order_by(Message.at.desc(), Message.id.desc()).limit(THREAD_MESSAGES + 1)
        )
    )
    earlier = len(latest) > THREAD_MESSAGES
    latest = latest[:THREAD_MESSAGES]
    orders = records.orders_of(session, conversation, THREAD_ORDERS)
    approved = [t for t in accounts.templates(session, account.id) if t.status == "APPROVED"]
    return Thread(
        conversation,
        account,
        labels=labels_of(session, [conversation.id]).get(conversation.id, []),
        messages=latest[::-1],
        earlier=earlier,
        orders=orders,
        templates=approved,
    )


def update(session: Session, conversation_id: str, data: ConversationUpdate) -> Shown:
    conversation = records.conversation(session, conversation_id, lock=True)
    now = utcnow()
    changed = False
    resolved = False
    if data.status is not None and data.status != conversation.status:
        if conversation.status == "resolved":  # reopened: a new spell, a new timer
            conversation.opened_at = now
        conversation.status = data.status
        conversation.resolved_at = now if data.status == "resolved" else None
        resolved = data.status == "resolved"
        if resolved:  # nobody is left waiting for an answer
            conversation.waiting_since = None
        changed = True
    if "assignee" in data.model_fields_set and data.assignee != conversation.assignee:
        conversation.assignee = data.assignee or None
        changed = True
    if data.labels is not None:
        changed = _set_labels(session, conversation, data.labels) or changed
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
        receipts.queue(session, conversation)
    return shown(session, conversation)


def _set_labels(session: Session, conversation: Conversation, labels: list[str]) -> bool:
    """The conversation's labels become exactly ``labels``; whether that changed them."""
    wanted = sorted({label.strip().lower() for label in labels})
    if wanted == labels_of(session, [conversation.id]).get(conversation.id, []):
        return False
    session.execute(
        delete(ConversationLabel).where(ConversationLabel.conversation_id == conversation.id)
    )
    session.add_all(ConversationLabel(conversation_id=conversation.id, label=x) for x in wanted)
    session.flush()
    return True


def labels_in_use(session: Session) -> list[str]:
    """Every label on a conversation, for the filters."""
    return list(
        session.scalars(
            select(ConversationLabel.label).distinct().order_by(ConversationLabel.label)
        )
    )
