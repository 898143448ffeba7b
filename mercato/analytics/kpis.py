"""KPIs over the touch ledger, each with the formula that made it, per channel,
campaign, post, creator or country, and per day, week or month in the store's time zone.

Money is in integer minor units of one currency (the store's unless asked): touches in
other currencies count for sessions and reach, never in a sum of money.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from fractions import Fraction
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mercato.analytics.models import AdSpend, Touch
from mercato.analytics.reports import BUCKETS, bucket_of, day_start, store_zone
from mercato.analytics.server_touches import STOREFRONT
from mercato.errors import FieldError, ValidationFailed
from mercato.inbox.models import Conversation, InboxAccount
from mercato.orders.models import Order

DIMENSIONS = ("channel", "campaign", "post", "creator", "country")
# Spend is imported per channel and campaign: only those groupings can carry it.
SPEND_DIMENSIONS = (None, "channel", "campaign")
NONE = "(none)"

FORMULAS = {
    "sessions": "count of visit touches (one per browser session)",
    "users": "distinct consented visitor ids among the visits",
    "orders": "count of purchase touches in the currency",
    "conversion_rate_sessions": "orders ÷ sessions",
    "conversion_rate_users": "orders ÷ users (consented visitors only)",
    "revenue_gross": "Σ purchase values (order totals)",
    "refunds": "Σ refund values (negative)",
    "revenue_net": "revenue_gross + refunds (revenue net of refunds)",
    "aov": "revenue_gross ÷ orders",
    "spend": "Σ imported ad spend",
    "roas": "revenue_net ÷ spend",
    "new_customers": "customers whose first purchase ever is in the group and period",
    "cac": "spend ÷ new_customers",
    "reach": "Σ imported reach",
    "interactions": "Σ imported interactions",
    "engagement_rate": "interactions ÷ reach",
    "repeat_rate": "customers with 2+ purchases up to the period's end ÷ customers who "
    "bought in the group and period",
    "clv_historical": "Σ revenue net of refunds, up to the period's end, of the customers "
    "acquired in the group and period ÷ new_customers",
    "csat": "ratings of 4 or 5 ÷ ratings (1-5, asked by the inbox), by conversation channel",
}
FUNNEL_FORMULAS = {
    "step_rate": "the step's touches ÷ the step before's",
    "orders": "purchase touches in the currency of orders placed through the shop's own "
    "checkout (an order placed in a platform's shop took none of the steps before)",
}
# The shop's funnel: its steps before the order, by the touch kind that counts each.
FUNNEL = (
    ("sessions", "visit"),
    ("product_views", "product_view"),
    ("add_to_cart", "add_to_cart"),
    ("checkouts_started", "checkout_started"),
)


@dataclass
class Period:
    start: date  # first day, inclusive, in the store's zone
    end: date  # last day, inclusive
    zone: ZoneInfo

    @property
    def since(self) -> datetime:
        return day_start(self.start, self.zone)

    @property
    def until(self) -> datetime:
        return day_start(self.end + timedelta(days=1), self.zone)


@dataclass
class _Sums:
    sessions: int = 0
    users: set = field(default_factory=set)
    orders: int = 0
    gross: int = 0
    refunds: int = 0
    reach: int = 0
    interactions: int = 0
    spend: int = 0
    buyers: set = field(default_factory=set)
    new: set = field(default_factory=set)
    ratings: list = field(default_factory=list)


@dataclass
class KpiRow:
    period: date | None
    group: str | None
    values: dict[str, int | float | None]


@dataclass
class KpiReport:
    by: str | None
    bucket: str | None
    currency: str
    period: Period
    rows: list[KpiRow]
    total: KpiRow
    formulas: dict[str, str] = field(default_factory=lambda: dict(FORMULAS))
    notes: list[str] = field(default_factory=list)


def kpis(
    session: Session,
    period: Period,
    currency: str,
    by: str | None = None,
    bucket: str | None = None,
) -> KpiReport:
    """Every KPI for the period, a row per (bucket, group) and a total."""
    _check(by, bucket, period)
    since, until = period.since, period.until
    touches = session.execute(
        select(
            Touch.kind,
            Touch.at,
            Touch.channel,
            Touch.campaign,
            Touch.post,
            Touch.creator,
            Touch.country,
            Touch.visitor_id,
            Touch.customer_id,
            Touch.value,
            Touch.currency,
            Touch.count,
        ).where(
            Touch.at >= since,
            Touch.at < until,
            Touch.kind.in_(("visit", "purchase", "refund", "reach", "interaction")),
        )
    ).all()
    first_purchase = dict(
        session.execute(
            select(Touch.customer_id, func.min(Touch.at))
            .where(Touch.kind == "purchase", Touch.customer_id.is_not(None))
            .group_by(Touch.customer_id)
        ).all()
    )
    purchases_before_end = dict(
        session.execute(
            select(Touch.customer_id, func.count())
            .where(Touch.kind == "purchase", Touch.at < until, Touch.customer_id.is_not(None))
            .group_by(Touch.customer_id)
        ).all()
    )

    def key(at: datetime, value: str | None) -> tuple:
        return (bucket_of(at, bucket, period.zone) if bucket else None, value or NONE)

    groups: dict[tuple, _Sums] = defaultdict(_Sums)
    total = _Sums()
    for t in touches:
        for sums in (groups[key(t.at, getattr(t, by) if by else None)], total):
            _add(sums, t, currency, first_purchase)
    notes = []
    if by in SPEND_DIMENSIONS:
        for day, channel, campaign, amount in session.execute(
            select(AdSpend.day, AdSpend.channel, AdSpend.campaign, AdSpend.amount).where(
                AdSpend.day >= period.start, AdSpend.day <= period.end, AdSpend.currency == currency
            )
        ):
            at = day_start(day, period.zone)
            name = {"channel": channel, "campaign": campaign}.get(by) if by else None
            groups[key(at, name)].spend += amount
            total.spend += amount
    else:
        notes.append(f"spend is imported per channel and campaign: no spend, ROAS or CAC by {by}")
    if by in (None, "channel"):
        for channel, score, asked_at in _ratings(session, since, until):
            groups[key(asked_at, channel if by else None)].ratings.append(score)
            total.ratings.append(score)
    else:
        notes.append(f"CSAT is per conversation channel: not shown by {by}")
    lifetime = _lifetime_values(
        session, {c for s in groups.values() for c in s.new}, currency, until
    )
    rows = [
        KpiRow(bucket_day, name, _values(sums, purchases_before_end, lifetime))
        for (bucket_day, name), sums in sorted(
            groups.items(), key=lambda item: (item[0][0] or date.min, item[0][1])
        )
    ]
    return KpiReport(
        by,
        bucket,
        currency,
        period,
        rows,
        KpiRow(None, None, _values(total, purchases_before_end, lifetime)),
        notes=notes,
    )


def _check(by: str | None, bucket: str | None, period: Period) -> None:
    errors = []
    if by is not None and by not in DIMENSIONS:
        errors.append(FieldError(("by",), f"one of {', '.join(DIMENSIONS)}"))
    if bucket is not None and bucket not in BUCKETS:
        errors.append(FieldError(("bucket",), f"one of {', '.join(BUCKETS)}"))
    if period.end < period.start:
        errors.append(FieldError(("to",), "on or after from"))
    if errors:
        raise ValidationFailed("These KPIs cannot be computed.", errors)


def _add(sums: _Sums, t, currency: str, first_purchase: dict) -> None:
    if t.kind == "visit":
        sums.sessions += t.count
        if t.visitor_id:
            sums.users.add(t.visitor_id)
    elif t.kind == "reach":
        sums.reach += t.count
    elif t.kind == "interaction":
        sums.interactions += t.count
    elif t.currency == currency and t.kind == "purchase":
        sums.orders += 1
        sums.gross += t.value or 0
        if t.customer_id:
            sums.buyers.add(t.customer_id)
            if first_purchase.get(t.customer_id) == t.at:
                sums.new.add(t.customer_id)
    elif t.currency == currency and t.kind == "refund":
        sums.refunds += t.value or 0


def _ratings(session: Session, since: datetime, until: datetime):
    return session.execute(
        select(InboxAccount.platform, Conversation.csat_score, Conversation.csat_asked_at)
        .join(InboxAccount, InboxAccount.id == Conversation.account_id)
        .where(
            Conversation.csat_score.is_not(None),
            Conversation.csat_asked_at >= since,
            Conversation.csat_asked_at < until,
        )
    ).all()


def _lifetime_values(
    session: Session, customers: set[str], currency: str, until: datetime
) -> dict[str, int]:
    """Each customer's purchases net of refunds, all time up to ``until``."""
    found: dict[str, int] = {}
    ids = sorted(customers)
    for start in range(0, len(ids), 500):
        found.update(
            session.execute(
                select(Touch.customer_id, func.sum(Touch.value))
                .where(
                    Touch.customer_id.in_(ids[start : start + 500]),
                    Touch.kind.in_(("purchase", "refund")),
                    Touch.currency == currency,
                    Touch.at < until,
                )
                .group_by(Touch.customer_id)
            ).all()
        )
    return found


def _ratio(a: int, b: int) -> float | None:
    """a ÷ b as a float (exact until then); none when b is 0."""
    return float(Fraction(a, b)) if b else None


def _values(sums: _Sums, purchases: dict[str, int], lifetime: dict[str, int]) -> dict:
    net = sums.gross + sums.refunds
    repeaters = sum(1 for c in sums.buyers if purchases.get(c, 0) >= 2)
    acquired = sum(int(lifetime.get(c, 0)) for c in sums.new)
    return {
        "sessions": sums.sessions,
        "users": len(sums.users),
        "orders": sums.orders,
        "conversion_rate_sessions": _ratio(sums.orders, sums.sessions),
        "conversion_rate_users": _ratio(sums.orders, len(sums.users)),
        "revenue_gross": sums.gross,
        "refunds": sums.refunds,
        "revenue_net": net,
        "aov": _ratio(sums.gross, sums.orders),
        "spend": sums.spend,
        "roas": _ratio(net, sums.spend),
        "new_customers": len(sums.new),
        "cac": _ratio(sums.spend, len(sums.new)),
        "reach": sums.reach,
        "interactions": sums.interactions,
        "engagement_rate": _ratio(sums.interactions, sums.reach),
        "repeat_rate": _ratio(repeaters, len(sums.buyers)),
        "clv_historical": _ratio(acquired, len(sums.new)),
        "csat": _ratio(sum(1 for s in sums.ratings if s >= 4), len(sums.ratings)),
    }


@dataclass
class FunnelStep:
    name: str
    count: int
    rate: float | None  # count ÷ the step before's; none for the first step, or after 0


def funnel(session: Session, period: Period, currency: str) -> list[FunnelStep]:
    """Sessions → product views → add to cart → checkout started → orders through the
    shop's checkout, in the period."""
    in_period = (Touch.at >= period.since, Touch.at < period.until)
    found = dict(
        session.execute(
            select(Touch.kind, func.sum(Touch.count))
            .where(*in_period, Touch.kind.in_([kind for _, kind in FUNNEL]))
            .group_by(Touch.kind)
        ).all()
    )
    counts = [(name, int(found.get(kind) or 0)) for name, kind in FUNNEL]
    orders = session.scalar(
        select(func.count())
        .select_from(Touch)
        .join(Order, Order.id == Touch.order_id)
        .where(
            *in_period,
            Touch.kind == "purchase",
            Touch.currency == currency,
            Order.channel == STOREFRONT,
        )
    )
    counts.append(("orders", orders))
    return [
        FunnelStep(name, count, _ratio(count, counts[i - 1][1]) if i else None)
        for i, (name, count) in enumerate(counts)
    ]


def last_days(days: int, zone: ZoneInfo, today: date | None = None) -> Period:
    """The ``days`` days up to today, as the store's clock reads it."""
    today = today or datetime.now(zone).date()
    return Period(today - timedelta(days=days - 1), today, zone)


def asked(since: date | None, until: date | None) -> Period:
    """The days a report was asked for, in the store's zone; an end not given is that of
    the last 30 days up to today."""
    zone = store_zone()
    default = last_days(30, zone)
    return Period(since or default.start, until or default.end, zone)


def as_json(report: KpiReport) -> dict:
    """The report as the API and `--format json` give it."""

    def row(r: KpiRow) -> dict:
        return {"period": r.period.isoformat() if r.period else None, "group": r.group, **r.values}

    return {
        "by": report.by,
        "bucket": report.bucket,
        "currency": report.currency,
        "from": report.period.start.isoformat(),
        "to": report.period.end.isoformat(),
        "time_zone": report.period.zone.key,
        "formulas": report.formulas,
        "rows": [row(r) for r in report.rows],
        "total": row(report.total),
        "notes": report.notes,
    }
