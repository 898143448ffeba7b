"""Comments on a Page's or an Instagram account's posts, in the commenter's conversation:
answered in public or once in private (through the worker, like every reply), hidden or
shown again, deleted. Hiding and deleting call the platform at once, with no transaction
open while it answers (docs/platforms/messenger.md §3)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from mercato import events
from mercato.channels.http import PlatformUnavailable
from mercato.channels.messenger import mapping as messenger
from mercato.channels.meta.graph import GraphError
from mercato.db import Sessions, transaction, utcnow
from mercato.errors import Conflict, FieldError, PlatformRefused, ValidationFailed
from mercato.inbox import accounts, records, sending, windows
from mercato.inbox.models import COMMENT_KINDS, Message
from mercato.inbox.records import message_changed
from mercato.inbox.schemas import CommentReply

Moderation = Literal["hide", "show", "delete"]
# What each action leaves the comment as.
_STATUS = {"hide": "hidden", "show": "received", "delete": "deleted"}


def _comment(session: Session, message_id: str, *, lock: bool = False) -> Message:
    comment = records.message(session, message_id)
    if comment.kind not in COMMENT_KINDS:
        raise ValidationFailed(
            "Only comments can be answered, hidden or deleted this way.",
            [FieldError(("message_id",), "not a comment")],
        )
    if lock:
        session.refresh(comment, with_for_update=True)
    return comment


def reply(
    session: Session, message_id: str, data: CommentReply, now: datetime | None = None
) -> Message:
    """Answer a comment in public, or privately once (within 7 days of the comment): the
    platform refuses a second private reply and a late one, so Mercato refuses first."""
    now = now or utcnow()
    comment = _comment(session, message_id)
    conversation = records.conversation(session, comment.conversation_id, lock=True)
    account = accounts.get_account(session, conversation.account_id)
    if comment.status == "deleted":
        raise Conflict("The comment was deleted.")
    with sending.platform_rules():
        if not data.private:
            # Instagram takes no public reply under a hidden comment or a live video's.
            if comment.status == "hidden" or comment.kind == "live_comment":
                raise Conflict(
                    "This comment takes no public reply (it is hidden, or on a live video): "
                    "answer it privately."
                )
            body = messenger.comment_reply(comment.platform_message_id, data.text)
            kind = "comment_reply"
        else:
            if not windows.private_reply_open(comment.at, now):
                raise sending.WindowClosed(
                    "A private reply can only be sent within 7 days of the comment.",
                    extra={"templates": [], "comment_at": comment.at.isoformat()},
                )
            if _private_reply_sent(session, comment.id):
                raise Conflict("This comment already has its private reply (one per comment).")
            body = messenger.private_reply(account.platform, comment.platform_message_id, data.text)
            kind = "private_reply"
    return sending.queue(
        session, conversation, kind, data.text, body, data.author, now, reply_to_id=comment.id
    )


def _private_reply_sent(session: Session, comment_id: str) -> bool:
    return (
        session.scalar(
            select(Message.id).where(
                Message.reply_to_id == comment_id,
                Message.kind == "private_reply",
                Message.status != "failed",
            )
        )
        is not None
    )


def moderate(sessions: Sessions, message_id: str, action: Moderation) -> Message:
    """Hide, show again or delete a comment on the platform, then record it. A refusal
    from the platform changes nothing here and is raised with its words."""
    with transaction(sessions.read) as session:
        comment = _comment(session, message_id)
        if comment.status == "deleted":
            raise Conflict("The comment was deleted.")
        account = accounts.get_account(session, comment.account_id)
        client = accounts.client(session, account, sessions)
        platform_id = comment.platform_message_id
    try:
        with client:
            if action == "delete":
                client.delete_comment(platform_id)
            else:
                client.hide_comment(platform_id, hidden=action == "hide")
    except GraphError as exc:
        raise PlatformRefused(str(exc), extra={"error": exc.as_record()}) from None
    except PlatformUnavailable as exc:
        raise PlatformRefused(f"{account.platform} could not be reached: {exc}") from None
    with transaction(sessions.write) as session:
        comment = _comment(session, message_id, lock=True)
        comment.status, comment.status_at = _STATUS[action], utcnow()
        session.flush()
        events.record(
            session,
            f"message.{_STATUS[action] if action != 'show' else 'shown'}",
            message_changed(comment),
            key=comment.conversation_id,
        )
        return comment
