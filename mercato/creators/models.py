from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mercato.db import Amount, Base, JSONType, UTCDateTime, new_id, utcnow

COMMISSION_KINDS = ("percentage", "fixed")
ENTRY_KINDS = ("earned", "clawback")
TRANSFER_STATUSES = ("pending", "paid", "refused")


class Creator(Base):
    __tablename__ = "creators"
    __table_args__ = (
        CheckConstraint(f"commission_kind IN {COMMISSION_KINDS}", name="commission_kind"),
        CheckConstraint("commission_value >= 0", name="commission_value_not_negative"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("cre"))
    # What their links carry (``?ref=<handle>``) and the ledger's touches name.
    handle: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # percentage: basis points of the line's price after discount, before tax (1000 =
    # 10%); fixed: minor units of the order's currency per unit sold.
    commission_kind: Mapped[str] = mapped_column(String(16))
    commission_value: Mapped[int] = mapped_column(Integer)
    # Per product: {product_id: {"kind": ..., "value": ...}}, over the default above.
    product_commissions: Mapped[dict[str, Any]] = mapped_column(JSONType(), default=dict)
    # Per collection: {collection_id: {"kind": ..., "value": ...}}, under a product's own
    # rate; a product in several takes the one that pays the most for its line.
    collection_commissions: Mapped[dict[str, Any]] = mapped_column(
        JSONType(), default=dict, server_default="{}"
    )
    # Performance tiers over the default percentage, by the creator's attributed net
    # revenue in the calendar month (store's zone): [{"above": minor units, "value": bps}]
    # ascending; each rate applies to the part of the revenue above its threshold only.
    tiers: Mapped[list[dict[str, int]]] = mapped_column(
        JSONType(), default=list, server_default="[]"
    )
    # Their connected Stripe account (acct_...): payouts go to it as Stripe transfers.
    stripe_account: Mapped[str | None] = mapped_column(String(255))
    # The private page's token, kept only as a hash.
    page_token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Payout(Base):
    __tablename__ = "creator_payouts"

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("cpo"))
    creator_id: Mapped[str] = mapped_column(
        ForeignKey("creators.id", ondelete="CASCADE"), index=True
    )
    currency: Mapped[str] = mapped_column(String(3))
    period_start: Mapped[datetime] = mapped_column(UTCDateTime)
    period_end: Mapped[datetime] = mapped_column(UTCDateTime)
    amount: Mapped[int] = mapped_column(Amount)
    entries: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    transfer: Mapped[Transfer | None] = relationship(lazy="selectin", uselist=False)


class Commission(Base):
    """One line of a creator's ledger: a commission earned on an order, or a part of it
    clawed back by a refund (negative). Unique on (order, reference): an event handled
    twice writes once."""

    __tablename__ = "creator_commissions"
    __table_args__ = (
        CheckConstraint(f"kind IN {ENTRY_KINDS}", name="kind"),
        UniqueConstraint("order_id", "reference", name="uq_creator_commissions_order_reference"),
        Index("ix_creator_commissions_creator_id_at", "creator_id", "at"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("cco"))
    creator_id: Mapped[str] = mapped_column(ForeignKey("creators.id", ondelete="CASCADE"))
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    # "earned", or "refund:<refund id>"
    reference: Mapped[str] = mapped_column(String(60))
    kind: Mapped[str] = mapped_column(String(10))
    # Why the creator was credited: "code" (their code redeemed) or "link" (their touch).
    basis: Mapped[str] = mapped_column(String(10))
    code: Mapped[str | None] = mapped_column(String(64))
    currency: Mapped[str] = mapped_column(String(3))
    # The sale behind it: the order's items after discount, before tax (negative for a
    # refund's share); and the commission (negative when clawed back).
    revenue: Mapped[int] = mapped_column(Amount)
    amount: Mapped[int] = mapped_column(Amount)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    payout_id: Mapped[str | None] = mapped_column(
        ForeignKey("creator_payouts.id", ondelete="SET NULL"), index=True
    )


class Transfer(Base):
    """A payout sent to the creator's connected Stripe account: written (pending) before
    Stripe is asked, then paid (with Stripe's transfer id) or refused (with Stripe's
    words). A retry sends the same idempotency key, so Stripe never moves it twice."""

    __tablename__ = "creator_transfers"
    __table_args__ = (CheckConstraint(f"status IN {TRANSFER_STATUSES}", name="status"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("ctr"))
    payout_id: Mapped[str] = mapped_column(
        ForeignKey("creator_payouts.id", ondelete="CASCADE"), unique=True
    )
    destination: Mapped[str] = mapped_column(String(255))
    amount: Mapped[int] = mapped_column(Amount)
    currency: Mapped[str] = mapped_column(String(3))
    idempotency_key: Mapped[str] = mapped_column(String(255), unique=True)
    status: Mapped[str] = mapped_column(String(10))
    transfer_ref: Mapped[str | None] = mapped_column(String(255))
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Post(Base):
    """A post of a creator's (or the shop's, without one), by the id the ledger's touches
    carry in ``post`` (a platform's media id, or the ``content_id`` of a link), tagged
    with the products it shows."""

    __tablename__ = "creator_posts"

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("cpt"))
    reference: Mapped[str] = mapped_column(String(255), unique=True)
    creator_id: Mapped[str | None] = mapped_column(
        ForeignKey("creators.id", ondelete="CASCADE"), index=True
    )
    channel: Mapped[str | None] = mapped_column(String(100))
    url: Mapped[str | None] = mapped_column(String(2000))
    title: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PostProduct(Base):
    __tablename__ = "creator_post_products"
    __table_args__ = (Index("ix_creator_post_products_product_id", "product_id"),)

    post_id: Mapped[str] = mapped_column(
        ForeignKey("creator_posts.id", ondelete="CASCADE"), primary_key=True
    )
    product_id: Mapped[str] = mapped_column(
        ForeignKey("products.id", ondelete="CASCADE"), primary_key=True
    )
