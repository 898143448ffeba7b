"""Data subject requests as logged: who they are about, by which law, when due, and what
was done."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from mercato.db import Base, JSONType, UTCDateTime, new_id, utcnow

KINDS = ("access", "erasure")
REGIMES = ("gdpr", "ccpa", "lgpd")
STATUSES = ("open", "completed", "refused")


class PrivacyRequest(Base):
    __tablename__ = "privacy_requests"
    __table_args__ = (
        CheckConstraint(f"kind IN {KINDS}", name="kind"),
        CheckConstraint(f"regime IN {REGIMES}", name="regime"),
        CheckConstraint(f"status IN {STATUSES}", name="status"),
        Index("ix_privacy_requests_status_due_at", "status", "due_at"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("dsr"))
    kind: Mapped[str] = mapped_column(String(16))
    regime: Mapped[str] = mapped_column(String(8))
    # The person's identifiers: {"email", "phone", "customer_id", "platform_user_id"}.
    # Once the person is erased, each value is replaced by a keyed hash of it.
    subject: Mapped[dict[str, Any]] = mapped_column(JSONType())
    # Who asked on the person's behalf: "merchant" (API, CLI) or "meta" (its callback).
    source: Mapped[str] = mapped_column(String(16), default="merchant")
    status: Mapped[str] = mapped_column(String(16), default="open")
    # What was found and done: rows per table, never the data itself.
    outcome: Mapped[dict[str, Any] | None] = mapped_column(JSONType())
    # Meta's callback: the code its status page is reached by.
    confirmation_code: Mapped[str | None] = mapped_column(String(64), unique=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
