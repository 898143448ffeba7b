"""Shared by the ledger tests: a shop with a product, orders placed through the API, and
the events handed to their consumers."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import select

from mercato.analytics import ledger
from mercato.analytics.models import AdSpend, Touch
from mercato.db import transaction, utcnow
from mercato.events import service as events_service

TEE = {
    "handle": "tee",
    "title": "Tee",
    "status": "active",
    "options": ["Size"],
    "variants": [{"sku": "TEE-S", "option_values": ["S"], "price": 2500}],
}


def place_order(client, admin, external_id: str, email: str, **extra) -> dict:
    body = {
        "channel": "tiktok-shop",
        "external_id": external_id,
        "lines": [{"sku": "TEE-S", "quantity": 2}],
        "customer": {"name": "Ada Buyer", "email": email},
        "shipping_address": {"line1": "1 Main St", "city": "Lyon", "country": "FR"},
        "payment_status": "paid",
        **extra,
    }
    response = client.post("/api/v1/orders", json=body, headers=admin)
    assert response.status_code == 201, response.text
    return response.json()


def dispatch(sessions) -> None:
    with transaction(sessions) as session:
        while events_service.dispatch_pending(session, utcnow()):
            pass


def touches(sessions, **where) -> list[Touch]:
    with sessions() as session:
        query = select(Touch).order_by(Touch.at, Touch.id)
        for field, value in where.items():
            query = query.where(getattr(Touch, field) == value)
        return list(session.scalars(query))


DAY1 = datetime(2026, 11, 2, 10, tzinfo=UTC)
DAY2 = datetime(2026, 11, 3, 10, tzinfo=UTC)


def touch(n: int, kind: str, at: datetime, channel: str, **extra) -> dict:
    return {
        "event_id": f"t{n}",
        "kind": kind,
        "source": "server",
        "at": at,
        "channel": channel,
    } | extra


def record_known_ledger(sessions) -> None:
    """Two days of Instagram and TikTok: visits, purchases (one refunded in part, one in
    euros), reach, interactions and a day of Instagram ad spend."""
    usd = {"currency": "USD"}
    rows = [
        touch(1, "visit", DAY1, "instagram", visitor_id="v1"),
        touch(2, "visit", DAY1, "instagram", visitor_id="v2"),
        touch(3, "visit", DAY2, "instagram", visitor_id="v1"),
        touch(4, "visit", DAY2, "instagram"),
        touch(5, "purchase", DAY1, "instagram", customer_id="A", value=3000, **usd),
        touch(6, "purchase", DAY2, "instagram", customer_id="B", value=5000, **usd),
        touch(7, "refund", DAY2, "instagram", customer_id="A", value=-1000, **usd),
        touch(8, "reach", DAY1, "instagram", count=1000),
        touch(9, "interaction", DAY1, "instagram", count=50),
        touch(10, "visit", DAY1, "tiktok"),
        touch(11, "visit", DAY2, "tiktok"),
        touch(12, "purchase", DAY2, "tiktok", customer_id="A", value=2000, **usd),
        # Another currency: an order, never summed with dollars.
        touch(13, "purchase", DAY2, "tiktok", customer_id="C", value=9999, currency="EUR"),
    ]
    spend = AdSpend(
        day=date(2026, 11, 2), channel="instagram", campaign="s", amount=4000, currency="USD"
    )
    with transaction(sessions) as session:
        ledger.record(session, rows)
        session.add(spend)
