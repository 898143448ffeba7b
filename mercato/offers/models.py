"""Offers, their codes, their redemptions and the counters that cap them.

Caps are guarded by the database as stock is: a redemption takes its slot with one
conditional UPDATE of a counter (``used < max_uses``) and checks the row count; CHECK
constraints keep ``0 <= used <= max_uses``.
"""

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
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from mercato.db import Amount, Base, JSONType, UTCDateTime, new_id, utcnow

OFFER_KINDS = ("percentage", "fixed", "free_shipping", "buy_x_get_y", "tiered", "bundle")
REDEMPTION_STATUSES = ("held", "redeemed", "voided")
# Where a code was redeemed: the storefront checkout, a checkout link sent in the inbox,
# a till, an offline batch imported afterwards.
REDEMPTION_CHANNELS = ("storefront", "inbox", "pos", "import")


class Offer(Base):
    __tablename__ = "offers"
    __table_args__ = (
        CheckConstraint(f"kind IN {OFFER_KINDS}", name="kind"),
        CheckConstraint("value >= 0", name="value_not_negative"),
        CheckConstraint("used >= 0", name="used_not_negative"),
        CheckConstraint("max_uses IS NULL OR used <= max_uses", name="used_within_cap"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("off"))
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    # Percent (1-100) for percentage, buy_x_get_y (100 = free); minor units of
    # ``currency`` for fixed and for bundle (the bundle's price); unused (0) for
    # free_shipping and tiered.
    value: Mapped[int] = mapped_column(Integer, default=0)
    currency: Mapped[str | None] = mapped_column(String(3))
    # tiered: [{"min_subtotal": minor units, "percentage": n} | {..., "amount": minor}]
    tiers: Mapped[list[dict[str, Any]]] = mapped_column(JSONType(), default=list)
    # bundle: [{"variant_id": id, "quantity": n} | {"product_id": id, "quantity": n}]
    bundle: Mapped[list[dict[str, Any]]] = mapped_column(
        JSONType(), default=list, server_default="[]"
    )
    buy_quantity: Mapped[int | None] = mapped_column(Integer)
    get_quantity: Mapped[int | None] = mapped_column(Integer)
    # Scope: empty lists mean every product, variant, channel, market. A line is in scope
    # when its product, its variant or one of its product's collections is listed.
    product_ids: Mapped[list[str]] = mapped_column(JSONType(), default=list)
    variant_ids: Mapped[list[str]] = mapped_column(JSONType(), default=list)
    collection_ids: Mapped[list[str]] = mapped_column(JSONType(), default=list, server_default="[]")
    channels: Mapped[list[str]] = mapped_column(JSONType(), default=list)
    # Market codes (``mercato.markets``): redeemable only on a checkout priced in one.
    markets: Mapped[list[str]] = mapped_column(JSONType(), default=list, server_default="[]")
    segment_id: Mapped[str | None] = mapped_column(
        ForeignKey("customer_segments.id", ondelete="SET NULL")
    )
    first_order_only: Mapped[bool] = mapped_column(Boolean, default=False)
    min_subtotal: Mapped[int | None] = mapped_column(Amount)
    # Which classes of offer (``combining.CLASSES``) may be redeemed with this one on the
    # same checkout or ticket; each of the two offers must allow the other's.
    combines_with_product: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )
    combines_with_order: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )
    combines_with_shipping: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )
    starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    max_uses: Mapped[int | None] = mapped_column(Integer)
    used: Mapped[int] = mapped_column(Integer, default=0)
    per_customer: Mapped[int | None] = mapped_column(Integer)
    # The creator this offer's codes belong to (commission, their page).
    creator_id: Mapped[str | None] = mapped_column(String(40), index=True)
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def combinable(self) -> bool:
        """Combines with every class (the single yes/no offers had before the classes)."""
        return (
            self.combines_with_product and self.combines_with_order and self.combines_with_shipping
        )

    @property
    def discount_class(self) -> str:
        """What it takes money off (``combining``): some items ("product"), the order,
        or its shipping."""
        if self.kind == "free_shipping":
            return "shipping"
        if self.kind in ("buy_x_get_y", "bundle"):
            return "product"
        if self.product_ids or self.variant_ids or self.collection_ids:
            return "product"
        return "order"


class OfferCode(Base):
    """A code that redeems an offer: one public code, or one of many single-use ones."""

    __tablename__ = "offer_codes"
    __table_args__ = (
        CheckConstraint("used >= 0", name="used_not_negative"),
        CheckConstraint("max_uses IS NULL OR used <= max_uses", name="used_within_cap"),
        Index("ix_offer_codes_offer_id_code", "offer_id", "code"),
    )

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    offer_id: Mapped[str] = mapped_column(ForeignKey("offers.id", ondelete="CASCADE"))
    max_uses: Mapped[int | None] = mapped_column(Integer)
    used: Mapped[int] = mapped_column(Integer, default=0)
    # Which generation made it (bulk codes), to export them together.
    batch: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OfferCustomerUse(Base):
    """How many times one buyer redeemed one offer (its per-customer cap)."""

    __tablename__ = "offer_customer_uses"
    __table_args__ = (CheckConstraint("used >= 0", name="used_not_negative"),)

    offer_id: Mapped[str] = mapped_column(
        ForeignKey("offers.id", ondelete="CASCADE"), primary_key=True
    )
    # "customer:<id>", or a hash of the email/phone/reference a buyer was known by.
    customer_key: Mapped[str] = mapped_column(String(80), primary_key=True)
    customer_id: Mapped[str | None] = mapped_column(
        ForeignKey("customers.id", ondelete="SET NULL"), index=True
    )
    used: Mapped[int] = mapped_column(Integer, default=0)


class Redemption(Base):
    """One use of a code: held while a checkout is being paid, redeemed, or voided (its
    slot given back). Unique on (channel, reference): a retried request redeems once."""

    __tablename__ = "offer_redemptions"
    __table_args__ = (
        CheckConstraint(f"status IN {REDEMPTION_STATUSES}", name="status"),
        CheckConstraint(f"channel IN {REDEMPTION_CHANNELS}", name="channel"),
        UniqueConstraint("channel", "reference", "code", name="uq_offer_redemptions_reference"),
        Index("ix_offer_redemptions_offer_id_status", "offer_id", "status"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("red"))
    offer_id: Mapped[str] = mapped_column(ForeignKey("offers.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(64), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    # The checkout id, the till's ticket, the imported row: what this use belongs to.
    reference: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16))
    customer_key: Mapped[str | None] = mapped_column(String(80))
    customer_id: Mapped[str | None] = mapped_column(
        ForeignKey("customers.id", ondelete="SET NULL"), index=True
    )
    checkout_id: Mapped[str | None] = mapped_column(String(40), index=True)
    order_id: Mapped[str | None] = mapped_column(
        ForeignKey("orders.id", ondelete="SET NULL"), index=True
    )
    # What the offer took off, in ``currency`` (known at the till or once priced).
    amount: Mapped[int] = mapped_column(Amount, default=0)
    currency: Mapped[str | None] = mapped_column(String(3))
    # What the ticket or order came to before the discount (ROI: revenue behind it).
    subtotal: Mapped[int] = mapped_column(Amount, default=0)
    location_id: Mapped[str | None] = mapped_column(String(100))
    terminal_id: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    redeemed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    voided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
