"""Who is credited with an order: the rule (settings ``creator_attribution``) over a
creator's code redeemed on it and the creator touches before it within the window
(``creator_window_days``): the order's own link (``?ref=``) and the analytics ledger's
touches of the same buyer.

- code_wins: a creator's code on the order credits its creator; else the last touch.
- last_touch: whichever came last, the code's redemption or a touch.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from mercato.analytics.models import Touch
from mercato.config import get_settings
from mercato.creators.models import Creator
from mercato.offers.models import Offer, Redemption
from mercato.orders.models import Order


@dataclass(frozen=True)
class Credit:
    creator: Creator
    basis: str  # "code" or "link"
    code: str | None
    at: datetime


def credited(session: Session, order: Order) -> Credit | None:
    settings = get_settings()
    since = order.placed_at - timedelta(days=settings.creator_window_days)
    by_code = _by_code(session, order)
    if by_code is not None and settings.creator_attribution == "code_wins":
        return by_code
    touches = [c for c in (_by_link(session, order), _by_ledger(session, order, since)) if c]
    candidates = [c for c in (by_code, *touches) if c is not None and c.at >= since]
    return max(candidates, key=lambda c: c.at, default=None)


def _by_code(session: Session, order: Order) -> Credit | None:
    row = session.execute(
        select(Creator, Redemption.code, Redemption.redeemed_at)
        .join(Offer, Offer.creator_id == Creator.id)
        .join(Redemption, Redemption.offer_id == Offer.id)
        .where(Redemption.order_id == order.id, Redemption.status == "redeemed")
        .order_by(Redemption.redeemed_at.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    creator, code, at = row
    return Credit(creator, "code", code, at or order.placed_at)


def _by_link(session: Session, order: Order) -> Credit | None:
    handle = order.creator or (order.attribution or {}).get("creator")
    creator = _named(session, handle)
    return Credit(creator, "link", None, order.placed_at) if creator else None


def _by_ledger(session: Session, order: Order, since: datetime) -> Credit | None:
    if order.customer_id is None:
        return None
    row = session.execute(
        select(Touch.creator, Touch.at)
        .where(
            Touch.customer_id == order.customer_id,
            Touch.creator.is_not(None),
            Touch.at >= since,
            Touch.at <= order.placed_at,
        )
        .order_by(Touch.at.desc())
        .limit(1)
    ).first()
    creator = _named(session, row[0]) if row else None
    return Credit(creator, "link", None, row[1]) if creator else None


def _named(session: Session, handle: str | None) -> Creator | None:
    if not handle:
        return None
    # A link's ref may name them as the platforms do (@handle).
    name = handle.strip().lower().removeprefix("@")
    found = session.scalar(select(Creator).where(Creator.handle == name))
    return found if found is not None and found.active else None
