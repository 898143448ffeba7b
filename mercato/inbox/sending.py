"""Replies: checked against the platform's reply window and rules, recorded as queued in
the caller's transaction (with the job that sends them), then sent by the worker with no
transaction open; the platform's answer (its message id, or its refusal) is recorded."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from mercato import events, jobs
from mercato.catalog.models import Product, Variant
from mercato.channels.http import PlatformUnavailable
from mercato.channels.models import Channel, Listing
from mercato.channels.target import product_link, storefront_url
from mercato.channels.whatsapp import mapping
from mercato.channels.whatsapp.client import WhatsAppError
from mercato.db import utcnow
from mercato.errors import FieldError, MercatoError, ValidationFailed
from mercato.inbox import accounts, consent, records, windows
from mercato.inbox.models import InboxAccount, Message
from mercato.inbox.records import message_changed
from mercato.inbox.schemas import MessageCreate

SEND_JOB = "inbox.send_message"


class WindowClosed(MercatoError):
    slug = "reply-window-closed"
    title = "Reply window closed"
    status = 409


def window_open(account: InboxAccount, conversation, now: datetime) -> bool:
    return windows.is_open(account.platform, conversation.last_inbound_at, now)


def send(
    session: Session,
    conversation_id: str,
    data: MessageCreate,
    now: datetime | None = None,
    *,
    automatic: bool = False,
    preview_url: bool = False,
) -> Message:
    """Queue a reply. Refused before any platform call when the platform would refuse it:
    outside the reply window only an approved template goes (the refusal lists them).
    An ``automatic`` reply does not count as the merchant's first response."""
    now = now or utcnow()
    conversation = records.conversation(session, conversation_id, lock=True)
    account = accounts.get_account(session, conversation.account_id)
    if not windows.may_send(account.platform, data.type, conversation.last_inbound_at, now):
        approved = [
            {"name": t.name, "language": t.language}
            for t in accounts.templates(session, account.id)
            if t.status == "APPROVED"
        ]
        raise WindowClosed(
            "More than 24 hours passed since the customer's last message: only an approved "
            "template can be sent now.",
            extra={"templates": approved, "last_inbound_at": _iso(conversation.last_inbound_at)},
        )
    kind, text, body = _compose(session, account, conversation, data, preview_url)
    message = Message(
        account_id=account.id,
        conversation_id=conversation.id,
        direction="out",
        kind=kind,
        text=text,
        content=body,
        status="queued",
        author=data.author,
        at=now,
        status_at=now,
    )
    session.add(message)
    conversation.last_message_at = now
    if not automatic:
        conversation.first_reply_at = conversation.first_reply_at or now
    conversation.updated_at = now
    session.flush()
    # One conversation's replies leave in the order they were written.
    jobs.enqueue(session, SEND_JOB, {"message_id": message.id}, key=f"inbox:{conversation.id}")
    events.record(session, "message.queued", message_changed(message), key=conversation.id)
    return message


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at else None


def _compose(
    session: Session, account: InboxAccount, conversation, data: MessageCreate, preview_url: bool
) -> tuple[str, str | None, dict]:
    """(kind, text shown in the thread, the platform's request body)."""
    to = conversation.contact_id
    try:
        if data.type == "text":
            return "text", data.text, mapping.text(to, data.text, preview_url=preview_url)
        if data.type == "template":
            choice = data.template
            found = accounts.approved_template(session, account.id, choice.name, choice.language)
            if found is None:
                raise ValidationFailed(
                    "That template cannot be sent.",
                    [
                        FieldError(
                            ("template", "name"), "is not an approved template of this number"
                        )
                    ],
                )
            if found.category == consent.MARKETING:
                consent.check_marketing(conversation)
            body = mapping.template(to, choice.name, choice.language, choice.components or None)
            return "template", f"[{choice.name}]", body
        if data.type == "product":
            return _product(session, account, to, data)
        catalog_id, items = _catalog_items(
            session, account, [sku for s in data.sections for sku in s.skus], ("sections",)
        )
        sections = [(s.title, [items[sku] for sku in s.skus]) for s in data.sections]
        body = mapping.product_list(
            to, catalog_id, header=data.header, body=data.text, sections=sections
        )
        return "product_list", data.text, body
    except ValueError as exc:
        field, _, why = str(exc).partition(": ")
        raise ValidationFailed(
            "The platform would refuse this message.", [FieldError((field,), why or str(exc))]
        ) from None


def _product(session: Session, account: InboxAccount, to: str, data: MessageCreate):
    """A product card from the catalog linked to the number; a link to the product's page
    when the product is not in that catalog."""
    variant = _variant(session, data.sku, ("sku",))
    listed = _listed(session, account, [variant.id])
    if variant.id in listed:
        catalog_id, retailer_id = listed[variant.id]
        body = mapping.product(to, catalog_id, retailer_id, body=data.text)
        return "product", data.text or variant.product.title, body
    link = product_link(storefront_url(), variant.product.handle, variant.id)
    text = f"{data.text}\n{link}" if data.text else f"{variant.product.title}\n{link}"
    return "text", text, mapping.text(to, text, preview_url=True)


def _variant(session: Session, sku: str, loc: tuple) -> Variant:
    variant = session.scalar(select(Variant).join(Product).where(Variant.sku == sku))
    if variant is None or variant.product.status != "active":
        raise ValidationFailed("No such product for sale.", [FieldError(loc, f"no SKU {sku!r}")])
    return variant


def _listed(session: Session, account: InboxAccount, variant_ids: list[str]) -> dict:
    """variant id -> (catalog id, the item's id in it), for variants in the linked catalog."""
    if account.catalog_channel_id is None:
        return {}
    channel = session.get(Channel, account.catalog_channel_id)
    catalog_id = (channel.settings or {}).get("catalog_id") if channel else None
    if not catalog_id:
        return {}
    rows = session.execute(
        select(Listing.variant_id, Listing.item_id).where(
            Listing.channel_id == channel.id,
            Listing.variant_id.in_(variant_ids),
            Listing.verdict.in_(("approved", "warning", "pending")),
        )
    )
    return {variant_id: (str(catalog_id), item_id) for variant_id, item_id in rows}


def _catalog_items(
    session: Session, account: InboxAccount, skus: list[str], loc: tuple
) -> tuple[str, dict[str, str]]:
    variants = {sku: _variant(session, sku, loc) for sku in dict.fromkeys(skus)}
    listed = _listed(session, account, [v.id for v in variants.values()])
    missing = [sku for sku, v in variants.items() if v.id not in listed]
    if missing:
        raise ValidationFailed(
            "A product list can only show products of the catalog linked to this number.",
            [FieldError(loc, f"not in the linked catalog: {', '.join(missing)}")],
        )
    catalog_id = next(iter(listed.values()))[0]
    return catalog_id, {sku: listed[v.id][1] for sku, v in variants.items()}


# ---------------------------------------------------------------- the worker's side


def deliver(sessions_transaction, message_id: str) -> str:
    """Send one queued message (no transaction open during the call). Returns its status.
    Throttling and outages raise, so the job is retried; a refusal is recorded on the
    message, with the platform's words."""
    with sessions_transaction() as session:
        message = session.get(Message, message_id)
        if message is None or message.status != "queued":
            return message.status if message else "gone"
        account = accounts.get_account(session, message.account_id)
        client, body = accounts.client(account), dict(message.content)
    try:
        with client:
            platform_id, error = client.send(body), None
    except PlatformUnavailable:
        raise
    except WhatsAppError as exc:  # a refusal (an expired token too: reconnect the number)
        platform_id, error = None, {"code": exc.code, "title": exc.title, "message": str(exc)}
    with sessions_transaction() as session:
        message = session.get(Message, message_id, with_for_update=True)
        if message.status != "queued":  # a status webhook got here first
            return message.status
        message.status, message.status_at = ("failed", utcnow()) if error else ("sent", utcnow())
        message.platform_message_id, message.error = platform_id, error
        session.flush()
        events.record(
            session,
            f"message.{message.status}",
            message_changed(message),
            key=message.conversation_id,
        )
        return message.status
