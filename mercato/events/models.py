from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mercato.db import Base, JSONType, UTCDateTime, new_id, utcnow


class Event(Base):
    """One immutable fact: ``<resource>.<past-tense>`` about the resource ``key``."""

    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_type_seq", "type", "seq"),
        Index("ix_events_key_seq", "key", "seq"),
        Index("ix_events_created_at", "created_at"),
    )

    # Monotonic on both databases: the order of delivery and the SSE Last-Event-ID.
    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    id: Mapped[str] = mapped_column(String(40), unique=True, default=lambda: new_id("evt"))
    type: Mapped[str] = mapped_column(String(100))
    key: Mapped[str] = mapped_column(String(100))
    version: Mapped[int] = mapped_column(Integer, default=1)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OutboxEntry(Base):
    """An event not yet handed to its consumers (webhook fan-out, ...).

    Written by ``record()`` in the same transaction as the event and deleted by the
    dispatcher once consumed: consumers follow "what is still pending", never a
    high-water mark over ``seq``, so an event whose transaction commits late is still
    dispatched (see ``events.service.dispatch_pending``).
    """

    __tablename__ = "event_outbox"

    event_id: Mapped[str] = mapped_column(
        ForeignKey("events.id", ondelete="CASCADE"), primary_key=True
    )
    event: Mapped[Event] = relationship()
