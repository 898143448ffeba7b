"""Offers with a public code, made as the merchant makes them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from mercato.db import transaction
from mercato.offers import service
from mercato.offers.schemas import OfferCreate


def make_code(sessions, code: str, kind: str = "percentage", value: int = 10, **extra) -> str:
    """An offer redeemed by the public ``code``; its id."""
    with transaction(sessions) as session:
        return service.create_offer(
            session, OfferCreate(name=code, kind=kind, value=value, code=code, **extra)
        ).id


def this_period() -> dict[str, str]:
    """A payout period around now (yesterday to tomorrow): every test order is in it."""
    now = datetime.now(UTC)
    return {
        "period_start": (now - timedelta(days=1)).isoformat(),
        "period_end": (now + timedelta(days=1)).isoformat(),
    }
