"""Predicted customer lifetime value: BG/NBD for how many more purchases a customer will
make and whether they are still a customer, Gamma-Gamma for how much each purchase will
be worth (Fader, Hardie & Lee 2005), fitted with pymc-marketing.

Both models are fitted by maximum likelihood (flat priors, so the maximum a posteriori
fit is the likelihood's maximum): on Fader and Hardie's CDNOW sample this gives their
published parameters (tests/analytics/test_clv.py). Before a fit is trusted it is checked
on a holdout: fitted on the purchases up to a day, it predicts the repeat purchases of
the days after, and the prediction is set beside what the customers really did.

Nothing here reads the database: ``clv_runs`` feeds it the ledger's purchases.
pymc-marketing is an optional dependency (``pip install "mercato[clv]"``), imported only
when a model is fitted.
"""

from __future__ import annotations

import warnings
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from mercato.errors import MercatoError

# Below these, the likelihood is too flat for the fitted figures to mean anything.
MIN_CUSTOMERS = 30
MIN_REPEAT_CUSTOMERS = 10
# Repeat purchases in the holdout, grouped by purchases in the calibration period, as in
# the paper's "conditional expectations" figure: 0, 1, ... and the last group and over.
HOLDOUT_GROUPS = 7

FORMULAS = {
    "frequency": "days with a purchase after the first one (repeat purchases)",
    "recency": "days from the first purchase to the last",
    "age": "days from the first purchase to the end of the period observed (T)",
    "monetary": "mean value of the repeat purchases (the first one left out)",
    "expected_purchases": "BG/NBD: E[purchases in the horizon | frequency, recency, age]",
    "p_alive": "BG/NBD: P(still a customer | frequency, recency, age)",
    "expected_spend": "Gamma-Gamma: E[value of a purchase | frequency, monetary]",
    "clv": "Σ over the horizon's months of expected purchases in the month × expected_spend "
    "÷ (1 + monthly discount rate)^month",
    "holdout_error": "(predicted − actual) ÷ actual repeat purchases of the holdout days",
    "holdout_mae": "mean over customers of |predicted − actual| repeat purchases",
}


class ClvUnavailable(MercatoError):
    slug = "clv-not-installed"
    status = 501
    title = "Predicted lifetime value is not installed"


class NotEnoughData(MercatoError):
    slug = "not-enough-purchases"
    status = 422
    title = "Not enough purchases to predict lifetime value"


@dataclass(frozen=True)
class Purchase:
    customer: str
    day: date
    value: float  # in the currency's major unit; same-day purchases are one purchase


@dataclass
class CustomerSummary:
    customer: str
    frequency: int
    recency: float
    age: float
    monetary: float  # 0 without a repeat purchase


@dataclass
class Prediction:
    customer: str
    summary: CustomerSummary
    expected_purchases: float
    p_alive: float
    expected_spend: float
    clv: float


@dataclass
class Fit:
    params: dict[str, float]  # r, alpha, a, b (BG/NBD); p, q, v (Gamma-Gamma)
    customers: int
    repeat_customers: int
    _purchases_model: object = field(repr=False)
    _spend_model: object = field(repr=False)


@dataclass
class HoldoutGroup:
    purchases: str  # calibration repeat purchases: "0", "1", ... or "6+"
    customers: int
    actual: float  # mean repeat purchases in the holdout
    predicted: float


@dataclass
class Holdout:
    calibration_until: date
    until: date
    days: int
    customers: int
    actual: int
    predicted: float
    error: float | None  # (predicted − actual) ÷ actual
    mae: float
    groups: list[HoldoutGroup]


def summarise(purchases: Iterable[Purchase], until: date, unit_days: int = 1):
    """Each customer's frequency, recency, age and mean repeat value, from the purchases
    up to ``until`` (inclusive). Time is counted in units of ``unit_days`` days."""
    days: dict[str, dict[date, float]] = defaultdict(lambda: defaultdict(float))
    for p in purchases:
        if p.day <= until:
            days[p.customer][p.day] += p.value
    found = []
    for customer, by_day in days.items():
        ordered = sorted(by_day)
        first, last = ordered[0], ordered[-1]
        repeats = [by_day[d] for d in ordered[1:]]
        found.append(
            CustomerSummary(
                customer=customer,
                frequency=len(repeats),
                recency=(last - first).days / unit_days,
                age=(until - first).days / unit_days,
                monetary=sum(repeats) / len(repeats) if repeats else 0.0,
            )
        )
    return found


def check_enough(summaries: list[CustomerSummary]) -> None:
    repeaters = sum(1 for s in summaries if s.frequency > 0)
    if len(summaries) < MIN_CUSTOMERS or repeaters < MIN_REPEAT_CUSTOMERS:
        raise NotEnoughData(
            f"{len(summaries)} customers, {repeaters} of them with a repeat purchase: "
            f"at least {MIN_CUSTOMERS} and {MIN_REPEAT_CUSTOMERS} are needed"
        )


def fit(summaries: list[CustomerSummary]) -> Fit:
    """Both models fitted by maximum likelihood on these customers."""
    check_enough(summaries)
    pd, BetaGeoModel, GammaGammaModel, Prior = _library()
    flat_purchases = {name: Prior("HalfFlat") for name in ("r", "alpha", "a", "b")}
    flat_spend = {name: Prior("HalfFlat") for name in ("p", "q", "v")}
    purchases = BetaGeoModel(model_config=flat_purchases)
    spend = GammaGammaModel(model_config=flat_spend)
    repeaters = [s for s in summaries if s.frequency > 0 and s.monetary > 0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the library's notes on BLAS and on MAP fits
        purchases.fit(_frame(pd, summaries), method="map", progressbar=False)
        spend.fit(_frame(pd, repeaters, monetary=True), method="map", progressbar=False)
    params = {**_point(purchases, flat_purchases), **_point(spend, flat_spend)}
    return Fit(params, len(summaries), len(repeaters), purchases, spend)


def predict(
    fitted: Fit,
    summaries: list[CustomerSummary],
    horizon_months: int,
    monthly_discount: float,
    unit_days: int = 1,
) -> list[Prediction]:
    """What each customer is expected to buy and spend over the next months."""
    if not summaries:
        return []
    pd, *_ = _library()
    frame = _frame(pd, summaries, monetary=True)
    unit = {1: "D", 7: "W"}[unit_days]
    horizon = horizon_months * 30.4375 / unit_days  # the library's own month length
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bought = _means(fitted._purchases_model.expected_purchases(frame, future_t=horizon))
        alive = _means(fitted._purchases_model.expected_probability_alive(frame))
        spend = _means(fitted._spend_model.expected_customer_spend(frame))
        value = _means(
            fitted._spend_model.expected_customer_lifetime_value(
                transaction_model=fitted._purchases_model,
                data=frame,
                future_t=horizon_months,
                discount_rate=monthly_discount,
                time_unit=unit,
            )
        )
    return [
        Prediction(s.customer, s, bought[i], alive[i], spend[i], value[i])
        for i, s in enumerate(summaries)
    ]


def expected_purchases(fitted: Fit, summaries: list[CustomerSummary], units: float):
    pd, *_ = _library()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _means(
            fitted._purchases_model.expected_purchases(_frame(pd, summaries), future_t=units)
        )


def holdout(
    purchases: list[Purchase], calibration_until: date, until: date, unit_days: int = 1
) -> Holdout:
    """Fit on the purchases up to ``calibration_until``; predict each of those customers'
    repeat purchases in the days after, up to ``until``, and compare with what they did."""
    calibration = summarise(purchases, calibration_until, unit_days)
    fitted = fit(calibration)
    later: dict[str, set[date]] = defaultdict(set)
    for p in purchases:
        if calibration_until < p.day <= until:
            later[p.customer].add(p.day)
    days = (until - calibration_until).days
    predicted = expected_purchases(fitted, calibration, days / unit_days)
    actual = [len(later.get(s.customer, ())) for s in calibration]
    groups = []
    for g in range(HOLDOUT_GROUPS):
        members = [
            i
            for i, s in enumerate(calibration)
            if s.frequency == g or (g == HOLDOUT_GROUPS - 1 and s.frequency > g)
        ]
        if members:
            groups.append(
                HoldoutGroup(
                    f"{g}+" if g == HOLDOUT_GROUPS - 1 else str(g),
                    len(members),
                    sum(actual[i] for i in members) / len(members),
                    sum(predicted[i] for i in members) / len(members),
                )
            )
    total = sum(actual)
    expected = sum(predicted)
    return Holdout(
        calibration_until=calibration_until,
        until=until,
        days=days,
        customers=len(calibration),
        actual=total,
        predicted=expected,
        error=(expected - total) / total if total else None,
        mae=sum(abs(p - a) for p, a in zip(predicted, actual, strict=True)) / len(calibration),
        groups=groups,
    )


def _library():
    try:
        import pandas as pd
        from pymc_extras.prior import Prior
        from pymc_marketing.clv import BetaGeoModel, GammaGammaModel
    except ImportError as exc:
        raise ClvUnavailable('pymc-marketing is needed: pip install "mercato[clv]"') from exc
    return pd, BetaGeoModel, GammaGammaModel, Prior


def _frame(pd, summaries: list[CustomerSummary], monetary: bool = False):
    columns = {
        "customer_id": [i for i in range(len(summaries))],
        "frequency": [s.frequency for s in summaries],
        "recency": [s.recency for s in summaries],
        "T": [s.age for s in summaries],
    }
    if monetary:
        columns["monetary_value"] = [s.monetary for s in summaries]
    return pd.DataFrame(columns)


def _point(model, names) -> dict[str, float]:
    posterior = model.idata.posterior
    return {name: float(posterior[name].mean()) for name in names}


def _means(array) -> list[float]:
    """The fit's point estimate per customer (a MAP fit has one draw)."""
    dims = [d for d in ("chain", "draw") if d in array.dims]
    return [float(x) for x in array.mean(dim=dims).values]
