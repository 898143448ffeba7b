"""Platform order fixtures: channels wired to the in-process simulators, whose webhooks
reach the Mercato app under test, and a worker that drains due jobs."""

from __future__ import annotations

import pytest

from mercato.channels import service as channels
from mercato.channels import sync
from mercato.channels.schemas import ChannelCreate
from mercato.db import transaction
from mercato.inventory import counts, reports
from mercato.inventory.schemas import AdjustmentCreate
from tests.helpers import SANDBOX, tee

CREDENTIALS = {
    "tiktok": {"app_key": "29a39d", "app_secret": "e59af819cc", "access_token": "tt"},
}
SETTINGS = {
    "tiktok": {"category_id": "601226"},
}


@pytest.fixture
def shop(sandbox, client, sessions, make_products):
    """The tee in stock (5 of each size) and a helper to connect a platform (its catalog
    published there)."""
    make_products(tee())
    with transaction(sessions) as session:
        for sku in ("TEE-S", "TEE-M"):
            counts.adjust(session, AdjustmentCreate(sku=sku, quantity=5, kind="receipt"))

    class Shop:
        sim = sandbox

        def connect(self, kind: str, **settings) -> tuple[str, object]:
            with transaction(sessions) as session:
                channel_id = channels.create_channel(
                    session,
                    ChannelCreate(
                        kind=kind,
                        name=kind,
                        base_url=f"{SANDBOX}/{kind}",
                        credentials=CREDENTIALS[kind],
                        settings={**SETTINGS[kind], **settings},
                    ),
                ).id
            # The shop sells what Mercato gave it: the catalog and its stock.
            assert sync.publish(sessions, channel_id).sent == 2
            book = sandbox.app.state.order_books[kind]
            book.transport = lambda url, content, headers: (
                client.post(url, content=content, headers=headers).status_code
            )
            book.url = f"/webhooks/{channel_id}"
            return channel_id, book

    return Shop()


def on_hand(sessions, sku: str) -> tuple[int, int]:
    with sessions() as session:
        view = reports.inventory_by_sku(session, sku)
        return view.on_hand, view.reserved
