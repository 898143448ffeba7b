"""The fraud screening API: the review queue, one assessment with its log, and the
store's thresholds and weights. Deciding a held order (approve, cancel) changes the
order, so those two endpoints are the order's: ``orders.screening_api``."""

from fastapi import APIRouter

from mercato.fraud import service
from mercato.fraud.auth import FraudRead, FraudWrite
from mercato.fraud.schemas import (
    AssessmentPublic,
    FraudSettingsPublic,
    FraudSettingsUpdate,
    ReviewPage,
)
from mercato.web.sessions import ReadSession, WriteSession

router = APIRouter(prefix="/fraud", tags=["fraud"])


def public(session, assessment) -> AssessmentPublic:
    found = AssessmentPublic.model_validate(assessment)
    found.log = service.log_of(session, assessment.id)
    return found


@router.get("/reviews", response_model=ReviewPage)
def list_reviews(session: ReadSession, _: FraudRead):
    """Orders held for review, oldest first, each with its score and reasons."""
    return ReviewPage(items=[public(session, a) for a in service.held(session)])


@router.get("/reviews/{assessment_id}", response_model=AssessmentPublic)
def get_review(assessment_id: str, session: ReadSession, _: FraudRead):
    """One assessment: signals, reasons, decision and the log of every decision."""
    return public(session, service.get(session, assessment_id))


@router.get("/settings", response_model=FraudSettingsPublic)
def get_settings(session: ReadSession, _: FraudRead):
    return service.get_settings(session)


@router.put("/settings", response_model=FraudSettingsPublic)
def update_settings(data: FraudSettingsUpdate, session: WriteSession, token: FraudWrite):
    """Change thresholds, velocity limits, the window or rule weights; what is left out
    stays. A wrong value is refused naming its field, and nothing is saved."""
    return service.update_settings(session, data, actor=f"token:{token.name}")
