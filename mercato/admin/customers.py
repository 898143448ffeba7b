"""The dashboard's customer pages: the list (searchable, with lifetime figures) and one
profile with its contact points, channels, merges, suggestions, consent and timeline."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request

from mercato.admin import service as admin_service
from mercato.admin.pages import Admin, _actor, _back, _page, _said
from mercato.customers import merges
from mercato.errors import MercatoError
from mercato.profiles import service
from mercato.system import audit
from mercato.web.sessions import ReadSession, SessionFactories, WriteSession

router = APIRouter(prefix="/admin/customers", include_in_schema=False)


@router.get("")
def customer_list(
    request: Request,
    session: ReadSession,
    admin: Admin,
    q: str = "",
    cursor: str | None = None,
):
    page = service.list_profiles(session, q or None, cursor, 50)
    suggested = len(merges.suggestions(session))
    return _page(
        request,
        "customers.html",
        admin,
        page=page,
        q=q,
        suggested=suggested,
        here="/admin/customers",
    )


@router.get("/{customer_id}")
def customer_page(
    request: Request,
    customer_id: str,
    session: ReadSession,
    admin: Admin,
    sessions: SessionFactories,
):
    profile = service.detail(session, customer_id)
    timeline = service.timeline(session, profile.id, 100)
    viewer = audit.dashboard_actor(admin.token)
    audit.viewed(sessions, viewer, profile.id, "profile page (dashboard)")
    # Who read or changed this profile, for those who may read the privacy log.
    log = audit.entries(session, profile.id, 20) if admin.can("privacy:read") else None
    return _page(
        request,
        "customer.html",
        admin,
        p=profile,
        timeline=timeline,
        audit_log=log,
        here="/admin/customers",
    )


def _decide(session, admin, csrf: str, back: str, action, done: str):
    admin_service.check_csrf(admin, csrf)
    admin_service.require(admin, "customers:write")
    try:
        action(_actor(admin))
    except MercatoError as exc:
        session.rollback()
        return _back(back, error=_said(exc))
    return _back(back, msg=done)


@router.post("/{customer_id}/suggestions/{suggestion_id}/{decision}")
def decide_suggestion(
    customer_id: str,
    suggestion_id: str,
    decision: str,
    session: WriteSession,
    admin: Admin,
    csrf: Annotated[str, Form()],
):
    do = merges.accept if decision == "accept" else merges.dismiss
    return _decide(
        session,
        admin,
        csrf,
        f"/admin/customers/{customer_id}",
        lambda actor: do(session, suggestion_id, actor),
        "Merged." if decision == "accept" else "Dismissed.",
    )


@router.post("/{customer_id}/merges/{merge_id}/undo")
def undo_merge(
    customer_id: str,
    merge_id: str,
    session: WriteSession,
    admin: Admin,
    csrf: Annotated[str, Form()],
):
    return _decide(
        session,
        admin,
        csrf,
        f"/admin/customers/{customer_id}",
        lambda actor: merges.unmerge(session, merge_id, actor),
        "Unmerged: each profile has back what it had.",
    )
