"""A prefilled checkout link sent in a conversation: the shop's cart link (items, coupon)
carrying the conversation, so the order it leads to is attributed to it."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlencode

from sqlalchemy import select
from sqlalchemy.orm import Session

from mercato.catalog.models import Product, Variant
from mercato.channels.target import storefront_url
from mercato.errors import FieldError, ValidationFailed
from mercato.inbox import accounts, records, sending
from mercato.inbox.models import Message
from mercato.inbox.schemas import CheckoutLinkCreate, MessageCreate


def cart_link(
    items: list[tuple[str, int]], *, coupon: str | None, platform: str, conversation_id: str
) -> str:
    """The storefront's cart link (``/shop/cart?items=SKU:QTY,...``) with attribution."""
    query = {"items": ",".join(f"{sku}:{quantity}" for sku, quantity in items)}
    if coupon:
        query["coupon"] = coupon
    query |= {
        "ch": platform,
        "conv": conversation_id,
        "utm_source": platform,
        "utm_medium": "chat",
    }
    return f"{storefront_url()}/shop/cart?{urlencode(query, safe=':,')}"


def send_link(
    session: Session, conversation_id: str, data: CheckoutLinkCreate, now: datetime | None = None
) -> Message:
    conversation = records.conversation(session, conversation_id)
    account = accounts.get_account(session, conversation.account_id)
    skus = [item.sku for item in data.items]
    sold = set(
        session.scalars(
            select(Variant.sku)
            .join(Product)
            .where(Variant.sku.in_(skus), Product.status == "active")
        )
    )
    missing = [
        FieldError(("items", n, "sku"), "is not for sale")
        for n, sku in enumerate(skus)
        if sku not in sold
    ]
    if missing:
        raise ValidationFailed("Some items cannot be bought.", missing)
    link = cart_link(
        [(item.sku, item.quantity) for item in data.items],
        coupon=data.coupon,
        platform=account.platform,
        conversation_id=conversation.id,
    )
    text = f"{data.text}\n{link}" if data.text else link
    return sending.send(
        session,
        conversation.id,
        MessageCreate(type="text", text=text, author=data.author),
        now,
        preview_url=True,
    )
