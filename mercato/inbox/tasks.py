"""Inbox jobs: each reply sent by the worker (one conversation's in order), the
numbers' approved templates read from the platform every hour, and TikTok Shop's buyer
chats read every minute (TikTok pushes no chat webhook)."""

from __future__ import annotations

import logging

from sqlalchemy import select

from mercato.channels.http import PlatformError, PlatformUnavailable
from mercato.db import Sessions, utcnow
from mercato.inbox import accounts, automation, polling, receipts, sending
from mercato.inbox.models import InboxAccount
from mercato.jobs import registry

log = logging.getLogger(__name__)


@registry.task(sending.SEND_JOB, max_attempts=8)
def send_message(ctx: registry.JobContext, message_id: str) -> None:
    sending.deliver(Sessions(ctx.sessions, ctx.read_sessions), message_id)


@registry.task(receipts.JOB, max_attempts=4)
def send_read_receipt(ctx: registry.JobContext, conversation_id: str) -> None:
    receipts.send(Sessions(ctx.sessions, ctx.read_sessions), conversation_id)


@registry.task(automation.JOB)
def automate(ctx: registry.JobContext, message_id: str) -> None:
    with ctx.transaction() as session:
        automation.answer(session, message_id, utcnow())


@registry.task("inbox.sync_templates", every="1 hour")
def sync_templates(ctx: registry.JobContext) -> None:
    sessions = Sessions(ctx.sessions, ctx.read_sessions)
    with ctx.transaction() as session:
        found = [
            (a.id, a.business_id, accounts.client(session, a, sessions))
            for a in session.scalars(
                select(InboxAccount).where(
                    InboxAccount.platform == "whatsapp", InboxAccount.business_id.is_not(None)
                )
            )
        ]
    for account_id, business_id, client in found:
        try:
            templates = client.templates(business_id)
        except PlatformUnavailable:
            raise
        except PlatformError as exc:  # this number's set-up; the others go on
            log.warning("Templates of inbox account %s not read: %s", account_id, exc)
            continue
        with ctx.transaction() as session:
            accounts.replace_templates(session, account_id, templates)


@registry.task(polling.JOB, every="1 minute")
def poll_chats(ctx: registry.JobContext) -> None:
    """Each TikTok Shop account's new buyer messages; one account's failure leaves the
    others to go on."""
    with ctx.transaction() as session:
        ids = list(
            session.scalars(select(InboxAccount.id).where(InboxAccount.platform == "tiktok"))
        )
    for account_id in ids:
        try:
            polling.poll(Sessions(ctx.sessions, ctx.read_sessions), account_id)
        except PlatformUnavailable:
            raise
        except PlatformError as exc:
            log.warning("TikTok chats of inbox account %s not read: %s", account_id, exc)
