from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Sequence,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from mercato.crypto import (
    Encrypted,
    EncryptedJSON,
    country_of,
    email_key,
    search_terms,
    value_key,
)
from mercato.db import Amount, Base, DecimalString, JSONType, UTCDateTime, new_id, utcnow

ORDER_STATUSES = ("pending", "open", "on_hold", "completed", "cancelled")
PAYMENT_STATUSES = ("pending", "authorized", "paid", "partially_refunded", "refunded", "voided")
FULFILLMENT_STATUSES = ("unfulfilled", "partially_fulfilled", "fulfilled")

# Order numbers on PostgreSQL come from this sequence (no hot counter row under load).
ORDER_NUMBERS = Sequence("order_numbers", start=1001, metadata=Base.metadata)


class Order(Base):
    __tablename__ = "orders"
    __table_args__ = (
        UniqueConstraint("channel", "external_id"),
        CheckConstraint(f"status IN {ORDER_STATUSES}", name="status"),
        CheckConstraint(f"payment_status IN {PAYMENT_STATUSES}", name="payment_status"),
        CheckConstraint(f"fulfillment_status IN {FULFILLMENT_STATUSES}", name="fulfillment_status"),
        Index("ix_orders_placed_at_id", "placed_at", "id"),
        Index("ix_orders_status_id", "status", "id"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("ord"))
    number: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), unique=True)
    # A channel connection id, or "storefront" for Mercato's own checkout.
    channel: Mapped[str] = mapped_column(String(40))
    external_id: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    payment_status: Mapped[str] = mapped_column(String(24), default="pending")
    fulfillment_status: Mapped[str] = mapped_column(String(24), default="unfulfilled")
    # Why a person must look at it (e.g. the platform sold stock Mercato no longer had).
    attention_reason: Mapped[str | None] = mapped_column(Text)
    # The platform's own status and when the platform last changed the order: later
    # events win, earlier ones never move the order back (orders.intake).
    external_status: Mapped[str | None] = mapped_column(String(40))
    external_updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Did importing take the units out of stock? "none" (not by the order: manual and
    # storefront orders), "committed" (orders.stock took them), "short" (could not).
    stock_state: Mapped[str] = mapped_column(String(16), default="none", server_default="none")

    currency: Mapped[str] = mapped_column(String(3))
    subtotal: Mapped[int] = mapped_column(Amount)
    discount_total: Mapped[int] = mapped_column(Amount, default=0)
    # The codes that gave the discount, each with what it took off: [{"code", "amount"}].
    discount_codes: Mapped[list[dict[str, Any]]] = mapped_column(
        JSONType(), default=list, server_default="[]"
    )
    shipping_total: Mapped[int] = mapped_column(Amount, default=0)
    tax_total: Mapped[int] = mapped_column(Amount, default=0)
    # Import duties charged with the order (a market delivering duties paid), in ``total``.
    duties_total: Mapped[int] = mapped_column(Amount, default=0, server_default="0")
    # Taxes already inside the prices (VAT) are not added again.
    taxes_included: Mapped[bool] = mapped_column(default=False)
    total: Mapped[int] = mapped_column(Amount)
    # The market it was sold in, and the exchange rate its prices were converted with
    # (units of ``currency`` per one of the store's base currency) and that rate's date.
    market: Mapped[str | None] = mapped_column(String(32))
    fx_rate: Mapped[Decimal | None] = mapped_column(DecimalString)
    fx_date: Mapped[date | None] = mapped_column(Date)
    refunded_total: Mapped[int] = mapped_column(Amount, default=0)

    # The buyer's profile (customers.identities): the row their identities were linked
    # to; its ``profile_id`` names the whole profile, through merges and unmerges.
    customer_id: Mapped[str | None] = mapped_column(
        ForeignKey("customers.id", ondelete="SET NULL"), index=True
    )
    # The buyer's details, encrypted at rest (mercato.crypto): email and phone looked up
    # by their keyed hashes, name and email searched by the keyed hashes of their words,
    # the shipping country kept in clear for segments.
    customer_name: Mapped[str | None] = mapped_column(Encrypted())
    customer_email: Mapped[str | None] = mapped_column(Encrypted())
    customer_email_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    customer_phone: Mapped[str | None] = mapped_column(Encrypted())
    customer_phone_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    search_terms: Mapped[str | None] = mapped_column(Text)
    shipping_address: Mapped[dict[str, Any] | None] = mapped_column(EncryptedJSON())
    shipping_country: Mapped[str | None] = mapped_column(String(2))
    billing_address: Mapped[dict[str, Any] | None] = mapped_column(EncryptedJSON())

    # Where the sale came from, as the platform or the link said (for attribution).
    source: Mapped[str | None] = mapped_column(String(100))
    campaign: Mapped[str | None] = mapped_column(String(255))
    content_id: Mapped[str | None] = mapped_column(String(255))
    creator: Mapped[str | None] = mapped_column(String(255))
    attribution: Mapped[dict[str, Any]] = mapped_column(JSONType(), default=dict)

    note: Mapped[str | None] = mapped_column(Encrypted())
    placed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def name(self) -> str:
        return f"#{self.number}"

    @validates("customer_name", "customer_email")
    def _search_buyer(self, key: str, value: str | None) -> str | None:
        names = {"customer_name": self.customer_name, "customer_email": self.customer_email}
        names[key] = value
        self.search_terms = search_terms(names=tuple(names.values()))
        if key == "customer_email":
            self.customer_email_hash = email_key(value)
        return value

    @validates("customer_phone")
    def _hash_phone(self, _: str, value: str | None) -> str | None:
        self.customer_phone_hash = value_key(value)
        return value

    @validates("shipping_address")
    def _keep_country(self, _: str, value: dict[str, Any] | None) -> dict[str, Any] | None:
        self.shipping_country = country_of(value)
        return value

    lines: Mapped[list[OrderLine]] = relationship(
        back_populates="order", order_by="OrderLine.position", cascade="all, delete-orphan"
    )
    timeline: Mapped[list[OrderActivity]] = relationship(
        order_by="OrderActivity.id", cascade="all, delete-orphan"
    )


class OrderLine(Base):
    __tablename__ = "order_lines"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint(
            "fulfilled_quantity >= 0 AND fulfilled_quantity <= quantity",
            name="fulfilled_within_quantity",
        ),
        CheckConstraint(
            "restocked_quantity >= 0 AND restocked_quantity + fulfilled_quantity <= quantity",
            name="restocked_within_unshipped",
        ),
        CheckConstraint(
            "refunded_quantity >= 0 AND refunded_quantity <= quantity",
            name="refunded_within_quantity",
        ),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("oli"))
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    # Snapshot: the line keeps what was sold even if the variant changes or goes.
    variant_id: Mapped[str | None] = mapped_column(
        ForeignKey("variants.id", ondelete="SET NULL"), index=True
    )
    sku: Mapped[str | None] = mapped_column(String(255))
    title: Mapped[str] = mapped_column(String(255))
    variant_title: Mapped[str | None] = mapped_column(String(255))
    external_id: Mapped[str | None] = mapped_column(String(255))
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price: Mapped[int] = mapped_column(Amount)
    discount: Mapped[int] = mapped_column(Amount, default=0)
    tax: Mapped[int] = mapped_column(Amount, default=0)
    total: Mapped[int] = mapped_column(Amount)
    fulfilled_quantity: Mapped[int] = mapped_column(Integer, default=0)
    refunded_quantity: Mapped[int] = mapped_column(Integer, default=0)
    # Unshipped units put back on hand (a cancellation, a refund with restock): never twice.
    restocked_quantity: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    order: Mapped[Order] = relationship(back_populates="lines")


class OrderActivity(Base):
    """The order's timeline: who did what, when."""

    __tablename__ = "order_activities"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(50))
    message: Mapped[str] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(JSONType(), default=dict)


class Fulfillment(Base):
    """Items shipped together under one tracking number."""

    __tablename__ = "fulfillments"

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("ful"))
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    carrier: Mapped[str | None] = mapped_column(String(100))
    tracking_number: Mapped[str | None] = mapped_column(String(255))
    tracking_url: Mapped[str | None] = mapped_column(String(2048))
    # [{"line_id": ..., "quantity": ...}]
    lines: Mapped[list[dict[str, Any]]] = mapped_column(JSONType())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# pending: recorded, the payment provider not yet answered (the money has not moved);
# refunded: the money is back with the buyer (or the platform refunds it);
# failed: the provider refused it; nothing was returned.
REFUND_STATUSES = ("pending", "refunded", "failed")


class Refund(Base):
    """Money given back on an order. A refund of an order paid through Mercato's checkout
    is pending until its payment provider has returned the money; only then does it
    count in the order's refunded total."""

    __tablename__ = "refunds"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint(f"status IN {REFUND_STATUSES}", name="status"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("rfd"))
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    amount: Mapped[int] = mapped_column(Amount)
    currency: Mapped[str] = mapped_column(String(3))
    reason: Mapped[str | None] = mapped_column(Text)
    lines: Mapped[list[dict[str, Any]]] = mapped_column(JSONType(), default=list)
    restock: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(
        String(16), default="refunded", server_default="refunded", index=True
    )
    # The checkout payment the money goes back to (None: a platform's or a manual order).
    payment_id: Mapped[str | None] = mapped_column(String(40))
    provider_ref: Mapped[str | None] = mapped_column(String(255))
    # Why the provider refused it, as the merchant sees it.
    failure_message: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


RETURN_STATUSES = ("requested", "received", "refunded")


class Return(Base):
    """Items the buyer sends back: requested -> received (restocked) -> refunded."""

    __tablename__ = "order_returns"
    __table_args__ = (CheckConstraint(f"status IN {RETURN_STATUSES}", name="status"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("ret"))
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="requested")
    # [{"line_id": ..., "quantity": ...}]
    lines: Mapped[list[dict[str, Any]]] = mapped_column(JSONType())
    restock: Mapped[bool] = mapped_column(default=True)
    reason: Mapped[str | None] = mapped_column(Text)
    refund_id: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


INBOUND_STATES = ("received", "processed", "failed")


class InboundEvent(Base):
    """A platform's webhook as received (raw bytes), unique per channel and event id."""

    __tablename__ = "inbound_events"
    __table_args__ = (
        UniqueConstraint("channel_id", "event_id"),
        CheckConstraint(f"state IN {INBOUND_STATES}", name="state"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("inb"))
    channel_id: Mapped[str] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"))
    event_id: Mapped[str] = mapped_column(String(255))
    body: Mapped[bytes] = mapped_column(LargeBinary)
    state: Mapped[str] = mapped_column(String(16), default="received")
    error: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class OrderSyncCursor(Base):
    """How far polling has read a channel's orders (their platform update time)."""

    __tablename__ = "order_sync_cursors"

    channel_id: Mapped[str] = mapped_column(
        ForeignKey("channels.id", ondelete="CASCADE"), primary_key=True
    )
    updated_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    polled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
