"""What needs the merchant today, for the overview: orders on hold, channels whose sync
keeps failing, items a platform rejects, and variants about to sell out. Each is a count
with the page that lists them; nothing here decides anything."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mercato.channels import service as channels
from mercato.channels.models import Listing
from mercato.inventory import reports as inventory
from mercato.orders.models import Order

# Free units at or under which a tracked variant counts as about to sell out.
LOW_STOCK = 5


@dataclass(frozen=True)
class Item:
    what: str
    count: int
    link: str


def today(session: Session, can: Callable[[str], bool]) -> list[Item]:
    """What needs attention, the most urgent first; only what is there, and only what the
    signed-in token may read (``can``: does it hold this scope)."""
    found = []
    held = session.scalar(select(func.count()).where(Order.status == "on_hold"))
    if held and can("orders:read"):
        found.append(Item("orders on hold", held, "/admin/orders?status=on_hold"))
    if can("channels:read"):
        found += _channels(session)
    if can("inventory:read"):
        low = [r for r in inventory.lowest_stock(session, 200) if r[1] - r[2] <= LOW_STOCK]
        if low:
            what = f"variants with {LOW_STOCK} or fewer left"
            found.append(Item(what, len(low), "/admin/inventory"))
    return found


def _channels(session: Session) -> list[Item]:
    active = channels.list_channels(session)
    found = [
        Item(f"{c.name}: sync failing", c.failures, f"/admin/channels/{c.id}")
        for c in active
        if c.failures
    ]
    names = {c.id: c.name for c in active}
    rejected = session.execute(
        select(Listing.channel_id, func.count())
        .where(Listing.verdict == "rejected")
        .group_by(Listing.channel_id)
    )
    for channel_id, count in rejected:
        if channel_id in names:
            link = f"/admin/channels/{channel_id}#todo"
            found.append(Item(f"items rejected by {names[channel_id]}", count, link))
    return found
