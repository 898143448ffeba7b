"""Fraud screening's tables: the store's thresholds and rule weights, every order's
assessment (its signals, score, reasons and decision) and the log of every decision."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from mercato.db import Amount, Base, JSONType, UTCDateTime, new_id, utcnow

DECISIONS = ("approve", "hold", "cancel")
# passed: approved by the rules; held: waiting for a person; approved / cancelled: a
# person (or the rules, for cancel) decided.
STATUSES = ("passed", "held", "approved", "cancelled")


class FraudSettings(Base):
    """The store's thresholds and rule weights (one row, ``id`` "store")."""

    __tablename__ = "fraud_settings"
    __table_args__ = (
        CheckConstraint("hold_at > 0", name="hold_at_positive"),
        CheckConstraint("cancel_at IS NULL OR cancel_at > hold_at", name="cancel_above_hold"),
    )

    id: Mapped[str] = mapped_column(String(16), primary_key=True, default="store")
    # Off until the merchant turns it on: no order is screened, nothing is stored.
    enabled: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    hold_at: Mapped[int] = mapped_column(Integer)
    # None: the rules never cancel on their own; a person decides every held order.
    cancel_at: Mapped[int | None] = mapped_column(Integer)
    window_minutes: Mapped[int] = mapped_column(Integer)
    # Orders allowed per key within the window before its velocity rule counts.
    limits: Mapped[dict[str, int]] = mapped_column(JSONType())
    # Points of each rule (rules.RULES).
    weights: Mapped[dict[str, int]] = mapped_column(JSONType())
    # A buyer's first order above this (minor units of the order's currency) counts.
    first_order_amount: Mapped[int] = mapped_column(Amount)
    # The same per currency (code -> minor units of it), where one amount does not fit all
    # (¥25,000 is not $250.00); a currency not here uses ``first_order_amount``.
    first_order_amounts: Mapped[dict[str, int] | None] = mapped_column(JSONType())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by: Mapped[str | None] = mapped_column(String(100))


class Assessment(Base):
    """One order screened: what was seen, what each rule said, and the decision."""

    __tablename__ = "fraud_assessments"
    __table_args__ = (
        CheckConstraint(f"decision IN {DECISIONS}", name="decision"),
        CheckConstraint(f"status IN {STATUSES}", name="status"),
        Index("ix_fraud_assessments_status_created", "status", "created_at"),
        Index("ix_fraud_assessments_email_created", "email", "created_at"),
        Index("ix_fraud_assessments_phone_created", "phone", "created_at"),
        Index("ix_fraud_assessments_card_created", "card_fingerprint", "created_at"),
        Index("ix_fraud_assessments_ip_created", "ip", "created_at"),
        Index("ix_fraud_assessments_device_created", "device_id", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("fra"))
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), unique=True)
    order_number: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    channel: Mapped[str] = mapped_column(String(40))
    amount: Mapped[int] = mapped_column(Amount)
    currency: Mapped[str] = mapped_column(String(3))
    # The keys counted for velocity, as seen (email lower-cased).
    email: Mapped[str | None] = mapped_column(String(320))
    phone: Mapped[str | None] = mapped_column(String(32))
    card_fingerprint: Mapped[str | None] = mapped_column(String(64))
    ip: Mapped[str | None] = mapped_column(String(64))
    device_id: Mapped[str | None] = mapped_column(String(128))
    # Every signal read, e.g. countries, the provider's risk level, earlier orders.
    signals: Mapped[dict[str, Any]] = mapped_column(JSONType(), default=dict)
    # [{"rule", "points", "reason"}]: why the score is what it is.
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSONType(), default=list)
    score: Mapped[int] = mapped_column(Integer)
    decision: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by: Mapped[str | None] = mapped_column(String(100))


class Decision(Base):
    """The log: every decision on an assessment, by the rules or by a person."""

    __tablename__ = "fraud_decisions"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    assessment_id: Mapped[str] = mapped_column(
        ForeignKey("fraud_assessments.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(100))
    decision: Mapped[str] = mapped_column(String(16))
    # Why: the rules' reasons in a line, or the reviewer's own words.
    why: Mapped[str] = mapped_column(Text)
