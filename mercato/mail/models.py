from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from mercato.crypto import Encrypted, email_key
from mercato.db import Base, UTCDateTime, new_id, utcnow

MAIL_KINDS = ("order_confirmation", "shipping_confirmation", "refund", "sign_in")
# queued: waiting for (another) attempt; kept: no SMTP server configured, kept in the
# local outbox; failed: every attempt failed.
MAIL_STATUSES = ("queued", "sent", "kept", "failed")


class Mail(Base):
    """A mail to a buyer, made once per event. Its text is rendered when it is sent (and
    when shown), from the rows it names: a sign-in link is never stored in clear."""

    __tablename__ = "mails"
    __table_args__ = (
        CheckConstraint(f"kind IN {MAIL_KINDS}", name="kind"),
        CheckConstraint(f"status IN {MAIL_STATUSES}", name="status"),
        Index("ix_mails_created_at", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("mail"))
    kind: Mapped[str] = mapped_column(String(32))
    # The recipient, encrypted at rest (mercato.crypto), found by its keyed hash.
    to_address: Mapped[str] = mapped_column(Encrypted())
    to_address_hash: Mapped[str | None] = mapped_column(String(64))
    locale: Mapped[str] = mapped_column(String(20), default="en")
    order_id: Mapped[str | None] = mapped_column(
        ForeignKey("orders.id", ondelete="CASCADE"), index=True
    )
    # The fulfilment, refund or sign-in link the mail is about.
    reference: Mapped[str | None] = mapped_column(String(40))
    # The event it was made from: one mail per event, however often it is handed over.
    event_id: Mapped[str] = mapped_column(String(40), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="queued")
    subject: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    log: Mapped[list[MailAttempt]] = relationship(
        order_by="MailAttempt.at", cascade="all, delete-orphan"
    )

    @validates("to_address")
    def _hash_to(self, _: str, value: str) -> str:
        self.to_address_hash = email_key(value)
        return value


class MailAttempt(Base):
    __tablename__ = "mail_attempts"

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("mat"))
    mail_id: Mapped[str] = mapped_column(ForeignKey("mails.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    outcome: Mapped[str] = mapped_column(String(16))  # sent, kept, failed
    detail: Mapped[str | None] = mapped_column(Text)
