"""What every report over the ledger shares: the store's time zone and its periods."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from mercato.config import get_settings

BUCKETS = ("day", "week", "month")


def store_zone() -> ZoneInfo:
    return ZoneInfo(get_settings().timezone)


def day_start(day: date, zone: ZoneInfo) -> datetime:
    """Midnight of ``day`` in the store's zone (a UTC instant once stored)."""
    return datetime.combine(day, time(), zone)


def bucket_of(at: datetime, bucket: str, zone: ZoneInfo) -> date:
    """The day, the week's Monday or the month's first day an instant falls in, as the
    store's clock reads it."""
    local = at.astimezone(zone).date()
    if bucket == "week":
        return local - timedelta(days=local.weekday())
    if bucket == "month":
        return local.replace(day=1)
    return local


def currency(asked: str | None) -> str:
    """The currency a report sums money in: the one asked, else the store's."""
    return (asked or get_settings().currency).upper()
