"""A/B experiments on the product page's recommendation row, counted by the ledger.

A running experiment splits visitors into two arms by a hash of the experiment and the
visitor's browser key, so a visitor keeps their arm for as long as their browser keeps
the shop's cookie and no assignment is stored. Three kinds of touch carry the arm
(``Touch.experiment`` = "<experiment id>:<arm>"):

- an *exposure*: an impression recorded the first time a visitor sees a product page
  while the experiment runs, one per visitor (its event id is a digest of the
  experiment and the visitor, so it cannot be joined to anything else);
- a *click* on a product of the row (its links carry ``rx=<tag>``);
- the *purchase* and any *refund* of an order whose checkout started from an exposed
  visitor: the storefront puts the arm in the checkout's attribution, and the order's
  touches take it from there, as they take its channel and campaign.

Results: visitors, clicks, orders and revenue per arm; conversion = orders ÷ exposed
visitors; the difference B − A tested with a two-proportion z-test (pooled), each
figure shown with its formula.
"""

from __future__ import annotations

import hashlib
import math
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from fractions import Fraction

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mercato.analytics import ledger
from mercato.analytics.models import Experiment, Touch
from mercato.db import utcnow
from mercato.errors import Conflict, FieldError, NotFound, ValidationFailed
from mercato.recommendations.schemas import ExperimentCreate
from mercato.recommendations.serving import STRATEGIES

FORMULAS = {
    "conversion": "orders ÷ exposed visitors (each browser once)",
    "click_rate": "clicks on the row ÷ exposed visitors",
    "revenue_per_visitor": "(purchases − refunds) ÷ exposed visitors, per currency",
    "difference": "conversion of B − conversion of A",
    "p_value": (
        "two-sided, two-proportion z-test with pooled p = (orders A + orders B) ÷ "
        "(visitors A + visitors B); z = difference ÷ √(p(1−p)(1/visitors A + 1/visitors B))"
    ),
}


@dataclass(frozen=True)
class Assignment:
    experiment_id: str
    arm: str
    strategy: str

    @property
    def tag(self) -> str:
        return f"{self.experiment_id}:{self.arm}"


# ---------------------------------------------------------------- running one


def start(session: Session, data: ExperimentCreate, now: datetime | None = None) -> Experiment:
    """A new experiment, running at once; refused while another one runs."""
    errors = [
        FieldError((arm,), f"one of {', '.join(STRATEGIES)}")
        for arm in ("arm_a", "arm_b")
        if getattr(data, arm) not in STRATEGIES
    ]
    if not errors and data.arm_a == data.arm_b:
        errors.append(FieldError(("arm_b",), "must differ from arm_a"))
    if errors:
        raise ValidationFailed("This experiment cannot start.", errors)
    if running(session) is not None:
        raise Conflict("An experiment is running already: stop it before starting another.")
    experiment = Experiment(
        name=data.name,
        arm_a=data.arm_a,
        arm_b=data.arm_b,
        share_b=data.share_b,
        started_at=now or utcnow(),
    )
    try:
        with session.begin_nested():
            session.add(experiment)
    except IntegrityError:  # another one started at the same moment (the unique index)
        raise Conflict(
            "An experiment is running already: stop it before starting another."
        ) from None
    return experiment


def stop(session: Session, experiment_id: str, now: datetime | None = None) -> Experiment:
    """Stops it (its results stay); stopping a stopped one changes nothing."""
    experiment = get(session, experiment_id)
    if experiment.status == "running":
        experiment.status = "stopped"
        experiment.stopped_at = now or utcnow()
        session.flush()
    return experiment


def get(session: Session, experiment_id: str) -> Experiment:
    experiment = session.get(Experiment, experiment_id)
    if experiment is None:
        raise NotFound(f"No experiment {experiment_id!r}.")
    return experiment


def list_experiments(session: Session, limit: int = 20) -> list[Experiment]:
    return list(
        session.scalars(
            select(Experiment).order_by(Experiment.started_at.desc(), Experiment.id).limit(limit)
        )
    )


def running(session: Session) -> Experiment | None:
    return session.scalars(select(Experiment).where(Experiment.status == "running")).first()


# ---------------------------------------------------------------- visitors


def assign(experiment: Experiment, visitor: str) -> Assignment:
    """The visitor's arm: ``share_b`` percent of visitors in B, the same one each time."""
    digest = hashlib.sha256(f"{experiment.id}:{visitor}".encode()).digest()
    in_b = int.from_bytes(digest[:8], "big") % 100 < experiment.share_b
    arm = "b" if in_b else "a"
    return Assignment(experiment.id, arm, experiment.arm_b if in_b else experiment.arm_a)


def for_visitor(session: Session, visitor: str | None) -> Assignment | None:
    """The running experiment's arm for this visitor, if one runs and they have a key."""
    experiment = running(session) if visitor else None
    return assign(experiment, visitor) if experiment is not None else None


def _exposure_id(experiment_id: str, visitor: str) -> str:
    digest = hashlib.sha256(f"exposure:{experiment_id}:{visitor}".encode()).hexdigest()
    return f"exposure:{experiment_id}:{digest[:40]}"


def record_exposure(
    session: Session, assignment: Assignment, visitor: str, product_id: str, now: datetime
) -> bool:
    """The visitor's exposure, once per experiment; True when it was their first."""
    touch = {
        "event_id": _exposure_id(assignment.experiment_id, visitor),
        "kind": "impression",
        "source": "server",
        "at": now,
        "product_id": product_id,
        "experiment": assignment.tag,
    }
    return ledger.record(session, [touch]) == 1


def record_click(session: Session, assignment: Assignment, product_id: str, now: datetime) -> None:
    """A click on the row: a product page opened from one of its links by a visitor of
    the arm the link names."""
    touch = {
        "event_id": f"click:{assignment.experiment_id}:{secrets.token_hex(12)}",
        "kind": "click",
        "source": "server",
        "at": now,
        "product_id": product_id,
        "experiment": assignment.tag,
    }
    ledger.record(session, [touch])


def checkout_tag(session: Session, visitor: str | None) -> str | None:
    """The arm a starting checkout carries in its attribution: the running experiment's,
    for a visitor who was shown it (not one who never saw a product page)."""
    assignment = for_visitor(session, visitor)
    if assignment is None or visitor is None:
        return None
    exposure = _exposure_id(assignment.experiment_id, visitor)
    seen = session.scalar(select(Touch.id).where(Touch.event_id == exposure))
    return assignment.tag if seen is not None else None


# ---------------------------------------------------------------- results


@dataclass
class ArmResult:
    arm: str
    strategy: str
    visitors: int = 0
    clicks: int = 0
    orders: int = 0
    # Purchases less refunds, by currency (minor units).
    revenue: dict[str, int] = field(default_factory=dict)

    @property
    def conversion(self) -> Fraction | None:
        return Fraction(self.orders, self.visitors) if self.visitors else None

    @property
    def click_rate(self) -> Fraction | None:
        return Fraction(self.clicks, self.visitors) if self.visitors else None

    def revenue_per_visitor(self) -> dict[str, Fraction]:
        if not self.visitors:
            return {}
        return {c: Fraction(v, self.visitors) for c, v in sorted(self.revenue.items())}


@dataclass
class Comparison:
    experiment: Experiment
    a: ArmResult
    b: ArmResult
    difference: Fraction | None
    z: float | None
    p_value: float | None


def results(session: Session, experiment: Experiment) -> Comparison:
    """Each arm's figures from the ledger, and whether B differs from A."""
    arms = {
        f"{experiment.id}:a": ArmResult("a", experiment.arm_a),
        f"{experiment.id}:b": ArmResult("b", experiment.arm_b),
    }
    rows = session.execute(
        select(
            Touch.experiment,
            Touch.kind,
            Touch.currency,
            func.coalesce(func.sum(Touch.count), 0),
            func.coalesce(func.sum(Touch.value), 0),
        )
        .where(
            Touch.experiment.in_(list(arms)),
            Touch.kind.in_(("impression", "click", "purchase", "refund")),
        )
        .group_by(Touch.experiment, Touch.kind, Touch.currency)
    )
    for tag, kind, currency, count, value in rows:
        arm = arms[tag]
        if kind == "impression":
            arm.visitors += int(count)
        elif kind == "click":
            arm.clicks += int(count)
        else:
            if kind == "purchase":
                arm.orders += int(count)
            if currency:
                arm.revenue[currency] = arm.revenue.get(currency, 0) + int(value)
    a, b = arms.values()
    difference, z, p_value = _z_test(a, b)
    return Comparison(experiment, a, b, difference, z, p_value)


def _z_test(a: ArmResult, b: ArmResult) -> tuple[Fraction | None, float | None, float | None]:
    if not a.visitors or not b.visitors:
        return None, None, None
    # An order counts as one converting visitor: a rate above 1 cannot be tested.
    orders_a, orders_b = min(a.orders, a.visitors), min(b.orders, b.visitors)
    difference = Fraction(orders_b, b.visitors) - Fraction(orders_a, a.visitors)
    pooled = (orders_a + orders_b) / (a.visitors + b.visitors)
    spread = math.sqrt(pooled * (1 - pooled) * (1 / a.visitors + 1 / b.visitors))
    if spread == 0:
        return difference, None, None
    z = float(difference) / spread
    return difference, z, math.erfc(abs(z) / math.sqrt(2))


def as_json(comparison: Comparison) -> dict:
    """A comparison for the API: ratios as decimals, with the formulas behind them."""

    def ratio(value: Fraction | None) -> float | None:
        return None if value is None else round(float(value), 6)

    def arm(result: ArmResult) -> dict:
        return {
            "arm": result.arm,
            "strategy": result.strategy,
            "visitors": result.visitors,
            "clicks": result.clicks,
            "orders": result.orders,
            "revenue": result.revenue,
            "conversion": ratio(result.conversion),
            "click_rate": ratio(result.click_rate),
            "revenue_per_visitor": {c: ratio(v) for c, v in result.revenue_per_visitor().items()},
        }

    e = comparison.experiment
    return {
        "id": e.id,
        "name": e.name,
        "status": e.status,
        "share_b": e.share_b,
        "started_at": e.started_at.isoformat(),
        "stopped_at": e.stopped_at.isoformat() if e.stopped_at else None,
        "arms": [arm(comparison.a), arm(comparison.b)],
        "difference": ratio(comparison.difference),
        "z": None if comparison.z is None else round(comparison.z, 4),
        "p_value": None if comparison.p_value is None else round(comparison.p_value, 6),
        "formulas": FORMULAS,
    }
