from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from mercato.db import Amount, Base, UTCDateTime, new_id, utcnow

# pending: recorded before the provider is asked (its answer is not known yet);
# refund_due: charged, but the order could not be placed, so the charge goes back;
# voided: given up with nothing charged.
PAYMENT_STATUSES = (
    "pending",
    "processing",
    "requires_action",
    "succeeded",
    "declined",
    "refund_due",
    "voided",
    "refunded",
    "partially_refunded",
)


class Payment(Base):
    """One payment attempt of a checkout. (checkout, attempt key) is unique: a replayed
    attempt finds its row instead of charging again. Written before the provider is
    asked, so no charge is ever made without a row to find it by: a succeeded payment
    ends attached to its order, or refunded."""

    __tablename__ = "payments"
    __table_args__ = (
        UniqueConstraint("checkout_id", "attempt_key"),
        CheckConstraint(f"status IN {PAYMENT_STATUSES}", name="status"),
        CheckConstraint("amount >= 0", name="amount_not_negative"),
        Index("ix_payments_status_updated_at", "status", "updated_at"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("pay"))
    checkout_id: Mapped[str] = mapped_column(
        ForeignKey("checkouts.id", ondelete="CASCADE"), index=True
    )
    attempt_key: Mapped[str] = mapped_column(String(255))
    provider: Mapped[str] = mapped_column(String(32))
    # The method type paid with (card, ideal, boleto...), once known.
    method: Mapped[str | None] = mapped_column(String(32))
    intent_ref: Mapped[str | None] = mapped_column(String(255), index=True)
    status: Mapped[str] = mapped_column(String(24))
    amount: Mapped[int] = mapped_column(Amount)
    currency: Mapped[str] = mapped_column(String(3))
    refunded: Mapped[int] = mapped_column(Amount, default=0)
    order_id: Mapped[str | None] = mapped_column(
        ForeignKey("orders.id", ondelete="SET NULL"), index=True
    )
    failure_code: Mapped[str | None] = mapped_column(String(64))
    # Why a payment failed, or why its charge was given back.
    failure_message: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ProviderAccount(Base):
    """A configured payment provider. Its secrets are encrypted at rest."""

    __tablename__ = "payment_providers"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    active: Mapped[bool] = mapped_column(default=False)
    # Public settings (publishable key, API base of a stand-in) in clear.
    public_key: Mapped[str | None] = mapped_column(String(255))
    api_base: Mapped[str | None] = mapped_column(String(255))
    secrets_encrypted: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
