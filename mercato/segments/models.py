"""Segments: saved filters over customer profiles (tags, country, orders, revenue, last
order, consent), read by whoever addresses a group of customers (inbox, offers)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from mercato.db import Base, JSONType, UTCDateTime, new_id, utcnow


class Segment(Base):
    __tablename__ = "customer_segments"

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("seg"))
    name: Mapped[str] = mapped_column(String(100), unique=True)
    description: Mapped[str | None] = mapped_column(Text)
    # segments.schemas.SegmentFilters, as data.
    filters: Mapped[dict[str, Any]] = mapped_column(JSONType(), default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
