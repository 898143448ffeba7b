"""Journeys from the touch ledger, for the attribution models: per buyer (a customer, or
a consented visitor not yet stitched to one), the channels touched in time order up to
each purchase, with each touch's days before it, and what was touched after the last
purchase as a journey that did not convert."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mercato.analytics.journeys import Journey, aggregate
from mercato.analytics.models import Touch
from mercato.money import to_decimal

# The touches that bring a person through a channel (a page view or a cart is a step
# inside a visit, not a channel); imported aggregates belong to nobody.
PATH_KINDS = ("click", "visit", "message", "comment")
DAY = 86400.0


def from_ledger(session: Session, since: datetime, until: datetime, currency: str) -> list[Journey]:
    """Journeys of the purchases (in ``currency``, values in its major units) made in
    [since, until), and of the people who touched a channel in it and did not buy after.
    A purchase with no touch before it (no consent, or none recorded) is a journey of its
    own channel alone."""
    person = func.coalesce(Touch.customer_id, Touch.visitor_id)
    rows = session.execute(
        select(person, Touch.kind, Touch.at, Touch.channel, Touch.value, Touch.currency)
        .where(
            person.is_not(None),
            Touch.at < until,
            Touch.kind.in_((*PATH_KINDS, "purchase")),
        )
        .order_by(person, Touch.at, Touch.id)
    )
    journeys = []
    key, path = None, []
    for who, kind, at, channel, value, touch_currency in rows:
        if who != key:
            journeys.extend(_unconverted(path, since))
            key, path = who, []
        if kind != "purchase":
            if channel:
                path.append((channel, at))
            continue
        if at >= since and touch_currency == currency:
            touched = path or [(channel or "direct", at)]
            journeys.append(
                Journey(
                    tuple(c for c, _ in touched),
                    1,
                    float(to_decimal(value or 0, currency)),
                    0,
                    tuple(max(0.0, (at - t).total_seconds() / DAY) for _, t in touched),
                )
            )
        path = []
    journeys.extend(_unconverted(path, since))
    return aggregate(journeys)


def _unconverted(path: list[tuple[str, datetime]], since: datetime) -> Iterator[Journey]:
    if path and path[-1][1] >= since:
        last = path[-1][1]
        yield Journey(
            tuple(c for c, _ in path),
            0,
            0.0,
            1,
            tuple((last - t).total_seconds() / DAY for _, t in path),
        )
