"""Helpers for inventory tests: products to hold stock of, and the invariants to check."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from mercato.catalog import service as catalog
from mercato.catalog.schemas import ProductCreate
from mercato.db import transaction
from mercato.inventory import reports
from mercato.inventory.models import StockLevel


def make_variants(
    sessions, *skus: str, policy: str = "deny", tracked: bool = True, handle: str | None = None
) -> dict[str, str]:
    """One product with a variant per SKU; returns {sku: variant id}."""
    with transaction(sessions) as session:
        product = catalog.create_product(
            session,
            ProductCreate(
                title=handle or skus[0],
                handle=handle or skus[0].lower(),
                options=["Size"] if len(skus) > 1 else [],
                variants=[
                    {
                        "sku": sku,
                        "price": 1000,
                        "inventory_policy": policy,
                        "inventory_tracked": tracked,
                        "option_values": [sku] if len(skus) > 1 else [],
                    }
                    for sku in skus
                ],
            ),
        )
        return {v.sku: v.id for v in product.variants}


def assert_ledger_balances(sessions) -> None:
    """Stock levels equal their ledger and their held lines; never negative."""
    with sessions() as session:
        assert reports.verify(session) == []
        for level in session.scalars(select(StockLevel)):
            assert 0 <= level.reserved <= level.on_hand


@pytest.fixture
def tee(sessions) -> dict[str, str]:
    return make_variants(sessions, "TEE-S", "TEE-M", handle="tee")
