"""How much of the shop one visitor may hold, and for how long.

Stock a checkout holds is stock nobody else can buy: without limits, three anonymous
requests held a whole 300-unit SKU for 15 minutes. So a line holds at most
MAX_UNITS_PER_LINE units, a visitor (the shop's cookie) at most MAX_OPEN_PER_VISITOR open
checkouts, and a hold that would leave a SKU scarce lasts SHORT_HOLD instead of HOLD.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mercato.checkout.models import Checkout
from mercato.crypto import hash_token
from mercato.errors import RateLimited
from mercato.inventory import availability as stock
from mercato.inventory.reservations import DEFAULT_HOLD

# A checkout holds its stock as long as any reservation does unless told otherwise.
HOLD = DEFAULT_HOLD
SHORT_HOLD = timedelta(minutes=5)
MAX_UNITS_PER_LINE = 10
MAX_OPEN_PER_VISITOR = 3
# The shop's per-browser cookie (the storefront's CSRF nonce) tells visitors apart.
VISITOR_COOKIE = "mercato_csrf"
# Under pressure: after the hold, less than this share of the SKU's units would be left.
SCARCE_SHARE = 0.2


def visitor_key(cookie: str | None) -> str | None:
    """What a checkout keeps of its visitor: a hash of their cookie, never the cookie."""
    return hash_token(cookie) if cookie else None


def check_visitor(session: Session, visitor: str | None, now: datetime) -> None:
    """Refuse a visitor who holds MAX_OPEN_PER_VISITOR open checkouts already."""
    if visitor is None:
        return
    open_now = session.scalar(
        select(func.count())
        .select_from(Checkout)
        .where(
            Checkout.visitor == visitor,
            Checkout.status == "open",
            Checkout.expires_at > now,
        )
    )
    if open_now >= MAX_OPEN_PER_VISITOR:
        raise RateLimited(
            f"You have {open_now} checkouts open already: finish or leave one "
            "(a checkout's hold lapses on its own) before starting another.",
            extra={"retry_after": int(SHORT_HOLD.total_seconds())},
        )


def hold_time(session: Session, lines: Iterable[tuple[str, int]], now: datetime) -> timedelta:
    """HOLD, or SHORT_HOLD when holding ``lines`` (variant id, units) leaves a SKU scarce."""
    return hold_times(session, [list(lines)], now)[0]


def hold_times(
    session: Session, holds: Sequence[Sequence[tuple[str, int]]], now: datetime
) -> list[timedelta]:
    """``hold_time`` of holds taken one after another (each leaves less for the next), in
    one read of their stock."""
    levels = stock.read_stock(
        session, variant_ids={v for lines in holds for v, _ in lines}, now=now
    )
    taken: dict[str, int] = {}
    times = []
    for lines in holds:
        wanted = dict(lines)
        scarce = False
        for variant_id, units in wanted.items():
            level = levels.get(variant_id)
            if level is None or not level.tracked or level.on_hand <= 0:
                continue
            left = level.available - taken.get(variant_id, 0) - units
            scarce = scarce or left < level.on_hand * SCARCE_SHARE
        for variant_id, units in wanted.items():
            taken[variant_id] = taken.get(variant_id, 0) + units
        times.append(SHORT_HOLD if scarce else HOLD)
    return times
