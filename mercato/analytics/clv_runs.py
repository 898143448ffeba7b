"""Predicted lifetime value over the ledger: each customer's purchases in a currency
(net of their refunds) fitted by ``clv``, checked on a holdout of the last days, and the
customers' figures kept until the next fit. The worker fits every day; the API and the
CLI ask for a fit at once.

A fit takes seconds: the purchases are read in one transaction, fitted with none open,
and the run written in another.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from mercato.analytics import clv
from mercato.analytics.models import ClvRun, ClvScore, Touch
from mercato.analytics.reports import currency as report_currency
from mercato.analytics.reports import store_zone
from mercato.db import new_id, transaction
from mercato.errors import FieldError, NotFound, ValidationFailed
from mercato.jobs import service as jobs
from mercato.money import exponent, round_minor

FIT_JOB = "analytics.fit_clv"
HORIZON_MONTHS = 12
MONTHLY_DISCOUNT = 0.01
# The holdout: half of the days the ledger covers, at most this many; none below the least.
HOLDOUT_MOST_DAYS = 180
HOLDOUT_LEAST_DAYS = 28


@dataclasses.dataclass(frozen=True)
class Options:
    currency: str
    horizon_months: int = HORIZON_MONTHS
    monthly_discount: float = MONTHLY_DISCOUNT
    holdout_days: int | None = None  # None: half the ledger's span, at most 180 days

    def checked(self) -> Options:
        errors = []
        if not 1 <= self.horizon_months <= 120:
            errors.append(FieldError(("horizon_months",), "between 1 and 120 months"))
        if not 0 <= self.monthly_discount < 1:
            errors.append(FieldError(("monthly_discount",), "a rate from 0 up to 1, e.g. 0.01"))
        if self.holdout_days is not None and self.holdout_days < HOLDOUT_LEAST_DAYS:
            errors.append(
                FieldError(("holdout_days",), f"at least {HOLDOUT_LEAST_DAYS} days, or none")
            )
        if errors:
            raise ValidationFailed("The lifetime value fit cannot run so", errors)
        return dataclasses.replace(self, currency=report_currency(self.currency))


def ledger_purchases(session: Session, currency: str) -> list[clv.Purchase]:
    """Each order a known customer placed in ``currency``, net of its refunds, on the day
    (store's zone) it was bought; an order refunded in full is no purchase (a free one
    is)."""
    zone = store_zone()
    rows = session.execute(
        select(
            Touch.order_id,
            Touch.kind,
            func.min(Touch.customer_id),
            func.min(Touch.at),
            func.sum(Touch.value),
        )
        .where(
            Touch.kind.in_(("purchase", "refund")),
            Touch.currency == currency,
            Touch.customer_id.is_not(None),
            Touch.order_id.is_not(None),
        )
        .group_by(Touch.order_id, Touch.kind)
    ).all()
    bought: dict[str, tuple[str, datetime, int]] = {}
    refunded: dict[str, int] = defaultdict(int)
    for order_id, kind, customer, at, value in rows:
        if kind == "purchase":
            bought[order_id] = (customer, at, int(value or 0))
        else:
            refunded[order_id] += int(value or 0)
    scale = 10 ** exponent(currency)
    found = []
    for order_id, (customer, at, value) in bought.items():
        net = value + refunded.get(order_id, 0)
        if net > 0 or (net == 0 and order_id not in refunded):
            found.append(clv.Purchase(customer, at.astimezone(zone).date(), net / scale))
    return found


@dataclasses.dataclass
class Analysis:
    """A fit of some purchases, before it is kept: its figures, or why there are none."""

    status: str
    detail: str | None
    customers: int
    repeat_customers: int
    params: dict[str, float] | None = None
    holdout: dict | None = None
    predictions: list[clv.Prediction] = dataclasses.field(default_factory=list)


def analyse(purchases: list[clv.Purchase], until: date, options: Options) -> Analysis:
    """Fit the purchases up to ``until``, check the fit on a holdout, and predict each
    customer's next ``horizon_months``."""
    summaries = clv.summarise(purchases, until)
    found = Analysis("fitted", None, len(summaries), sum(1 for s in summaries if s.frequency > 0))
    try:
        fitted = clv.fit(summaries)
    except clv.NotEnoughData as exc:
        found.status, found.detail = "not_enough_data", exc.detail
        return found
    except clv.ClvUnavailable as exc:
        found.status, found.detail = "unavailable", exc.detail
        return found
    found.params = fitted.params
    found.holdout = _holdout(purchases, until, options.holdout_days)
    found.predictions = clv.predict(
        fitted, summaries, options.horizon_months, options.monthly_discount
    )
    return found


def fit(sessions: sessionmaker, options: Options, now: datetime) -> ClvRun:
    """Fit the ledger's purchases in the currency and keep the run (a run that could not
    fit is kept too, saying why)."""
    options = options.checked()
    with transaction(sessions) as session:
        purchases = ledger_purchases(session, options.currency)
    until = now.astimezone(store_zone()).date()
    found = analyse(purchases, until, options)
    run = ClvRun(
        id=new_id("clv"),
        currency=options.currency,
        fitted_at=now,
        until=until,
        horizon_months=options.horizon_months,
        monthly_discount=options.monthly_discount,
        status=found.status,
        detail=found.detail,
        customers=found.customers,
        repeat_customers=found.repeat_customers,
        params=found.params,
        holdout=found.holdout,
    )
    with transaction(sessions) as session:
        session.add(run)
        session.flush()
        if run.status == "fitted":
            # Only the latest fit's figures are kept per currency.
            earlier = select(ClvRun.id).where(ClvRun.currency == run.currency, ClvRun.id != run.id)
            session.execute(delete(ClvScore).where(ClvScore.run_id.in_(earlier)))
            session.add_all(_score(run, p, run.currency) for p in found.predictions)
        session.expunge(run)
    return run


def queue_fit(session: Session, options: Options) -> str:
    options = options.checked()
    return jobs.enqueue(session, FIT_JOB, dataclasses.asdict(options), key=FIT_JOB).id


def currencies(session: Session) -> list[str]:
    """The currencies known customers bought in."""
    return list(
        session.scalars(
            select(Touch.currency)
            .where(Touch.kind == "purchase", Touch.customer_id.is_not(None))
            .where(Touch.currency.is_not(None))
            .distinct()
            .order_by(Touch.currency)
        )
    )


def latest(session: Session, currency: str | None) -> ClvRun:
    currency = report_currency(currency)
    run = session.scalars(
        select(ClvRun)
        .where(ClvRun.currency == currency)
        .order_by(ClvRun.fitted_at.desc(), ClvRun.id.desc())
        .limit(1)
    ).first()
    if run is None:
        raise NotFound(f"No lifetime value fit in {currency} yet: ask for one, or wait a day")
    return run


def top_customers(session: Session, run: ClvRun, limit: int) -> list[ClvScore]:
    return list(
        session.scalars(
            select(ClvScore)
            .where(ClvScore.run_id == run.id)
            .order_by(ClvScore.clv.desc(), ClvScore.customer_id)
            .limit(limit)
        )
    )


def totals(session: Session, run: ClvRun) -> dict[str, float | int]:
    """Σ and mean predicted value of the run's customers, and the expected purchases."""
    count, value, bought = session.execute(
        select(
            func.count(),
            func.coalesce(func.sum(ClvScore.clv), 0),
            func.sum(ClvScore.expected_purchases),
        ).where(ClvScore.run_id == run.id)
    ).one()
    return {
        "customers": count,
        "clv_total": int(value),
        "clv_mean": round(int(value) / count) if count else 0,
        "expected_purchases": round(float(bought or 0), 2),
    }


def customer_score(session: Session, customer_id: str, currency: str) -> ClvScore | None:
    """A ledger customer's figures in the latest fit in ``currency``, if there is one."""
    return session.scalars(
        select(ClvScore)
        .join(ClvRun, ClvRun.id == ClvScore.run_id)
        .where(ClvScore.customer_id == customer_id, ClvRun.currency == currency)
        .order_by(ClvRun.fitted_at.desc())
        .limit(1)
    ).first()


def _holdout(purchases: list[clv.Purchase], until: date, asked: int | None) -> dict:
    """The holdout check as stored: its figures, or why there is none."""
    first = min((p.day for p in purchases), default=until)
    span = (until - first).days
    days = asked or min(HOLDOUT_MOST_DAYS, span // 2)
    if days < HOLDOUT_LEAST_DAYS or span - days < HOLDOUT_LEAST_DAYS:
        return {
            "skipped": f"the purchases cover {span} days: a holdout needs "
            f"{HOLDOUT_LEAST_DAYS} days to fit on and {HOLDOUT_LEAST_DAYS} to check"
        }
    try:
        check = clv.holdout(purchases, until - timedelta(days=days), until)
    except clv.NotEnoughData as exc:
        return {"skipped": f"before the holdout: {exc.detail}"}
    found = dataclasses.asdict(check)
    found["calibration_until"] = str(check.calibration_until)
    found["until"] = str(check.until)
    return found


def _score(run: ClvRun, p: clv.Prediction, currency: str) -> ClvScore:
    def minor(major: float) -> int:
        return round_minor(Decimal(str(major)), currency)

    return ClvScore(
        run_id=run.id,
        customer_id=p.customer,
        frequency=p.summary.frequency,
        recency_days=round(p.summary.recency),
        age_days=round(p.summary.age),
        monetary=minor(p.summary.monetary),
        expected_purchases=p.expected_purchases,
        p_alive=p.p_alive,
        expected_spend=minor(p.expected_spend),
        clv=minor(p.clv),
    )


def as_json(session: Session, run: ClvRun, limit: int) -> dict:
    """The run as the API shows it: the fit, its holdout check, the totals, the customers
    worth most (money in minor units of ``currency``), and the formulas."""
    fitted = run.status == "fitted"
    top = top_customers(session, run, limit) if fitted else []
    return {
        "id": run.id,
        "currency": run.currency,
        "status": run.status,
        "detail": run.detail,
        "fitted_at": run.fitted_at,
        "until": run.until,
        "horizon_months": run.horizon_months,
        "monthly_discount": run.monthly_discount,
        "customers": run.customers,
        "repeat_customers": run.repeat_customers,
        "params": run.params,
        "holdout": run.holdout,
        "totals": totals(session, run) if fitted else None,
        "top_customers": [
            _customer(
                s.customer_id,
                s.frequency,
                s.recency_days,
                s.age_days,
                s.monetary,
                s.expected_purchases,
                s.p_alive,
                s.expected_spend,
                s.clv,
            )
            for s in top
        ],
        "formulas": clv.FORMULAS,
    }


def analysis_json(found: Analysis, options: Options, until: date, limit: int) -> dict:
    """A fit of a purchases file, shaped as ``as_json`` (money in the file's units)."""
    top = sorted(found.predictions, key=lambda p: (-p.clv, p.customer))[:limit]
    return {
        "currency": None,
        "status": found.status,
        "detail": found.detail,
        "until": until,
        "horizon_months": options.horizon_months,
        "monthly_discount": options.monthly_discount,
        "customers": found.customers,
        "repeat_customers": found.repeat_customers,
        "params": found.params,
        "holdout": found.holdout,
        "top_customers": [
            _customer(
                p.customer,
                p.summary.frequency,
                round(p.summary.recency),
                round(p.summary.age),
                round(p.summary.monetary, 2),
                p.expected_purchases,
                p.p_alive,
                round(p.expected_spend, 2),
                round(p.clv, 2),
            )
            for p in top
        ],
        "formulas": clv.FORMULAS,
    }


def _customer(customer, frequency, recency, age, monetary, bought, alive, spend, value):
    return {
        "customer_id": customer,
        "frequency": frequency,
        "recency_days": recency,
        "age_days": age,
        "monetary": monetary,
        "expected_purchases": round(bought, 4),
        "p_alive": round(alive, 4),
        "expected_spend": spend,
        "clv": value,
    }
