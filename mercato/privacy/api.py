"""Data subject requests for the merchant (``/api/v1/privacy``), and Meta's data deletion
callback with its status page (``/privacy``)."""

from html import escape
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse

from mercato.privacy import service
from mercato.privacy.auth import PrivacyRead, PrivacyWrite
from mercato.privacy.schemas import (
    AuditPage,
    PrivacyRequestCreate,
    PrivacyRequestPage,
    PrivacyRequestPublic,
)
from mercato.system import audit
from mercato.system.audit import actor_of as actor
from mercato.web.requests import PostedForm
from mercato.web.sessions import ReadSession, SessionFactories, WriteSession

router = APIRouter(prefix="/api/v1/privacy", tags=["privacy"])
callbacks = APIRouter(prefix="/privacy", tags=["privacy"])


@router.post("/requests", response_model=PrivacyRequestPublic, status_code=201)
def open_request(data: PrivacyRequestCreate, session: WriteSession, token: PrivacyWrite):
    """Log a person's request (access or erasure), with its deadline by law."""
    return service.open_request(session, data, actor(token))


@router.get("/requests", response_model=PrivacyRequestPage)
def list_requests(
    session: ReadSession,
    _: PrivacyRead,
    status: Literal["open", "completed", "refused"] | None = None,
):
    """Requests, the soonest due first."""
    return {"items": service.list_requests(session, status)}


@router.get("/requests/{request_id}", response_model=PrivacyRequestPublic)
def get_request(
    request_id: str, session: ReadSession, token: PrivacyRead, sessions: SessionFactories
):
    found = service.get_request(session, request_id)
    audit.viewed(sessions, token, request_id)
    return found


@router.get("/audit", response_model=AuditPage)
def audit_log(
    session: ReadSession,
    _: PrivacyRead,
    subject: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
):
    """Who viewed, exported, changed or erased personal data: the latest first, about one
    customer profile, order, conversation or request (``subject``) when given."""
    return {"items": audit.entries(session, subject, limit)}


@router.post(
    "/requests/{request_id}/export",
    response_class=Response,
    responses={200: {"content": {"application/zip": {}}}},
)
def export(request_id: str, session: WriteSession, token: PrivacyWrite):
    """Everything held about the person: one zip, ``data.json`` and a CSV per table."""
    archive = service.export_request(session, request_id, actor(token))
    disposition = f'attachment; filename="{request_id}.zip"'
    return Response(
        archive, media_type="application/zip", headers={"Content-Disposition": disposition}
    )


@router.post("/requests/{request_id}/erase", response_model=PrivacyRequestPublic)
def erase(request_id: str, session: WriteSession, token: PrivacyWrite):
    """Erase everything held about the person, in one transaction: orders are kept with
    their details pseudonymised, so revenue and stock stay as they were."""
    return service.erase_request(session, request_id, actor(token))


@callbacks.post("/meta/{account_id}/data-deletion")
def meta_data_deletion(account_id: str, form: PostedForm, request: Request, session: WriteSession):
    """Meta's data deletion request callback, signed with the account's app secret."""
    erased = service.honour_meta_deletion(session, account_id, str(form.get("signed_request", "")))
    base = request.app.state.settings.base_url.rstrip("/")
    code = erased.confirmation_code
    return {"url": f"{base}/privacy/deletion/{code}", "confirmation_code": code}


@callbacks.get("/deletion/{code}", response_class=HTMLResponse)
def deletion_status(code: str, session: ReadSession):
    """The status of a deletion request, for the person who made it."""
    found = service.by_confirmation_code(session, code)
    done = found.completed_at.strftime("%Y-%m-%d %H:%M UTC") if found.completed_at else None
    state = (
        f"Your data was erased on {done}. Orders are kept for tax law, without your "
        "name, contact details or address."
        if done
        else f"Your request is being handled; it is due by {found.due_at:%Y-%m-%d}."
    )
    return (
        "<!doctype html><html lang=en><meta charset=utf-8><title>Data deletion request</title>"
        f"<h1>Data deletion request</h1><p>Confirmation code: {escape(code)}</p>"
        f"<p>Received on {found.received_at:%Y-%m-%d %H:%M UTC}.</p><p>{escape(state)}</p>"
    )
