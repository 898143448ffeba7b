"""A small shop with an order history: products, stock, buyers and their orders."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mercato.catalog import service as catalog
from mercato.catalog.schemas import ProductCreate
from mercato.customers import consent
from mercato.customers.models import Customer
from mercato.db import transaction
from mercato.inventory import counts as stock
from mercato.orders.models import Order, OrderLine

NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)
# handle -> (product type, on hand, status)
CATALOG = {
    "espresso": ("Coffee", 50, "active"),
    "grinder": ("Equipment", 50, "active"),
    "filters": ("Equipment", 50, "active"),
    "mug": ("Cups", 0, "active"),  # sold out
    "beans": ("Coffee", 50, "draft"),  # not published
    "kettle": ("Equipment", 50, "active"),
    "tea": ("Tea", 50, "active"),
}


class History:
    def __init__(self, sessions):
        self.sessions = sessions
        self.products: dict[str, str] = {}
        self.variants: dict[str, str] = {}
        self.customers: dict[str, str] = {}
        self.number = 0
        with transaction(sessions) as session:
            for handle, (kind, _on_hand, status) in CATALOG.items():
                product = catalog.create_product(
                    session,
                    ProductCreate(
                        title=f"{handle.title()} {kind}",
                        handle=handle,
                        status=status,
                        product_type=kind,
                        media=[{"url": f"https://cdn.example.com/{handle}.jpg"}],
                        variants=[{"sku": handle.upper(), "price": 1000}],
                    ),
                )
                self.products[handle] = product.id
                self.variants[handle] = product.variants[0].id
            stock.set_on_hand(
                session, {self.variants[h]: CATALOG[h][1] for h in CATALOG if CATALOG[h][1]}
            )

    def customer(self, name: str, *, personalisation: bool = False) -> str:
        with transaction(self.sessions) as session:
            row = Customer(email=f"{name}@example.com", name=name.title())
            session.add(row)
            session.flush()
            if personalisation:
                consent.record(
                    session,
                    row.id,
                    consent.Need("personalisation"),
                    True,
                    source="api",
                    wording="Show me products picked for me",
                )
            self.customers[name] = row.id
            return row.id

    def order(
        self,
        *handles: str,
        customer: str | None = None,
        days_ago: int = 10,
        channel: str = "storefront",
        status: str = "open",
    ) -> None:
        self.number += 1
        with transaction(self.sessions) as session:
            at = NOW - timedelta(days=days_ago)
            order = Order(
                number=self.number,
                channel=channel,
                status=status,
                currency="EUR",
                subtotal=1000 * len(handles),
                total=1000 * len(handles),
                customer_id=self.customers.get(customer) if customer else None,
                placed_at=at,
                created_at=at,
                updated_at=at,
            )
            order.lines = [
                OrderLine(
                    position=k,
                    variant_id=self.variants[h],
                    sku=h.upper(),
                    title=h,
                    quantity=1,
                    unit_price=1000,
                    total=1000,
                )
                for k, h in enumerate(handles)
            ]
            session.add(order)


@pytest.fixture
def history(sessions) -> History:
    return History(sessions)
