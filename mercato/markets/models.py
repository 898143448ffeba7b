"""Markets: where the shop sells, in which currency and language, taxes shown how."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, String, text
from sqlalchemy.orm import Mapped, mapped_column

from mercato.db import Amount, Base, JSONType, UTCDateTime, utcnow

TAX_MODES = ("inclusive", "exclusive")
DUTY_MODES = ("ddp", "dap")


class Market(Base):
    """Countries sold to as one: their currency, languages (the first the default), how
    prices show tax, whether duties are charged at checkout (DDP) or left to the buyer
    on delivery (DAP), and how converted prices end (.99, .95)."""

    __tablename__ = "markets"
    __table_args__ = (
        CheckConstraint(f"tax_mode IN {TAX_MODES}", name="tax_mode"),
        CheckConstraint(f"duties IN {DUTY_MODES}", name="duties"),
    )

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    countries: Mapped[list[str]] = mapped_column(JSONType(), default=list)
    currency: Mapped[str] = mapped_column(String(3))
    languages: Mapped[list[str]] = mapped_column(JSONType(), default=list)
    tax_mode: Mapped[str] = mapped_column(String(16))
    duties: Mapped[str] = mapped_column(String(8), default="dap")
    # Converted prices end in this fraction of the major unit ("0.99", "0.95"); None: as
    # rounded per currency.
    price_ending: Mapped[str | None] = mapped_column(String(8))
    # Stripe's payment method types offered to its buyers, as the PaymentIntent lists them
    # (``payments.methods``): card, ideal, bancontact, klarna, pix, boleto.
    payment_methods: Mapped[list[str]] = mapped_column(
        JSONType(), default=lambda: ["card"], server_default=text("'[\"card\"]'")
    )
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MarketPrice(Base):
    """A variant's price in a market's price list, in the market's currency: it wins over
    conversion."""

    __tablename__ = "market_prices"
    __table_args__ = (CheckConstraint("amount >= 0", name="amount_not_negative"),)

    market_code: Mapped[str] = mapped_column(
        ForeignKey("markets.code", ondelete="CASCADE"), primary_key=True
    )
    variant_id: Mapped[str] = mapped_column(
        ForeignKey("variants.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    amount: Mapped[int] = mapped_column(Amount)
