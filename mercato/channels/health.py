"""A channel's health over time: each day (the store's zone), how many of its items the
platform approved, warned about, rejected or has not judged yet. Counted hourly by the
worker from the listings; a day's row is the last count of that day."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from mercato.channels import service
from mercato.channels.models import HealthDay
from mercato.config import get_settings

VERDICTS = ("approved", "warning", "pending", "rejected")


def today(now: datetime) -> date:
    return now.astimezone(ZoneInfo(get_settings().timezone)).date()


def record(session: Session, channel_id: str, now: datetime) -> HealthDay:
    """Count the channel's listings now, as today's row (replacing an earlier count)."""
    counts = service.verdict_counts(session, channel_id)
    day = today(now)
    session.execute(
        delete(HealthDay).where(HealthDay.channel_id == channel_id, HealthDay.day == day)
    )
    row = HealthDay(
        channel_id=channel_id, day=day, counted_at=now, **{v: counts.get(v, 0) for v in VERDICTS}
    )
    session.add(row)
    return row


def history(session: Session, channel_id: str, now: datetime, days: int = 30) -> list[HealthDay]:
    """The last ``days`` days counted, oldest first (days not counted are left out)."""
    since = today(now) - timedelta(days=days - 1)
    return list(
        session.scalars(
            select(HealthDay)
            .where(HealthDay.channel_id == channel_id, HealthDay.day >= since)
            .order_by(HealthDay.day)
        )
    )
