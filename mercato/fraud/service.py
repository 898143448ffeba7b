"""Screening an order: its signals counted and scored by the rules (``rules``), the
assessment stored with every reason, the decision logged; the review queue and its log;
the store's thresholds and weights. What a decision does to the order (held, released,
cancelled and refunded) is the order's own business (``orders.screening``)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import Session

from mercato.db import utcnow
from mercato.errors import Conflict, FieldError, NotFound, ValidationFailed
from mercato.fraud import rules
from mercato.fraud.models import Assessment, Decision, FraudSettings
from mercato.fraud.rules import Signals, Verdict
from mercato.fraud.schemas import FraudSettingsUpdate
from mercato.money import MoneyError, check_currency

STORE = "store"
RULES_ACTOR = "fraud-rules"


# ---------------------------------------------------------------- settings


def defaults() -> FraudSettings:
    return FraudSettings(
        id=STORE,
        enabled=False,
        hold_at=rules.DEFAULT_HOLD_AT,
        cancel_at=rules.DEFAULT_CANCEL_AT,
        window_minutes=rules.DEFAULT_WINDOW_MINUTES,
        limits={rule: allowed for rule, (_, allowed) in rules.VELOCITY.items()},
        weights=dict(rules.RULES),
        first_order_amount=rules.DEFAULT_FIRST_ORDER_AMOUNT,
        first_order_amounts={},
    )


def get_settings(session: Session) -> FraudSettings:
    """The store's settings; the defaults until a merchant saves their own."""
    return session.get(FraudSettings, STORE) or defaults()


def policy(session: Session) -> rules.Policy:
    s = get_settings(session)
    return rules.Policy(
        enabled=s.enabled,
        hold_at=s.hold_at,
        cancel_at=s.cancel_at,
        window_minutes=s.window_minutes,
        limits={**{r: a for r, (_, a) in rules.VELOCITY.items()}, **(s.limits or {})},
        weights={**rules.RULES, **(s.weights or {})},
        first_order_amount=s.first_order_amount,
        first_order_amounts=dict(s.first_order_amounts or {}),
    )


def update_settings(session: Session, data: FraudSettingsUpdate, actor: str) -> FraudSettings:
    """Save the thresholds and weights; a wrong one is refused by name, nothing saved."""
    found = session.get(FraudSettings, STORE, with_for_update=True)
    current = found or defaults()
    errors: list[FieldError] = []
    for name, known in (("weights", rules.RULES), ("limits", rules.VELOCITY)):
        for key in sorted(set(getattr(data, name) or {}) - set(known)):
            errors.append(
                FieldError((name, key), f"no such rule; one of {', '.join(known)}", "unknown")
            )
    amounts = dict(current.first_order_amounts or {})
    for code, amount in (data.first_order_amounts or {}).items():
        try:
            code = check_currency(code)
        except MoneyError as exc:
            errors.append(FieldError(("first_order_amounts", code), str(exc), "unknown"))
            continue
        if amount is None:
            amounts.pop(code, None)
        else:
            amounts[code] = amount
    hold_at = data.hold_at if data.hold_at is not None else current.hold_at
    cancel_at = None if data.cancel_never else (data.cancel_at or current.cancel_at)
    if data.cancel_never and data.cancel_at is not None:
        errors.append(FieldError(("cancel_at",), "give cancel_at or cancel_never, not both"))
    elif cancel_at is not None and cancel_at <= hold_at:
        errors.append(
            FieldError(
                ("cancel_at",),
                f"must be above hold_at ({hold_at}): an order is held before it is cancelled",
            )
        )
    if errors:
        raise ValidationFailed("The fraud settings are not valid; nothing was saved.", errors)
    if found is None:
        session.add(current)
    current.hold_at, current.cancel_at = hold_at, cancel_at
    if data.enabled is not None:
        current.enabled = data.enabled
    if data.window_minutes is not None:
        current.window_minutes = data.window_minutes
    if data.first_order_amount is not None:
        current.first_order_amount = data.first_order_amount
    if data.first_order_amounts is not None:
        current.first_order_amounts = amounts
    if data.limits:
        current.limits = {**(current.limits or {}), **data.limits}
    if data.weights:
        current.weights = {**(current.weights or {}), **data.weights}
    current.updated_at, current.updated_by = utcnow(), actor
    session.flush()
    return current


# ---------------------------------------------------------------- screening


def normal_email(email: str | None) -> str | None:
    return email.strip().lower() if email and email.strip() else None


def counts(
    session: Session, signals: Signals, since: datetime, until: datetime | None = None
) -> dict[str, int]:
    """Orders screened within the window for each velocity key of ``signals``, this one
    included (one query per key present)."""
    keys = {
        key: normal_email(value) if key == "email" else value
        for key, _ in rules.VELOCITY.values()
        if (value := getattr(signals, key))
    }
    if not keys:
        return {}
    matches = {key: getattr(Assessment, key) == value for key, value in keys.items()}
    query = select(*(func.sum(case((m, 1), else_=0)) for m in matches.values())).where(
        Assessment.created_at >= since, or_(*matches.values())
    )
    if until is not None:
        query = query.where(Assessment.created_at <= until)
    row = session.execute(query).one()
    return {key: int(n or 0) + 1 for key, n in zip(keys, row, strict=True)}


def earlier_assessed(session: Session, signals: Signals) -> int:
    """Orders of this buyer screened before and not cancelled (buyers seen before the
    screening began are counted by the caller, from its orders)."""
    email, phone = normal_email(signals.email), signals.phone
    if not (email or phone):
        return 0
    who = []
    if email:
        who.append(Assessment.email == email)
    if phone:
        who.append(Assessment.phone == phone)
    return int(
        session.scalar(
            select(func.count()).where(or_(*who), Assessment.status.in_(("passed", "approved")))
        )
        or 0
    )


def assess(
    session: Session,
    order_id: str,
    order_number: int,
    signals: Signals,
    now: datetime | None = None,
    current: rules.Policy | None = None,
) -> Assessment:
    """Score an order and store the assessment with its signals and reasons; the rules'
    decision is logged. Each order is screened once (when it is taken in)."""
    now = now or utcnow()
    current = current or policy(session)
    seen = counts(session, signals, now - timedelta(minutes=current.window_minutes), now)
    verdict: Verdict = rules.score(signals, seen, current)
    assessment = Assessment(
        order_id=order_id,
        order_number=order_number,
        channel=signals.channel,
        amount=signals.amount,
        currency=signals.currency,
        email=normal_email(signals.email),
        phone=signals.phone,
        card_fingerprint=signals.card_fingerprint,
        ip=signals.ip,
        device_id=signals.device_id,
        signals={**signals.as_dict(), "counts": seen},
        reasons=verdict.reasons,
        score=verdict.score,
        decision=verdict.decision,
        status={"approve": "passed", "hold": "held", "cancel": "cancelled"}[verdict.decision],
        created_at=now,
        decided_at=now,
        decided_by=RULES_ACTOR,
    )
    session.add(assessment)
    session.flush()
    _log(session, assessment, RULES_ACTOR, verdict.decision, _why(verdict), now)
    return assessment


def _why(verdict: Verdict) -> str:
    return f"score {verdict.score}: {verdict.summary()}"


def _log(
    session: Session, assessment: Assessment, actor: str, decision: str, why: str, now: datetime
) -> None:
    session.add(
        Decision(assessment_id=assessment.id, at=now, actor=actor, decision=decision, why=why)
    )


# ---------------------------------------------------------------- reviews


def get(session: Session, assessment_id: str, lock: bool = False) -> Assessment:
    found = session.get(Assessment, assessment_id, with_for_update=lock)
    if found is None:
        raise NotFound(f"No fraud assessment {assessment_id!r}.")
    return found


def of_order(session: Session, order_id: str) -> Assessment | None:
    return session.scalar(select(Assessment).where(Assessment.order_id == order_id))


def held(session: Session, limit: int = 200) -> list[Assessment]:
    """The review queue: held orders, oldest first."""
    return list(
        session.scalars(
            select(Assessment)
            .where(Assessment.status == "held")
            .order_by(Assessment.created_at, Assessment.id)
            .limit(limit)
        )
    )


def recent(session: Session, limit: int = 50) -> list[Assessment]:
    return list(
        session.scalars(
            select(Assessment).order_by(Assessment.created_at.desc(), Assessment.id).limit(limit)
        )
    )


def log_of(session: Session, assessment_id: str) -> list[Decision]:
    return list(
        session.scalars(
            select(Decision).where(Decision.assessment_id == assessment_id).order_by(Decision.id)
        )
    )


def review(
    session: Session, assessment_id: str, decision: str, actor: str, note: str | None = None
) -> Assessment:
    """A person decides a held order: approve or cancel. Logged with who and why."""
    assessment = get(session, assessment_id, lock=True)
    if assessment.status != "held":
        raise Conflict(
            f"Order #{assessment.order_number} is not waiting for review "
            f"(its screening is {assessment.status})."
        )
    now = utcnow()
    assessment.status = {"approve": "approved", "cancel": "cancelled"}[decision]
    assessment.decided_at, assessment.decided_by = now, actor
    _log(session, assessment, actor, decision, note or f"{decision}d on review", now)
    return assessment


def ruled_cancel_held(session: Session, assessment: Assessment, why: str) -> None:
    """The rules said cancel but the order could not be cancelled at once (its refund
    waits for the provider): it waits in the queue instead, and the log says why."""
    assessment.status = "held"
    _log(session, assessment, RULES_ACTOR, "hold", why, utcnow())
