"""Attribution over the touch ledger: the period's journeys, then the models by name."""

from __future__ import annotations

from sqlalchemy.orm import Session

from mercato.analytics.attribution import Options, Report, attribute_all
from mercato.analytics.kpis import Period
from mercato.analytics.ledger_journeys import from_ledger
from mercato.errors import FieldError, ValidationFailed


def attribute_period(
    session: Session, period: Period, currency: str, model: str, options: Options
) -> Report:
    if period.end < period.start:
        raise ValidationFailed("No such period.", [FieldError(("to",), "on or after from")])
    journeys = from_ledger(session, period.since, period.until, currency)
    report = attribute_all(journeys, model, options, "the ledger")
    if not any(j.conversions for j in journeys):
        report.notes.append(
            f"no purchase in {currency} from {period.start} to {period.end} in the ledger"
        )
    return report
