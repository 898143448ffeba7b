"""Deciding an order held by fraud screening (the review queue is ``fraud.api``)."""

from fastapi import APIRouter

from mercato.fraud import service as fraud
from mercato.fraud.auth import FraudWrite
from mercato.fraud.schemas import AssessmentPublic, ReviewDecision
from mercato.orders import screening
from mercato.web.sessions import SessionFactories, WriteSession

router = APIRouter(prefix="/fraud/reviews", tags=["fraud"])


def _public(sessions, assessment_id: str) -> AssessmentPublic:
    with sessions.read() as session:
        found = AssessmentPublic.model_validate(fraud.get(session, assessment_id))
        found.log = fraud.log_of(session, assessment_id)
        return found


@router.post("/{assessment_id}/approve", response_model=AssessmentPublic)
def approve(
    assessment_id: str,
    session: WriteSession,
    token: FraudWrite,
    data: ReviewDecision | None = None,
):
    """Approve a held order: it is released to be fulfilled. Logged with who and why."""
    assessment = screening.approve(
        session, assessment_id, f"token:{token.name}", data.note if data else None
    )
    found = AssessmentPublic.model_validate(assessment)
    session.flush()
    found.log = fraud.log_of(session, assessment_id)
    return found


@router.post("/{assessment_id}/cancel", response_model=AssessmentPublic)
def cancel(
    assessment_id: str,
    sessions: SessionFactories,
    token: FraudWrite,
    data: ReviewDecision | None = None,
):
    """Cancel a held order: a checkout payment is refunded exactly (the whole remaining
    total, units back on hand), a platform's order is cancelled there. A refund the
    provider refuses is a 409 and the order stays in the queue."""
    screening.cancel(
        sessions.write, assessment_id, f"token:{token.name}", data.note if data else None
    )
    return _public(sessions, assessment_id)
