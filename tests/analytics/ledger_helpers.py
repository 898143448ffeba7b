"""Shared by the ledger tests: a shop with a product, orders placed through the API, and
the events handed to their consumers."""

from __future__ import annotations

from sqlalchemy import select

from mercato.analytics.models import Touch
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
