"""What the platform's signed webhooks bring: messages stored once per platform message
id, in their conversation (made on the person's first message), and delivery statuses
that only move a message forward (they arrive duplicated and out of order).

A burst of notifications is written a batch per transaction (``InboxBatcher``, group
commit, ``mercato.group_commit``): the conversations of the batch in one upsert and one
locked read, its messages in one insert that skips those already stored, its statuses in
one read. Each notification still gets its own answer, or its own refusal (a bad
signature refuses that notification alone; nothing of it is stored).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache

import orjson
from sqlalchemy import and_, bindparam, or_, select, tuple_
from sqlalchemy.orm import Session

from mercato import events, jobs
from mercato.channels.messenger import webhooks as messenger_webhooks
from mercato.channels.meta import webhooks
from mercato.channels.whatsapp import webhooks as whatsapp_webhooks
from mercato.crypto import value_key
from mercato.customers import identities
from mercato.db import among, attach_written, new_id, rows_of, utcnow
from mercato.errors import (
    BadSignature,
    MalformedPayload,
    MercatoError,
    NotFound,
    PayloadTooLarge,
)
from mercato.group_commit import GroupCommit
from mercato.inbox import accounts, automation, consent
from mercato.inbox.models import COMMENT_KINDS, Conversation, InboxAccount, Message
from mercato.inbox.records import conversation_changed, message_changed
from mercato.inserts import insert_or_ignore_many

_CONVERSATION_KEY = ("account_id", "contact_id_hash")
MAX_BODY = 1024 * 1024  # bytes; Meta batches several messages in one notification
# How far each status moves a message; "failed" ends it unless it was already read.
PROGRESS = {"queued": 0, "sent": 1, "delivered": 2, "read": 3}


@dataclass
class Delivery:
    platform: str
    account_id: str
    raw: bytes
    headers: Mapping[str, str]


@dataclass
class Receipt:
    stored: int = 0
    duplicates: int = 0
    statuses: int = 0


@dataclass
class _Read:
    """A verified notification: the messages and statuses for its account."""

    account: InboxAccount
    messages: list = field(default_factory=list)
    statuses: list = field(default_factory=list)


def parse(platform: str, payload: object) -> tuple[list, list]:
    """The messages and statuses of one notification of ``platform``."""
    if platform == "whatsapp":
        return whatsapp_webhooks.parse(payload)
    return messenger_webhooks.parse(payload, platform)


def _posts_webhooks(account: InboxAccount) -> None:
    if account.platform == "tiktok":  # read on a schedule instead (inbox/polling.py)
        raise NotFound("TikTok Shop sends no chat webhooks.")


def verify_subscription(
    session: Session, platform: str, account_id: str, params: Mapping[str, str]
) -> str:
    """Meta's subscription check: the challenge back when the verify token matches."""
    account = accounts.get_account(session, account_id, platform)
    _posts_webhooks(account)
    challenge = webhooks.verify_challenge(params, accounts.credentials(account).verify_token)
    if challenge is None:
        raise BadSignature("The verify token does not match.")
    return challenge


def receive(
    session: Session,
    platform: str,
    account_id: str,
    raw: bytes,
    headers: Mapping[str, str],
    now: datetime | None = None,
) -> Receipt:
    """Verify the signature on the raw bytes, then store what the notification carries."""
    [outcome] = receive_many(session, [Delivery(platform, account_id, raw, headers)], now)
    if isinstance(outcome, MercatoError):
        raise outcome
    return outcome


def _read(session: Session, known: dict[str, InboxAccount], delivery: Delivery) -> _Read:
    PayloadTooLarge.check(len(delivery.raw), MAX_BODY)
    account = known.get(delivery.account_id)
    if account is None:
        account = accounts.get_account(session, delivery.account_id, delivery.platform)
        known[delivery.account_id] = account
    _posts_webhooks(account)
    secret = accounts.credentials(account).app_secret
    signature = delivery.headers.get(webhooks.SIGNATURE_HEADER.lower()) or delivery.headers.get(
        webhooks.SIGNATURE_HEADER
    )
    if not webhooks.verify_signature(secret, delivery.raw, signature):
        raise BadSignature("The X-Hub-Signature-256 header does not match the body.")
    try:
        messages, statuses = parse(account.platform, orjson.loads(delivery.raw))
    except (orjson.JSONDecodeError, ValueError) as exc:
        raise MalformedPayload(f"The notification cannot be read: {exc}") from None
    # Another number or Page of the same Meta app is not this account's to store.
    mine = account.external_id
    return _Read(
        account,
        [m for m in messages if m.account_ref == mine],
        [s for s in statuses if s.account_ref == mine],
    )


def receive_many(
    session: Session, deliveries: list[Delivery], now: datetime | None = None
) -> list[Receipt | MercatoError]:
    """``receive`` for many notifications in one transaction."""
    now = now or utcnow()
    outcomes: list[Receipt | MercatoError] = [Receipt() for _ in deliveries]
    read: dict[int, _Read] = {}
    known: dict[str, InboxAccount] = {}
    for index, delivery in enumerate(deliveries):
        try:
            read[index] = _read(session, known, delivery)
        except MercatoError as refused:
            outcomes[index] = refused
    arrived = sorted(
        ((m.sent_at, index, r.account, m) for index, r in read.items() for m in r.messages),
        key=lambda item: (item[0], item[1]),
    )
    if arrived:
        _store_messages(session, arrived, outcomes, now)
    changes = sorted(
        ((s.at, index, r.account, s) for index, r in read.items() for s in r.statuses),
        key=lambda item: (item[0], item[1]),
    )
    if changes:
        _apply_statuses(session, changes, outcomes)
    return outcomes


def store(
    session: Session, account: InboxAccount, messages: list, now: datetime | None = None
) -> Receipt:
    """Messages read from the platform rather than pushed by it (TikTok Shop's chats):
    stored as a webhook's would be, each once."""
    [receipt] = outcomes = [Receipt()]
    arrived = sorted(((m.sent_at, 0, account, m) for m in messages), key=lambda i: i[0])
    if arrived:
        _store_messages(session, arrived, outcomes, now or utcnow())
    return receipt


def _conversations(
    session: Session, arrived: list, accounts: dict, now: datetime
) -> tuple[dict, set[str]]:
    """The conversations of everyone who wrote, locked, made on a first message
    (concurrent first messages agree on one); and the ids of those just made, their
    messages already taken into them (``_take``).

    A new person's conversation is written as this batch's messages leave it (its
    customer, unread count, reply window): inserted once rather than inserted and then
    updated, an update of indexed columns that writes every index of the row again
    (PostgreSQL's CPU was 0.68 ms per message in a burst of new people). A platform's
    message id is one person's, so a message taken into a new conversation is stored."""
    people: dict[tuple[str, str], list] = {}
    for _, _, account, message in arrived:
        people.setdefault((account.id, message.contact_id), []).append(message)
    # Most people have written before: their conversations are read (and locked) first,
    # and only the others inserted, rather than every one offered to the insert to be
    # skipped. Inserted in key order, so two batches sharing new people never deadlock.
    found = _locked(session, list(people))
    missing = sorted(key for key in people if key not in found)
    if not missing:
        return found, set()
    offered = []
    for account_id, contact_id in missing:
        messages = people[account_id, contact_id]
        conversation = _new_conversation(account_id, messages[0], now)
        for message in _once(messages):  # one delivered twice in the batch is stored once
            _take(conversation, message, now)
        offered.append(conversation)
    _recognise(session, offered, accounts, now)
    made = set(insert_or_ignore_many(session, Conversation, _CONVERSATION_KEY, rows_of(offered)))
    # Those just written are this transaction's, locked by it: kept as written, not read
    # again. A person whose first messages another batch wrote meanwhile is read.
    written = [c for c in offered if c.id in made]
    attach_written(session, written)
    found |= {(c.account_id, c.contact_id): c for c in written}
    meanwhile = [key for key, c in zip(missing, offered, strict=True) if c.id not in made]
    if meanwhile:
        found |= _locked(session, meanwhile)
    return found, made


def _once(messages: list) -> list:
    """The messages without a platform id seen before them (the insert keeps the first)."""
    seen: set[str] = set()
    kept = []
    for message in messages:
        if message.message_id is None or message.message_id not in seen:
            seen.add(message.message_id)
            kept.append(message)
    return kept


def _new_conversation(account_id: str, message, now: datetime) -> Conversation:
    return Conversation(
        id=new_id("cnv"),
        account_id=account_id,
        contact_id=message.contact_id,
        contact_name=message.contact_name,
        phone=message.phone,
        status="open",
        unread=0,
        last_message_at=message.sent_at,
        opened_at=message.sent_at,
        created_at=now,
        updated_at=now,
    )


def _locked(session: Session, keys: list[tuple[str, str]]) -> dict:
    """The conversations of these (account, contact) pairs, locked in one order for every
    writer, read afresh."""
    # One list of hashes per account (a burst is almost always one account's), which the
    # unique index answers, rather than a list of (account, hash) row values.
    hashes: dict[str, set[str]] = {}
    for account_id, contact_id in keys:
        hashes.setdefault(account_id, set()).add(value_key(contact_id))
    params: dict[str, object] = {}
    for n, (account_id, values) in enumerate(sorted(hashes.items())):
        params[f"account{n}"], params[f"hashes{n}"] = account_id, sorted(values)
    postgresql = session.get_bind().dialect.name == "postgresql"
    found = session.scalars(_locked_query(len(hashes), postgresql), params)
    return {(c.account_id, c.contact_id): c for c in found}


@lru_cache(maxsize=16)
def _locked_query(accounts: int, postgresql: bool):
    return (
        select(Conversation)
        .where(
            or_(
                *(
                    and_(
                        Conversation.account_id == bindparam(f"account{n}"),
                        among(Conversation.contact_id_hash, f"hashes{n}", postgresql),
                    )
                    for n in range(accounts)
                )
            )
        )
        .order_by(Conversation.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


def _store_messages(session: Session, arrived: list, outcomes: list, now: datetime) -> None:
    accounts = {account.id: account for _, _, account, _ in arrived}
    conversations, made = _conversations(session, arrived, accounts, now)
    rows = [
        {
            "id": new_id("msg"),
            "account_id": account.id,
            "conversation_id": conversations[(account.id, message.contact_id)].id,
            # An echo is the business's own message, sent from another app.
            "direction": "out" if message.echo else "in",
            "platform_message_id": message.message_id,
            "kind": message.kind,
            "text": message.text,
            "content": message.content,
            "status": "sent" if message.echo else "received",
            "at": message.sent_at,
            "status_at": now,
        }
        for _, _, account, message in arrived
    ]
    stored = set(
        insert_or_ignore_many(session, Message, ("account_id", "platform_message_id"), rows)
    )
    _recognise(session, [c for c in conversations.values() if c.customer_id is None], accounts, now)
    created, to_answer, recorded = set(), [], []
    for (_, index, account, message), row in zip(arrived, rows, strict=True):
        if row["id"] not in stored:
            outcomes[index].duplicates += 1
            continue
        outcomes[index].stored += 1
        conversation = conversations[(account.id, message.contact_id)]
        if conversation.id in made:
            if conversation.id not in created:
                created.add(conversation.id)
                recorded.append(
                    ("conversation.created", conversation_changed(conversation), conversation.id)
                )
        else:
            _take(conversation, message, now)
        if message.echo:
            _echoed(conversation, message, row["id"], recorded)
        elif _arrived(session, account, conversation, message, row["id"], now, recorded):
            to_answer.append(({"message_id": row["id"]}, f"inbox:{conversation.id}"))
    # The batch's events in their order, in two multi-row inserts rather than two objects
    # each for the flush. PostgreSQL, bench/inbox.py --messages 5000, 1 API process, two
    # interleaved pairs at load 1.4-1.8: 436 and 418 acknowledged/s (p99 99 and 111 ms)
    # against 318 and 346/s (p99 135 and 123 ms) with events.record.
    session.flush()  # the events recorded one by one above (ratings, consent) come first
    events.record_many(session, recorded)
    # The automation answers one conversation's messages in their order.
    jobs.enqueue_new(session, automation.JOB, to_answer)


def _recognise(
    session: Session, conversations: list[Conversation], accounts: dict, now: datetime
) -> None:
    """Link each person to their profile (customers.identities): their id on the
    platform and, on WhatsApp, their number, both vouched for by the platform. All of a
    batch's new people in a few statements (a live stream brings hundreds at once)."""
    conversations = sorted(conversations, key=lambda c: c.id)
    observations = []
    for conversation in conversations:
        account = accounts[conversation.account_id]
        claims = [
            identities.Claim(
                "platform", conversation.contact_id, f"{account.platform}:{account.id}", True
            )
        ]
        if phone := identities.normal_phone(conversation.phone):
            claims.append(identities.Claim("phone", phone, verified=True))
        observations.append(
            identities.Observation(
                f"conversation:{conversation.id}", claims, name=conversation.contact_name
            )
        )
    found = identities.resolve_many(session, observations, now) if observations else []
    for conversation, customer_id in zip(conversations, found, strict=True):
        conversation.customer_id = customer_id


def _arrived(
    session: Session,
    account: InboxAccount,
    conversation: Conversation,
    message,
    message_id: str,
    now: datetime,
    recorded: list,
) -> bool:
    """A new message in its conversation (its state taken by ``_take``): a rating or an
    opt-out it carries, a resolved conversation reopened (its events added to
    ``recorded``). Whether the automation should have its turn."""
    text = message.text if message.kind == "text" else None
    score = automation.rating(conversation, text)
    if score is not None:  # the answer to the satisfaction question: not a new request
        automation.record_rating(session, conversation, score)
    elif conversation.status == "resolved":
        conversation.status, conversation.resolved_at = "open", None
        conversation.opened_at = message.sent_at
        recorded.append(
            ("conversation.reopened", conversation_changed(conversation), conversation.id)
        )
    answer = consent.keyword(text)
    if answer is not None:
        consent.record(
            session, conversation, answer == "in", f"{account.platform} keyword: {text}", now
        )
    recorded.append(
        (
            "message.received",
            {
                "message_id": message_id,
                "conversation_id": conversation.id,
                "account_id": account.id,
                "direction": "in",
                "kind": message.kind,
                "status": "received",
                "text": message.text,
                "error": None,
            },
            conversation.id,
        )
    )
    answerable = text is not None or message.kind == "order"
    return score is None and answerable and automation.wants(account)


def _take(conversation: Conversation, message, now: datetime) -> None:
    """What a message makes of its conversation: unread, the reply window, the service
    timer. An echo (the business writing from another app, Meta Business Suite or the
    phone) is shown as sent and answers the person; it opens no reply window."""
    conversation.last_message_at = max(conversation.last_message_at, message.sent_at)
    conversation.updated_at = now
    if message.echo:
        conversation.waiting_since = None  # answered, from another app
        return
    if message.contact_name and message.contact_name != conversation.contact_name:
        conversation.contact_name = message.contact_name
    conversation.unread += 1
    # A comment is public: it opens no reply window (only a private reply may answer it).
    if message.kind not in COMMENT_KINDS and (
        conversation.last_inbound_at is None or message.sent_at > conversation.last_inbound_at
    ):
        conversation.last_inbound_at = message.sent_at
    if conversation.waiting_since is None:  # the service-level timer starts
        conversation.waiting_since = message.sent_at


def _echoed(conversation: Conversation, message, message_id: str, recorded: list) -> None:
    """The business wrote from another app: the thread shows it, as sent."""
    recorded.append(
        (
            "message.sent",
            {
                "message_id": message_id,
                "conversation_id": conversation.id,
                "account_id": conversation.account_id,
                "direction": "out",
                "kind": message.kind,
                "status": "sent",
                "text": message.text,
                "error": None,
            },
            conversation.id,
        )
    )


def _apply_statuses(session: Session, changes: list, outcomes: list) -> None:
    """Move outbound messages forward; an older or repeated status changes nothing. A
    status that names no message (Messenger's read and delivery watermarks) covers every
    message sent to that person up to its watermark."""
    keys = {
        (account.id, status.message_id)
        for _, _, account, status in changes
        if status.message_id is not None
    }
    found = {
        (m.account_id, m.platform_message_id): m
        for m in session.scalars(
            select(Message)
            .where(
                tuple_(Message.account_id, Message.platform_message_id).in_(list(keys)),
                Message.direction == "out",
            )
            .order_by(Message.id)
            .with_for_update()
        )
    }
    for _, index, account, status in changes:
        if status.message_id is None:
            outcomes[index].statuses += _watermark(session, account, status)
            continue
        message = found.get((account.id, status.message_id))
        if message is None or not moves_forward(message.status, status.status):
            continue
        message.status, message.status_at = status.status, status.at
        if status.status == "failed":
            first = status.errors[0] if status.errors else {}
            details = (first.get("error_data") or {}).get("details")
            message.error = {
                "code": first.get("code"),
                "title": first.get("title"),
                # Meta's explanation, when it gives one beyond the title.
                "message": details or first.get("message"),
            }
        events.record(
            session, f"message.{status.status}", message_changed(message), message.conversation_id
        )
        outcomes[index].statuses += 1
    session.flush()


def _watermark(session: Session, account: InboxAccount, status) -> int:
    covered = session.scalars(
        select(Message)
        .join(Conversation, Conversation.id == Message.conversation_id)
        .where(
            Conversation.account_id == account.id,
            Conversation.contact_id_hash == value_key(status.contact_id),
            Message.direction == "out",
            Message.status.in_(("sent", "delivered")),
            Message.at <= status.up_to,
        )
        .order_by(Message.id)
        .with_for_update(of=Message)
    )
    moved = 0
    for message in covered:
        if moves_forward(message.status, status.status):
            message.status, message.status_at = status.status, status.at
            events.record(
                session,
                f"message.{status.status}",
                message_changed(message),
                message.conversation_id,
            )
            moved += 1
    return moved


def moves_forward(current: str, incoming: str) -> bool:
    if current in ("failed", "received"):
        return False
    if incoming == "failed":
        return current != "read"
    return PROGRESS.get(incoming, -1) > PROGRESS.get(current, -1)


class InboxBatcher(GroupCommit[Delivery]):
    """One per API process: notifications stored a batch at a time, so a burst is
    acknowledged at the rate of one transaction per batch, not per notification."""

    def write_batch(self, session: Session, deliveries: list[Delivery]) -> list:
        return receive_many(session, deliveries)

    def write_one(self, session: Session, delivery: Delivery) -> Receipt:
        return receive(
            session, delivery.platform, delivery.account_id, delivery.raw, delivery.headers
        )
