"""Payouts per period: every commission line of the period not yet paid (earned and
clawed back), in one currency, summed into a payout in one transaction with its event
(and, to a creator with a connected Stripe account, its transfer, pending: see
``transfers``); its statement as CSV, one row per line with the order behind it, adding
up to the payout."""

from __future__ import annotations

import csv
import io
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from mercato.catalog.service import store_currency
from mercato.creators import service, transfers
from mercato.creators.models import Commission, Payout
from mercato.db import new_id, utcnow
from mercato.errors import FieldError, NotFound, ValidationFailed
from mercato.events import service as events
from mercato.offers.service import store_time
from mercato.orders.models import Order


def pay(
    session: Session,
    creator_id: str,
    start: datetime,
    end: datetime,
    currency: str | None = None,
    now: datetime | None = None,
) -> Payout:
    creator = service.get(session, creator_id)
    start, end = store_time(start), store_time(end)
    if end <= start:
        raise ValidationFailed(
            "The period is empty.", [FieldError(("period_end",), "after the start")]
        )
    currency = (currency or store_currency()).upper()
    unpaid = (
        Commission.creator_id == creator.id,
        Commission.currency == currency,
        Commission.payout_id.is_(None),
        Commission.at >= start,
        Commission.at < end,
    )
    lines = list(session.scalars(select(Commission).where(*unpaid).with_for_update()))
    payout = Payout(
        id=new_id("cpo"),
        creator_id=creator.id,
        currency=currency,
        period_start=start,
        period_end=end,
        amount=sum(c.amount for c in lines),
        entries=len(lines),
        created_at=now or utcnow(),
    )
    session.add(payout)
    session.flush()
    if lines:
        session.execute(
            update(Commission)
            .where(Commission.id.in_([c.id for c in lines]))
            .values(payout_id=payout.id)
            .execution_options(synchronize_session=False)
        )
    transfers.plan(session, creator, payout)
    events.record(
        session,
        "payout.created",
        {
            "payout_id": payout.id,
            "creator_id": creator.id,
            "currency": currency,
            "amount": payout.amount,
            "entries": payout.entries,
            "period_start": start.isoformat(),
            "period_end": end.isoformat(),
            "transfer_to": payout.transfer.destination if payout.transfer else None,
        },
        key=creator.id,
    )
    return payout


def get(session: Session, payout_id: str) -> Payout:
    found = session.get(Payout, payout_id)
    if found is None:
        raise NotFound(f"No payout {payout_id!r}.")
    return found


COLUMNS = (
    "order_number",
    "order_id",
    "kind",
    "basis",
    "code",
    "at",
    "currency",
    "revenue",
    "commission",
)


def statement_csv(session: Session, payout_id: str) -> str:
    payout = get(session, payout_id)
    rows = session.execute(
        select(Commission, Order.number)
        .join(Order, Order.id == Commission.order_id)
        .where(Commission.payout_id == payout.id)
        .order_by(Commission.at, Commission.id)
    ).all()
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for entry, number in rows:
        writer.writerow(
            [
                number,
                entry.order_id,
                entry.kind,
                entry.basis,
                entry.code or "",
                entry.at.isoformat(),
                entry.currency,
                entry.revenue,
                entry.amount,
            ]
        )
    writer.writerow(
        [
            "total",
            "",
            "",
            "",
            "",
            "",
            payout.currency,
            sum(e.revenue for e, _ in rows),
            payout.amount,
        ]
    )
    return out.getvalue()


def list_payouts(session: Session, creator_id: str) -> list[Payout]:
    service.get(session, creator_id)
    return list(
        session.scalars(
            select(Payout).where(Payout.creator_id == creator_id).order_by(Payout.created_at.desc())
        )
    )
