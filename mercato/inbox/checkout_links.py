"""A prefilled checkout link sent in a conversation (or as the private reply to a comment):
the shop's cart link (items, coupon) carrying the conversation, so the order it leads to
is attributed to it."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlencode

from sqlalchemy import select
from sqlalchemy.orm import Session

from mercato.catalog.models import Product, Variant
from mercato.channels.models import Listing
from mercato.channels.target import storefront_url
from mercato.errors import FieldError, ValidationFailed
from mercato.inbox import accounts, comments, records, sending
from mercato.inbox.models import InboxAccount, Message
from mercato.inbox.schemas import CartItem, CheckoutLinkCreate, CommentReply, MessageCreate
from mercato.offers import redemptions, rules


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
    session: Session,
    conversation_id: str,
    data: CheckoutLinkCreate,
    now: datetime | None = None,
    *,
    automatic: bool = False,
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
    if data.coupon:  # an offer sent in chat: its code must be one the buyer can use
        try:
            redemptions.usable(session, data.coupon, "inbox", rules.Buyer(), now, rules.ANY_MARKET)
        except ValidationFailed as exc:
            missing.append(FieldError(("coupon",), exc.errors[0].message))
    if missing:
        raise ValidationFailed("The link cannot be sent.", missing)
    link = cart_link(
        [(item.sku, item.quantity) for item in data.items],
        coupon=data.coupon,
        platform=account.platform,
        conversation_id=conversation.id,
    )
    text = f"{data.text}\n{link}" if data.text else link
    if data.comment_id is not None:  # the commenter gets it as the comment's private reply
        if records.message(session, data.comment_id).conversation_id != conversation.id:
            raise ValidationFailed(
                "That comment is not in this conversation.",
                [FieldError(("comment_id",), "not a comment of this conversation")],
            )
        reply = CommentReply(text=text, private=True, author=data.author)
        return comments.reply(session, data.comment_id, reply, now)
    return sending.send(
        session,
        conversation.id,
        MessageCreate(type="text", text=text, author=data.author),
        now,
        automatic=automatic,
        preview_url=True,
    )


def cart_items(session: Session, account: InboxAccount, cart: dict) -> list[CartItem]:
    """The items of a cart sent from the catalog linked to the number (WhatsApp's
    ``order`` message: its catalog's item ids and quantities), as the shop's SKUs; items
    of another catalog, or no longer listed, are left out."""
    if account.catalog_channel_id is None:
        return []
    wanted = {
        str(item.get("product_retailer_id")): int(item.get("quantity") or 1)
        for item in cart.get("product_items") or []
        if isinstance(item, dict)
    }
    skus = dict(
        session.execute(
            select(Listing.item_id, Variant.sku)
            .join(Variant, Variant.id == Listing.variant_id)
            .where(
                Listing.channel_id == account.catalog_channel_id,
                Listing.item_id.in_(list(wanted)),
            )
        ).all()
    )
    return [
        CartItem(sku=skus[item_id], quantity=min(quantity, 100))
        for item_id, quantity in wanted.items()
        if skus.get(item_id)
    ]
