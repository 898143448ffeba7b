"""The dashboard's analytics page, from the ledger's own reports: KPIs per channel over
days, weeks or months, the funnel, and every attribution model side by side."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mercato.analytics import attribution_ledger, kpis
from mercato.analytics.attribution import Options, Report
from mercato.analytics.models import Touch
from mercato.analytics.reports import BUCKETS, bucket_of, day_start
from mercato.analytics.rules import HALF_LIFE_DAYS
from mercato.errors import FieldError, ValidationFailed

# A chart of more columns than this is unreadable: a longer grain is asked for instead.
MAX_BUCKETS = 400
MODEL_NAMES = {
    "first": "First touch",
    "last-non-direct": "Last non-direct",
    "linear": "Linear (per touch)",
    "linear-unique": "Linear (per channel)",
    "time-decay": f"Time decay ({HALF_LIFE_DAYS:g}-day half-life)",
    "position": "Position-based 40/20/40",
    "markov": "Markov (removal effects)",
    "shapley": "Shapley",
}


@dataclass
class Overview:
    period: kpis.Period
    grain: str
    currency: str
    empty: bool  # no touch at all in the period
    buckets: list[date]
    report: kpis.KpiReport  # by channel and grain, with the period's total
    funnel: list[kpis.FunnelStep]
    attribution: Report | None


def period_of(since: str | None, until: str | None, grain: str | None) -> tuple[kpis.Period, str]:
    """The page's query as a period (``kpis.asked``: the last 30 days unless told) and a
    grain (day unless told); every bad part named at once."""
    errors, days = [], {}
    for name, given in (("from", since), ("to", until)):
        try:
            days[name] = date.fromisoformat(given) if given else None
        except ValueError:
            errors.append(FieldError((name,), f"{given!r} is not a day (YYYY-MM-DD)"))
    grain = grain or "day"
    if grain not in BUCKETS:
        errors.append(FieldError(("grain",), f"one of {', '.join(BUCKETS)}, not {grain!r}"))
    if errors:
        raise ValidationFailed("This period cannot be shown.", errors)
    period = kpis.asked(days["from"], days["to"])
    if period.end < period.start:
        errors.append(FieldError(("to",), f"on or after from ({period.start})"))
    elif len(buckets(period.start, period.end, grain)) > MAX_BUCKETS:
        errors.append(
            FieldError(("grain",), f"more than {MAX_BUCKETS} {grain}s: choose a longer grain")
        )
    if errors:
        raise ValidationFailed("This period cannot be shown.", errors)
    return period, grain


def buckets(start: date, end: date, grain: str) -> list[date]:
    """Every day, week (its Monday) or month (its first day) from start to end."""
    utc = ZoneInfo("UTC")  # bucket_of's rule on plain dates
    first = bucket_of(day_start(start, utc), grain, utc)
    found, day = [], first
    while day <= end:
        found.append(day)
        if grain == "day":
            day += timedelta(days=1)
        elif grain == "week":
            day += timedelta(days=7)
        else:
            day = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
    return found


def overview(session: Session, period: kpis.Period, grain: str, currency: str) -> Overview:
    touched = session.scalar(
        select(func.count())
        .select_from(Touch)
        .where(Touch.at >= period.since, Touch.at < period.until)
    )
    report = kpis.kpis(session, period, currency, by="channel", bucket=grain)
    attribution = None
    if touched:
        attribution = attribution_ledger.attribute_period(
            session, period, currency, "all", Options()
        )
    return Overview(
        period,
        grain,
        currency,
        not touched,
        buckets(period.start, period.end, grain),
        report,
        kpis.funnel(session, period, currency),
        attribution,
    )


def channels(view: Overview) -> list[str]:
    """The channels that sold (or refunded) in the period, most net revenue first."""
    net: dict[str, int] = {}
    for row in view.report.rows:
        if row.values["orders"] or row.values["revenue_net"]:
            net[row.group] = net.get(row.group, 0) + row.values["revenue_net"]
    return sorted(net, key=lambda c: (-net[c], c))


def series(view: Overview, kpi: str) -> list[tuple[str, list[int]]]:
    """Per channel (as ``channels`` orders them), the KPI in each of the period's buckets."""
    index = {bucket: i for i, bucket in enumerate(view.buckets)}
    found = {channel: [0] * len(view.buckets) for channel in channels(view)}
    for row in view.report.rows:
        if row.group in found:
            found[row.group][index[row.period]] += row.values[kpi]
    return list(found.items())


def side_by_side(report: Report) -> list[tuple[str, list[float], list[float]]]:
    """Per channel: the value, then the conversions, each model credits it (in the
    report's model order), channels in the first model's order."""
    names: dict[str, None] = {}
    for result in report.attributions:
        for credit in result.credits:
            names.setdefault(credit.channel)
    rows = []
    for channel in names:
        credits = []
        for result in report.attributions:
            try:
                credits.append(result.credit(channel))
            except KeyError:
                credits.append(None)
        rows.append(
            (
                channel,
                [c.value if c else 0.0 for c in credits],
                [c.conversions if c else 0.0 for c in credits],
            )
        )
    return rows
