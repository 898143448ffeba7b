from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from mercato.db import Base, JSONType, UTCDateTime, new_id, utcnow


class Customer(Base):
    """A buyer who asked to be remembered. Payment methods are the provider's tokens only."""

    __tablename__ = "customers"

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("cus"))
    email: Mapped[str | None] = mapped_column(String(320), unique=True)
    phone: Mapped[str | None] = mapped_column(String(32), unique=True)
    name: Mapped[str | None] = mapped_column(String(255))
    address: Mapped[dict[str, Any] | None] = mapped_column(JSONType())
    # The provider's own references (e.g. Stripe cus_... and pm_...), never card data.
    payment_provider: Mapped[str | None] = mapped_column(String(32))
    payment_customer_ref: Mapped[str | None] = mapped_column(String(255))
    payment_method_ref: Mapped[str | None] = mapped_column(String(255))
    payment_method_label: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class LoginLink(Base):
    """A one-time sign-in link sent to a customer. The link is signed and carries this
    row's id; the row makes it single use and says which checkout to return to."""

    __tablename__ = "customer_login_links"

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("lgn"))
    customer_id: Mapped[str] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    checkout_id: Mapped[str | None] = mapped_column(
        ForeignKey("checkouts.id", ondelete="SET NULL"), index=True
    )
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
