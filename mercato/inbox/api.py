"""Inbox JSON API: messaging accounts, conversations, their threads and replies, and the
comments on the accounts' posts."""

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from mercato.inbox import (
    accounts,
    canned,
    checkout_links,
    comments,
    conversations,
    media,
    notes,
    sending,
)
from mercato.inbox.auth import InboxRead, InboxWrite
from mercato.inbox.schemas import (
    AccountCreate,
    AccountPublic,
    AutomationRules,
    CannedReplyIn,
    CannedReplyPublic,
    CheckoutLinkCreate,
    CommentReply,
    ConversationPage,
    ConversationPublic,
    ConversationStatus,
    ConversationUpdate,
    MessageCreate,
    MessagePublic,
    NoteCreate,
    ThreadPublic,
)
from mercato.pagination import MAX_PAGE_SIZE
from mercato.system import audit
from mercato.web.sessions import ReadSession, SessionFactories, WriteSession

router = APIRouter(tags=["inbox"])


def _account(account) -> AccountPublic:
    return AccountPublic.model_validate(
        {
            **{k: getattr(account, k) for k in AccountPublic.model_fields if k != "webhook_path"},
            "webhook_path": accounts.webhook_path(account),
        }
    )


@router.post("/inbox/accounts", response_model=AccountPublic, status_code=status.HTTP_201_CREATED)
def create_account(data: AccountCreate, session: WriteSession, _: InboxWrite):
    """Connect a WhatsApp Business number, a Facebook Page or an Instagram professional
    account. Point the Meta app's webhook at ``webhook_path`` with the same verify token."""
    return _account(accounts.create_account(session, data))


@router.get("/inbox/accounts", response_model=list[AccountPublic])
def list_accounts(session: ReadSession, _: InboxRead):
    return [_account(a) for a in accounts.list_accounts(session)]


@router.put("/inbox/accounts/{account_id}/automation", response_model=AccountPublic)
def set_automation(account_id: str, data: AutomationRules, session: WriteSession, _: InboxWrite):
    """What the inbox answers on its own: order status, away message, satisfaction."""
    return _account(accounts.set_automation(session, account_id, data))


@router.get("/conversations", response_model=ConversationPage)
def list_conversations(
    session: ReadSession,
    _: InboxRead,
    status: ConversationStatus | None = None,
    account_id: str | None = None,
    assignee: str | None = None,
    unread: bool | None = None,
    label: str | None = None,
    waiting: bool | None = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 50,
):
    """Latest activity first. ``q`` finds words in the person's name, number or id, or in
    any message; ``waiting`` those whose person waits for an answer."""
    return conversations.list_conversations(
        session,
        status=status,
        account_id=account_id,
        assignee=assignee,
        unread=unread,
        label=label,
        waiting=waiting,
        q=q,
        cursor=cursor,
        limit=limit,
    )


@router.get("/conversations/{conversation_id}", response_model=ThreadPublic)
def get_thread(
    conversation_id: str,
    session: ReadSession,
    token: InboxRead,
    sessions: SessionFactories,
    before: str | None = None,
):
    """The latest messages (oldest first), or the 50 before the message ``before``; the
    person's orders and the approved templates (the read is in the audit log)."""
    thread = conversations.thread(session, conversation_id, before)
    audit.viewed(sessions, token, conversation_id)
    return thread


@router.patch("/conversations/{conversation_id}", response_model=ConversationPublic)
def update_conversation(
    conversation_id: str, data: ConversationUpdate, session: WriteSession, _: InboxWrite
):
    return conversations.update(session, conversation_id, data)


@router.post(
    "/conversations/{conversation_id}/messages",
    response_model=MessagePublic,
    status_code=status.HTTP_202_ACCEPTED,
    responses={409: {"description": "The reply window is closed: send an approved template"}},
)
def send_message(conversation_id: str, data: MessageCreate, session: WriteSession, _: InboxWrite):
    """Queue a reply; the worker sends it and its status follows the platform's."""
    return sending.send(session, conversation_id, data)


@router.post(
    "/conversations/{conversation_id}/checkout-links",
    response_model=MessagePublic,
    status_code=status.HTTP_202_ACCEPTED,
    responses={409: {"description": "The reply window is closed: send an approved template"}},
)
def send_checkout_link(
    conversation_id: str, data: CheckoutLinkCreate, session: WriteSession, _: InboxWrite
):
    """Send a link to the shop's checkout with these items in the cart; the order it leads
    to is attributed to this conversation."""
    return checkout_links.send_link(session, conversation_id, data)


@router.post(
    "/inbox/comments/{message_id}/replies",
    response_model=MessagePublic,
    status_code=status.HTTP_202_ACCEPTED,
    responses={409: {"description": "A private reply was already sent, or 7 days passed"}},
)
def reply_to_comment(message_id: str, data: CommentReply, session: WriteSession, _: InboxWrite):
    """Answer a comment in public, or once in private; the worker sends it."""
    return comments.reply(session, message_id, data)


_REFUSED = {502: {"description": "The platform refused, or could not be reached: nothing changed"}}


@router.get(
    "/inbox/messages/{message_id}/media",
    response_class=Response,
    responses={
        200: {"description": "The file, as the platform gives it", "content": {"*/*": {}}},
        **_REFUSED,
    },
)
def received_file(message_id: str, sessions: SessionFactories, _: InboxRead):
    """The photo, video, voice note, document or sticker a person sent, fetched from the
    platform now (Mercato keeps no copy)."""
    attachment = media.fetch(sessions, message_id)
    return Response(
        attachment.content,
        media_type=attachment.mime_type,
        headers=media.response_headers(attachment),
    )


@router.post("/inbox/comments/{message_id}/hide", response_model=MessagePublic, responses=_REFUSED)
def hide_comment(message_id: str, sessions: SessionFactories, _: InboxWrite):
    """Hide a comment on the platform at once (its author and their friends still see it)."""
    return comments.moderate(sessions, message_id, "hide")


@router.post("/inbox/comments/{message_id}/show", response_model=MessagePublic, responses=_REFUSED)
def show_comment(message_id: str, sessions: SessionFactories, _: InboxWrite):
    """Show a hidden comment again."""
    return comments.moderate(sessions, message_id, "show")


@router.post(
    "/inbox/comments/{message_id}/delete", response_model=MessagePublic, responses=_REFUSED
)
def delete_comment(message_id: str, sessions: SessionFactories, _: InboxWrite):
    """Delete a comment on the platform; it stays in the thread, marked deleted."""
    return comments.moderate(sessions, message_id, "delete")


@router.post(
    "/conversations/{conversation_id}/notes",
    response_model=MessagePublic,
    status_code=status.HTTP_201_CREATED,
)
def add_note(conversation_id: str, data: NoteCreate, session: WriteSession, _: InboxWrite):
    """An internal note in the thread: the team sees it, the person never does."""
    return notes.add(session, conversation_id, data)


@router.get("/inbox/canned-replies", response_model=list[CannedReplyPublic])
def list_canned_replies(session: ReadSession, _: InboxRead):
    return canned.list_all(session)


@router.post(
    "/inbox/canned-replies", response_model=CannedReplyPublic, status_code=status.HTTP_201_CREATED
)
def create_canned_reply(data: CannedReplyIn, session: WriteSession, _: InboxWrite):
    """A saved answer; ``{name}``, ``{order}``, ``{order_status}`` and ``{tracking}`` are
    filled in from the conversation it is sent in (``"type": "canned"``)."""
    return canned.create(session, data)


@router.put("/inbox/canned-replies/{reply_id}", response_model=CannedReplyPublic)
def update_canned_reply(reply_id: str, data: CannedReplyIn, session: WriteSession, _: InboxWrite):
    return canned.update(session, reply_id, data)


@router.delete("/inbox/canned-replies/{reply_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_canned_reply(reply_id: str, session: WriteSession, _: InboxWrite):
    canned.delete(session, reply_id)
