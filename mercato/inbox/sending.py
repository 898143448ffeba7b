"""Replies: checked against the platform's reply window and rules, recorded as queued in
the caller's transaction (with the job that sends them), then sent by the worker with no
transaction open; the platform's answer (its message id, or its refusal) is recorded.

Comments on Messenger and Instagram posts are answered the same way: in public (a reply
under the comment) or once in private (a message to the person who wrote it)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from mercato import events, jobs
from mercato.catalog.models import Product, Variant
from mercato.channels.http import PlatformUnavailable
from mercato.channels.messenger import mapping as messenger
from mercato.channels.meta.graph import GraphError
from mercato.channels.models import Channel, Listing
from mercato.channels.target import product_link, storefront_url
from mercato.channels.tiktok import chat
from mercato.channels.tiktok.api import TikTokError
from mercato.channels.whatsapp import mapping
from mercato.db import Sessions, transaction, utcnow
from mercato.errors import FieldError, MercatoError, ValidationFailed
from mercato.inbox import accounts, canned, consent, records, windows
from mercato.inbox.models import InboxAccount, Message, MessageTemplate
from mercato.inbox.records import message_changed
from mercato.inbox.schemas import MessageCreate
from mercato.money import format_plain
from mercato.orders.models import Order

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
    if data.type == "canned":
        data = data.model_copy(
            update={"type": "text", "text": canned.render(session, data.canned_reply, conversation)}
        )
    if data.type == "order" and account.platform != "tiktok":
        raise ValidationFailed(
            "Order cards are TikTok Shop's.",
            [
                FieldError(
                    ("type",), f"{account.platform} has no order card; send the order as text"
                )
            ],
        )
    with platform_rules():
        if account.platform == "whatsapp":
            _whatsapp_window(session, account, conversation, data, now)
            kind, text, body = _compose(session, account, conversation, data, preview_url)
        elif account.platform == "tiktok":
            kind, text, body = _compose_tiktok(session, account, conversation.contact_id, data)
        else:
            tag = _meta_window(account, conversation, data, now, automatic)
            kind, text, body = _compose_meta(session, account, conversation.contact_id, data, tag)
    return queue(session, conversation, kind, text, body, data.author, now, automatic=automatic)


@contextmanager
def platform_rules() -> Iterator[None]:
    """A body the platform would refuse (the mappings' ValueError "<field>: <why>") is
    refused here, with the field named, before anything is queued."""
    try:
        yield
    except ValueError as exc:
        field, _, why = str(exc).partition(": ")
        raise ValidationFailed(
            "The platform would refuse this message.", [FieldError((field,), why or str(exc))]
        ) from None


def page_link_text(variant: Variant, note: str | None) -> str:
    """A product not on the platform: its page in the shop, after the note or its title."""
    link = product_link(storefront_url(), variant.product.handle, variant.id)
    return f"{note or variant.product.title}\n{link}"


def queue(
    session: Session,
    conversation,
    kind: str,
    text: str | None,
    body: dict,
    author: str | None,
    now: datetime,
    *,
    automatic: bool = False,
    reply_to_id: str | None = None,
) -> Message:
    """Record a reply as queued, with the job that sends it (the checks are the caller's)."""
    message = Message(
        account_id=conversation.account_id,
        conversation_id=conversation.id,
        direction="out",
        kind=kind,
        text=text,
        content=body,
        status="queued",
        author=author,
        reply_to_id=reply_to_id,
        at=now,
        status_at=now,
    )
    session.add(message)
    conversation.last_message_at = now
    if not automatic:  # a person answered: the first response, and nobody waits now
        conversation.first_reply_at = conversation.first_reply_at or now
        conversation.waiting_since = None
    conversation.updated_at = now
    session.flush()
    # One conversation's replies leave in the order they were written.
    jobs.enqueue(session, SEND_JOB, {"message_id": message.id}, key=f"inbox:{conversation.id}")
    events.record(session, "message.queued", message_changed(message), key=conversation.id)
    return message


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at else None


def _whatsapp_window(session: Session, account, conversation, data, now: datetime) -> None:
    if windows.may_send(account.platform, data.type, conversation.last_inbound_at, now):
        return
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


def _meta_window(account, conversation, data, now: datetime, automatic: bool) -> str | None:
    """The tag a Messenger or Instagram reply needs now; refused when none would do."""
    if data.type == "template":
        raise ValidationFailed(
            "Message templates are WhatsApp's.",
            [FieldError(("type",), f"{account.platform} takes text and product messages")],
        )
    try:
        return windows.tag_for(
            account.platform,
            conversation.last_inbound_at,
            now,
            by_person=not automatic,
            permitted=account.human_agent,
        )
    except LookupError:
        until = windows.human_agent_until(
            account.platform, conversation.last_inbound_at, account.human_agent
        )
        if until is not None and now < until:
            why = "only a reply written by a person (tagged HUMAN_AGENT) can be sent now."
        elif account.human_agent:
            why = "and more than 7 days: nothing can be sent until they write again."
        else:
            why = (
                "nothing can be sent until they write again (this app has no Human Agent "
                "permission from Meta)."
            )
        raise WindowClosed(
            f"More than 24 hours passed since the customer's last message: {why}",
            extra={
                "templates": [],
                "last_inbound_at": _iso(conversation.last_inbound_at),
                "human_agent_until": _iso(until),
            },
        ) from None


def _compose_meta(
    session: Session, account: InboxAccount, to: str, data: MessageCreate, tag: str | None
) -> tuple[str, str | None, dict]:
    """(kind, text shown in the thread, the request body) on Messenger or Instagram: text,
    or products as cards (a generic template) linking to their pages in the shop."""
    platform = account.platform
    if data.type == "text":
        return "text", data.text, messenger.text(platform, to, data.text, tag=tag)
    if data.type == "buttons":
        body = messenger.quick_replies(platform, to, data.text, data.choices, tag=tag)
        return "buttons", data.text, body
    if data.type == "list":
        raise ValueError(f"type: {platform} has no list messages; offer choices instead")
    if data.type == "image":
        if data.text:
            raise ValueError(f"text: {platform} images take no caption; send it apart")
        return "image", None, messenger.image(platform, to, data.image_url, tag=tag)
    skus = [data.sku] if data.type == "product" else [k for s in data.sections for k in s.skus]
    loc = ("sku",) if data.type == "product" else ("sections",)
    variants = [_variant(session, sku, loc) for sku in dict.fromkeys(skus)]
    cards = [_card(v, data.text) for v in variants]
    body = messenger.cards(platform, to, cards, tag=tag)
    shown = data.text or ", ".join(c.title for c in cards)
    return ("product" if len(cards) == 1 else "product_list"), shown, body


def _compose_tiktok(
    session: Session, account: InboxAccount, conversation_id: str, data: MessageCreate
) -> tuple[str, str | None, dict]:
    """Text, a product as TikTok's own product card when the product is on the shop (else
    a link to its page in the shop), or one of the shop's orders as TikTok's order card;
    no templates, no lists."""
    if data.type not in ("text", "product", "order"):
        raise ValidationFailed(
            "TikTok Shop chats take text, product cards and order cards.",
            [FieldError(("type",), f"{data.type} is not sent on TikTok Shop")],
        )
    if data.type == "text":
        return "text", data.text, chat.message(conversation_id, "TEXT", {"content": data.text})
    if data.type == "order":
        order = session.scalar(
            select(Order).where(
                Order.channel == account.catalog_channel_id,
                Order.external_id.is_not(None),
                or_(Order.id == data.order, Order.external_id == data.order),
            )
        )
        if order is None:
            raise ValidationFailed(
                "TikTok Shop shows cards of the shop's own orders only.",
                [FieldError(("order",), f"{data.order} is not an order of this TikTok shop")],
            )
        body = chat.message(conversation_id, "ORDER_CARD", {"order_id": order.external_id})
        return "order_card", data.text or f"Order {order.number}", body
    variant = _variant(session, data.sku, ("sku",))
    ref = session.scalar(
        select(Listing.platform_ref).where(
            Listing.channel_id == account.catalog_channel_id,
            Listing.variant_id == variant.id,
            Listing.platform_ref.is_not(None),
        )
    )
    if ref is None:  # not on the shop: its page in the shop instead
        text = page_link_text(variant, data.text)
        return "text", text, chat.message(conversation_id, "TEXT", {"content": text})
    product_id = ref.split(":")[0]
    body = chat.message(conversation_id, "PRODUCT_CARD", {"product_id": product_id})
    return "product", data.text or variant.product.title, body


def _card(variant: Variant, note: str | None) -> messenger.Card:
    """A product's card: its title and options, price (and the agent's note) below."""
    product = variant.product
    image = variant.image_url or (product.media[0].url if product.media else None)
    title = product.title
    if variant.option_values:
        title = f"{title} ({' / '.join(variant.option_values)})"
    return messenger.Card(
        title=title,
        subtitle=" · ".join(
            filter(
                None, [f"{format_plain(variant.price, variant.currency)} {variant.currency}", note]
            )
        ),
        url=product_link(storefront_url(), product.handle, variant.id),
        image_url=image if image and image.startswith("https://") else None,
    )


def _compose(
    session: Session, account: InboxAccount, conversation, data: MessageCreate, preview_url: bool
) -> tuple[str, str | None, dict]:
    """(kind, text shown in the thread, the platform's request body)."""
    to = conversation.contact_id
    if data.type == "text":
        return "text", data.text, mapping.text(to, data.text, preview_url=preview_url)
    if data.type == "buttons":
        return "buttons", data.text, mapping.buttons(to, data.text, data.choices)
    if data.type == "list":
        sections = [(s.title, [(r.title, r.description) for r in s.rows]) for s in data.rows]
        return "list", data.text, mapping.list_message(to, data.text, data.button, sections)
    if data.type == "image":
        return "image", data.text, mapping.image(to, data.image_url, data.text)
    if data.type == "template":
        choice = data.template
        found = accounts.approved_template(session, account.id, choice.name, choice.language)
        if found is None:
            raise ValidationFailed(
                "That template cannot be sent.",
                [FieldError(("template", "name"), "is not an approved template of this number")],
            )
        if found.category == consent.MARKETING:
            consent.check_marketing(session, conversation)
        components, text = _template_components(found, choice)
        body = mapping.template(to, choice.name, choice.language, components or None)
        return "template", text, body
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


def _template_components(template: MessageTemplate, choice) -> tuple[list[dict], str]:
    """The send's components and the text the customer reads. Meta refuses a template
    whose variables are not each given a value (132000): refused here first."""
    found = accounts.variables(template)
    body, names, header_names = found.body, found.body_names, found.header_names
    if choice.components:
        given = next(
            (
                c.get("parameters") or []
                for c in choice.components
                if str(c.get("type", "")).lower() == "body"
            ),
            [],
        )
        _values_for(("template", "components"), "body", names, given)
        return choice.components, f"[{choice.name}]"
    _values_for(("template", "parameters"), "body", names, choice.parameters)
    _values_for(("template", "header_parameters"), "header", header_names, choice.header_parameters)
    components = []
    if header_names:
        components.append(
            mapping.template_parameters("header", header_names, choice.header_parameters)
        )
    if names:
        components.append(mapping.template_parameters("body", names, choice.parameters))
    text = mapping.filled(body, dict(zip(names, choice.parameters, strict=True))) if body else None
    return components, text or f"[{choice.name}]"


def _values_for(loc: tuple, part: str, names: list[str], values: list) -> None:
    if len(values) != len(names):
        shown = ", ".join("{{" + n + "}}" for n in names) or "none"
        raise ValidationFailed(
            "The template's variables each need a value.",
            [FieldError(loc, f"the {part} has {len(names)} ({shown}); {len(values)} given")],
        )


def _product(session: Session, account: InboxAccount, to: str, data: MessageCreate):
    """A product card from the catalog linked to the number; a link to the product's page
    when the product is not in that catalog."""
    variant = _variant(session, data.sku, ("sku",))
    listed = _listed(session, account, [variant.id])
    if variant.id in listed:
        catalog_id, retailer_id = listed[variant.id]
        body = mapping.product(to, catalog_id, retailer_id, body=data.text)
        return "product", data.text or variant.product.title, body
    text = page_link_text(variant, data.text)
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


def deliver(sessions: Sessions, message_id: str) -> str:
    """Send one queued message (no transaction open during the call). Returns its status.
    Throttling and outages raise, so the job is retried; a refusal is recorded on the
    message, with the platform's words."""
    with transaction(sessions.read) as session:
        message = session.get(Message, message_id)
        if message is None or message.status != "queued":
            return message.status if message else "gone"
        account = accounts.get_account(session, message.account_id)
        client, body = accounts.client(session, account, sessions), dict(message.content)
        kind = message.kind
    try:
        with client:
            if kind == "comment_reply":
                platform_id = client.reply_to_comment(body["comment_id"], body["message"])
            else:
                platform_id = client.send(body)
            error = None
    except PlatformUnavailable:
        raise
    except GraphError as exc:  # a refusal (an expired token too: reconnect the account)
        platform_id, error = None, exc.as_record()
    except TikTokError as exc:
        platform_id, error = None, {"code": exc.code, "title": None, "message": str(exc)}
    with transaction(sessions.write) as session:
        message = session.get(Message, message_id, with_for_update=True)
        if message.status != "queued":  # a status webhook got here first
            return message.status
        message.status, message.status_at = ("failed", utcnow()) if error else ("sent", utcnow())
        if platform_id is not None:
            # Meta may echo the message (Messenger, Instagram) before this is recorded:
            # the echo was stored as a copy, which this message now replaces.
            session.execute(
                delete(Message).where(
                    Message.account_id == message.account_id,
                    Message.platform_message_id == platform_id,
                    Message.id != message.id,
                )
            )
        message.platform_message_id, message.error = platform_id, error
        session.flush()
        events.record(
            session,
            f"message.{message.status}",
            message_changed(message),
            key=message.conversation_id,
        )
        return message.status
