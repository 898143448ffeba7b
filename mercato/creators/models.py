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
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from mercato.db import Amount, Base, JSONType, UTCDateTime, new_id, utcnow

COMMISSION_KINDS = ("percentage", "fixed")
ENTRY_KINDS = ("earned", "clawback")


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
