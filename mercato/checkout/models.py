from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    false,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mercato.crypto import ContactKeys, Encrypted, EncryptedJSON
from mercato.db import Amount, Base, DecimalString, JSONType, UTCDateTime, new_id, utcnow

CHECKOUT_STATUSES = ("open", "completed", "expired")


class Checkout(ContactKeys, Base):
    """A buyer's checkout session. Reached through a secret token kept only as a hash."""

    __tablename__ = "checkouts"
    __table_args__ = (
        CheckConstraint(f"status IN {CHECKOUT_STATUSES}", name="status"),
        Index("ix_checkouts_status_expires_at", "status", "expires_at"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("chk"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="open")
    currency: Mapped[str] = mapped_column(String(3))
    locale: Mapped[str] = mapped_column(String(20), default="en")
    reservation_id: Mapped[str | None] = mapped_column(String(40))
    # How many holds this checkout has taken (each has its own inventory reference).
    holds: Mapped[int] = mapped_column(Integer, default=1)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The live drop's admission it was started with: should it expire unpaid, the drop's
    # gate gets the units back (live.gate).
    admission_ticket: Mapped[str | None] = mapped_column(String(64), index=True)

    # The buyer's details, encrypted at rest (mercato.crypto); email and phone found by
    # their keyed hashes.
    email: Mapped[str | None] = mapped_column(Encrypted())
    email_hash: Mapped[str | None] = mapped_column(String(64))
    phone: Mapped[str | None] = mapped_column(Encrypted())
    phone_hash: Mapped[str | None] = mapped_column(String(64))
    shipping_address: Mapped[dict[str, Any] | None] = mapped_column(EncryptedJSON())
    shipping_rate: Mapped[str | None] = mapped_column(String(64))
    # The codes applied, in the order entered (at most ``combining.MAX_CODES``), each with
    # what it took off the items as last priced: [{"code", "amount", "free_shipping"}].
    discount_codes: Mapped[list[dict[str, Any]]] = mapped_column(
        JSONType(), default=list, server_default="[]"
    )
    attribution: Mapped[dict[str, Any]] = mapped_column(JSONType(), default=dict)
    customer_id: Mapped[str | None] = mapped_column(ForeignKey("customers.id", ondelete="SET NULL"))
    # Hash of the visitor's cookie: how many checkouts one visitor holds (limits.py).
    visitor: Mapped[str | None] = mapped_column(String(64), index=True)
    remember: Mapped[bool] = mapped_column(Boolean, default=False)
    # The buyer ticked the marketing box (paying.MARKETING_WORDING); recorded as their
    # consent when the order is placed. Never ticked for them.
    marketing_opt_in: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # The same for recommendations picked for them (paying.PERSONALISATION_WORDING).
    personalisation_opt_in: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )

    subtotal: Mapped[int] = mapped_column(Amount, default=0)
    discount_total: Mapped[int] = mapped_column(Amount, default=0)
    shipping_total: Mapped[int] = mapped_column(Amount, default=0)
    tax_total: Mapped[int] = mapped_column(Amount, default=0)
    taxes_included: Mapped[bool] = mapped_column(Boolean, default=False)
    total: Mapped[int] = mapped_column(Amount, default=0)

    # The market the buyer shops in (markets); the exchange rate its prices were converted
    # with (units per one of the base currency) and that rate's date.
    market: Mapped[str | None] = mapped_column(String(32))
    fx_rate: Mapped[Decimal | None] = mapped_column(DecimalString)
    fx_date: Mapped[date | None] = mapped_column(Date)
    # Landed cost: import duties, in ``total`` when the market delivers duties paid
    # ("ddp"), else payable on delivery ("dap"); not known when a line has no HS code.
    duties_total: Mapped[int] = mapped_column(Amount, default=0, server_default="0")
    duties_mode: Mapped[str | None] = mapped_column(String(8))
    duties_known: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    # Why the tax is what it is (markets.taxes: domestic, oss, reverse-charge, import...),
    # and the buyer's VAT number when buying as a business.
    tax_reason: Mapped[str | None] = mapped_column(String(32))
    tax_id: Mapped[str | None] = mapped_column(String(32))

    # Completion attempts in the current window (rate limit across processes).
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    attempts_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    order_id: Mapped[str | None] = mapped_column(
        ForeignKey("orders.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def codes(self) -> list[str]:
        return [d["code"] for d in self.discount_codes or ()]

    lines: Mapped[list[CheckoutLine]] = relationship(
        order_by="CheckoutLine.position", cascade="all, delete-orphan"
    )


class CheckoutLine(Base):
    __tablename__ = "checkout_lines"
    __table_args__ = (CheckConstraint("quantity > 0", name="quantity_positive"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("chl"))
    checkout_id: Mapped[str] = mapped_column(
        ForeignKey("checkouts.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    variant_id: Mapped[str] = mapped_column(ForeignKey("variants.id", ondelete="CASCADE"))
    quantity: Mapped[int] = mapped_column(Integer)
    # Priced when the checkout was made, in the checkout's currency.
    unit_price: Mapped[int] = mapped_column(Amount)
    discount: Mapped[int] = mapped_column(Amount, default=0)
    tax: Mapped[int] = mapped_column(Amount, default=0)
