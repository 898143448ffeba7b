"""Customers API: profiles (one per person across channels), their timeline, merges and
suggested merges, consent; segments and their members."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from mercato.customers import consent, merges, profiles
from mercato.pagination import MAX_PAGE_SIZE
from mercato.profiles import service
from mercato.profiles.auth import CustomersRead, CustomersWrite
from mercato.profiles.schemas import (
    ConsentCreate,
    ConsentPublic,
    MergeCreate,
    MergePublic,
    ProfileDetail,
    ProfilePage,
    ProfileUpdate,
    SuggestionPublic,
    TimelineEntry,
)
from mercato.segments import service as segments
from mercato.segments.schemas import SegmentCreate, SegmentPublic, SegmentUpdate
from mercato.system import audit
from mercato.web.sessions import ReadSession, SessionFactories, WriteSession

router = APIRouter(prefix="/customers", tags=["customers"])
segments_router = APIRouter(prefix="/segments", tags=["customers"])
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)]


def _actor(token) -> str:
    return f"token:{token.name}"


@router.get("", response_model=ProfilePage)
def list_customers(
    session: ReadSession,
    _: CustomersRead,
    q: Annotated[
        str | None, Query(description="Part of a name, or a whole email, phone or platform id")
    ] = None,
    cursor: str | None = None,
    limit: Limit = 50,
):
    return service.list_profiles(session, q, cursor, limit)


@router.get("/suggestions", response_model=list[SuggestionPublic])
def list_suggestions(session: ReadSession, _: CustomersRead):
    """Suggested merges waiting for the merchant (weak matches, never applied alone)."""
    return merges.suggestions(session)


@router.post("/suggestions/{suggestion_id}/accept", response_model=MergePublic)
def accept_suggestion(suggestion_id: str, session: WriteSession, token: CustomersWrite):
    return merges.accept(session, suggestion_id, _actor(token))


@router.post("/suggestions/{suggestion_id}/dismiss", response_model=SuggestionPublic)
def dismiss_suggestion(suggestion_id: str, session: WriteSession, token: CustomersWrite):
    return merges.dismiss(session, suggestion_id, _actor(token))


@router.post("/merges/{merge_id}/undo", response_model=MergePublic)
def undo_merge(merge_id: str, session: WriteSession, token: CustomersWrite):
    """Unmerge: both profiles get back what each had."""
    return merges.unmerge(session, merge_id, _actor(token))


@router.get("/{customer_id}", response_model=ProfileDetail)
def get_customer(
    customer_id: str, session: ReadSession, token: CustomersRead, sessions: SessionFactories
):
    """The whole profile (any of its rows' ids finds it; the read is in the audit log)."""
    found = service.detail(session, customer_id)
    audit.viewed(sessions, token, found.id, "profile (API)")
    return found


@router.patch("/{customer_id}", response_model=ProfileDetail)
def update_customer(
    customer_id: str, data: ProfileUpdate, session: WriteSession, token: CustomersWrite
):
    fields = data.model_dump(include={"name", "language", "notes"}, exclude_unset=True)
    root = profiles.update(
        session, customer_id, fields=fields, tags=data.tags, actor=audit.actor_of(token)
    )
    return service.detail(session, root.id)


@router.get("/{customer_id}/timeline", response_model=list[TimelineEntry])
def customer_timeline(
    customer_id: str,
    session: ReadSession,
    token: CustomersRead,
    sessions: SessionFactories,
    limit: Annotated[int, Query(ge=1, le=service.TIMELINE_MOST)] = 100,
):
    """Orders, messages, checkouts and touches, newest first (in the audit log)."""
    found = service.timeline(session, customer_id, limit)
    audit.viewed(sessions, token, service.find(session, customer_id).id, "timeline (API)")
    return found


@router.post("/{customer_id}/merges", response_model=MergePublic, status_code=201)
def merge_customer(
    customer_id: str, data: MergeCreate, session: WriteSession, token: CustomersWrite
):
    """Merge another profile into this one (the merchant knows they are one person)."""
    service.find(session, data.other_id)
    return merges.merge(
        session,
        customer_id,
        data.other_id,
        rule="manual",
        reason=data.reason,
        actor=_actor(token),
    )


@router.get("/{customer_id}/consents", response_model=list[ConsentPublic])
def consent_history(
    customer_id: str, session: ReadSession, token: CustomersRead, sessions: SessionFactories
):
    """Every answer, newest first (the first per purpose and channel is in force)."""
    root = service.find(session, customer_id)
    found = consent.history(session, root.id)
    audit.viewed(sessions, token, root.id, "consent history (API)")
    return found


@router.post("/{customer_id}/consents", response_model=list[ConsentPublic], status_code=201)
def record_consent(
    customer_id: str, data: ConsentCreate, session: WriteSession, token: CustomersWrite
):
    """Record an agreement or a withdrawal (in force at once), with the words shown."""
    root = service.find(session, customer_id)
    return consent.record(
        session,
        root.id,
        consent.check(data.purpose, data.channel),
        data.granted,
        source=data.source,
        wording=data.wording,
        reference=data.reference or _actor(token),
    )


# ---------------------------------------------------------------- segments


@segments_router.get("", response_model=list[SegmentPublic])
def list_segments(session: ReadSession, _: CustomersRead):
    return segments.list_segments(session)


@segments_router.post("", response_model=SegmentPublic, status_code=201)
def create_segment(data: SegmentCreate, session: WriteSession, _: CustomersWrite):
    return segments.create(session, data)


@segments_router.get("/{segment_id}", response_model=SegmentPublic)
def get_segment(segment_id: str, session: ReadSession, _: CustomersRead):
    return segments.get(session, segment_id)


@segments_router.patch("/{segment_id}", response_model=SegmentPublic)
def update_segment(segment_id: str, data: SegmentUpdate, session: WriteSession, _: CustomersWrite):
    return segments.update(session, segment_id, data)


@segments_router.delete("/{segment_id}", status_code=204)
def delete_segment(segment_id: str, session: WriteSession, _: CustomersWrite):
    segments.delete(session, segment_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@segments_router.get("/{segment_id}/members", response_model=ProfilePage)
def segment_members(
    segment_id: str,
    session: ReadSession,
    _: CustomersRead,
    cursor: str | None = None,
    limit: Limit = 50,
):
    """The profiles the segment's filters hold for now."""
    page = segments.members(session, segment_id, cursor, limit)
    return ProfilePage(items=service.summaries(session, page.items), next_cursor=page.next_cursor)
