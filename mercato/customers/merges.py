"""Merging two profiles into one, and undoing it.

Nothing is copied or re-pointed: each identity, order, conversation and checkout keeps
the customer row it was linked to, and every row of a profile carries the profile's id
(``Customer.profile_id``). A merge points the merged profile's rows at the one kept; an
unmerge gives the merged row (and the rows merged into it before) their own profile back,
so both sides get back exactly what they had, and what arrived meanwhile through the
merged side's identities goes with it.

Suggested merges (weak matches) wait for the merchant: accepted, they are a merge like
any other; dismissed, they are never suggested again.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from mercato.customers.models import Customer, Merge, MergeSuggestion
from mercato.db import utcnow
from mercato.errors import Conflict, NotFound
from mercato.events import service as events
from mercato.system import audit


def root_of(session: Session, customer_id: str) -> Customer:
    """The profile's root row for any of its rows."""
    customer = session.get(Customer, customer_id)
    if customer is None:
        raise NotFound(f"No customer {customer_id}.")
    return session.get(Customer, customer.profile_id) or customer


def rows_of(session: Session, profile_id: str) -> list[str]:
    return list(
        session.scalars(
            select(Customer.id).where(Customer.profile_id == profile_id).order_by(Customer.id)
        )
    )


def merge(
    session: Session,
    survivor_id: str,
    merged_id: str,
    *,
    rule: str,
    reason: str,
    actor: str,
    evidence: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> Merge:
    """Merge the profile of ``merged_id`` into the profile of ``survivor_id`` (any row of
    each: their roots are merged)."""
    now = now or utcnow()
    survivor, merged = root_of(session, survivor_id), root_of(session, merged_id)
    if survivor.id == merged.id:
        raise Conflict("These are one profile already.")
    # Both roots locked, in one order for every writer.
    locked = {
        c.id: c
        for c in session.scalars(
            select(Customer)
            .where(Customer.id.in_([survivor.id, merged.id]))
            .order_by(Customer.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    }
    survivor, merged = locked[survivor.id], locked[merged.id]
    if survivor.profile_id != survivor.id or merged.profile_id != merged.id:
        raise Conflict("One of these profiles was merged meanwhile; try again.")
    rows = rows_of(session, merged.id)
    session.execute(
        update(Customer)
        .where(Customer.profile_id == merged.id)
        .values(profile_id=survivor.id)
        .execution_options(synchronize_session="fetch")
    )
    merged.merged_into_id = survivor.id
    survivor.updated_at = merged.updated_at = now
    record = Merge(
        survivor_id=survivor.id,
        merged_id=merged.id,
        rule=rule,
        reason=reason[:2000],
        actor=actor[:100],
        evidence=evidence or {},
        merged_rows=rows,
        status="active",
        created_at=now,
    )
    session.add(record)
    session.flush()
    said = f"merged {merged.id} into this profile ({rule}, {record.id})"
    audit.record(session, actor, "changed", survivor.id, said, now)
    events.record(
        session,
        "customer.merged",
        {
            "merge_id": record.id,
            "customer_id": survivor.id,
            "merged_customer_id": merged.id,
            "rule": rule,
        },
        key=survivor.id,
    )
    return record


def unmerge(session: Session, merge_id: str, actor: str, now: datetime | None = None) -> Merge:
    """Undo a merge: the merged row and the rows under it are their own profile again,
    with their identities, orders, conversations, checkouts and touches."""
    now = now or utcnow()
    record = session.scalar(select(Merge).where(Merge.id == merge_id).with_for_update())
    if record is None:
        raise NotFound(f"No merge {merge_id}.")
    if record.status != "active":
        raise Conflict("This merge was undone already.")
    merged = session.scalar(
        select(Customer)
        .where(Customer.id == record.merged_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    profile = merged.profile_id
    members = list(
        session.execute(
            select(Customer.id, Customer.merged_into_id).where(Customer.profile_id == profile)
        )
    )
    children: dict[str, list[str]] = {}
    for row_id, parent in members:
        if parent:
            children.setdefault(parent, []).append(row_id)
    subtree, todo = [], [merged.id]
    while todo:
        current = todo.pop()
        subtree.append(current)
        todo += [c for c in children.get(current, []) if c != merged.id]
    session.execute(
        update(Customer)
        .where(Customer.id.in_(subtree))
        .values(profile_id=merged.id)
        .execution_options(synchronize_session="fetch")
    )
    merged.merged_into_id = None
    merged.updated_at = now
    record.status, record.undone_at, record.undone_by = "undone", now, actor[:100]
    session.flush()
    said = f"unmerged {merged.id} from this profile ({record.id})"
    audit.record(session, actor, "changed", profile, said, now)
    said = f"unmerged from {profile} ({record.id})"
    audit.record(session, actor, "changed", merged.id, said, now)
    events.record(
        session,
        "customer.unmerged",
        {
            "merge_id": record.id,
            "customer_id": profile,
            "restored_customer_id": merged.id,
        },
        key=merged.id,
    )
    return record


def of_profile(session: Session, profile_id: str) -> list[Merge]:
    """The merges that made this profile, and those it came out of, newest first."""
    rows = rows_of(session, profile_id)
    return list(
        session.scalars(
            select(Merge)
            .where(or_(Merge.survivor_id.in_(rows), Merge.merged_id.in_(rows)))
            .order_by(Merge.created_at.desc(), Merge.id.desc())
        )
    )


# ---------------------------------------------------------------- suggestions


def suggestions(
    session: Session, profile_id: str | None = None, status: str | None = "open"
) -> list[MergeSuggestion]:
    """Open suggestions (of one profile, when given), those still between two profiles."""
    query = select(MergeSuggestion).order_by(MergeSuggestion.created_at.desc())
    if status:
        query = query.where(MergeSuggestion.status == status)
    if profile_id:
        rows = rows_of(session, profile_id)
        query = query.where(
            or_(MergeSuggestion.customer_id.in_(rows), MergeSuggestion.other_id.in_(rows))
        )
    found = list(session.scalars(query.limit(500)))
    if status != "open":
        return found
    profiles = _profiles_of(session, {s.customer_id for s in found} | {s.other_id for s in found})
    return [s for s in found if profiles.get(s.customer_id) != profiles.get(s.other_id)]


def _profiles_of(session: Session, ids: set[str]) -> dict[str, str]:
    if not ids:
        return {}
    rows = session.execute(select(Customer.id, Customer.profile_id).where(Customer.id.in_(ids)))
    return {row_id: profile_id for row_id, profile_id in rows}


def _open_suggestion(session: Session, suggestion_id: str) -> MergeSuggestion:
    suggestion = session.scalar(
        select(MergeSuggestion).where(MergeSuggestion.id == suggestion_id).with_for_update()
    )
    if suggestion is None:
        raise NotFound(f"No merge suggestion {suggestion_id}.")
    if suggestion.status != "open":
        raise Conflict(f"This suggestion was {suggestion.status} already.")
    return suggestion


def accept(session: Session, suggestion_id: str, actor: str) -> Merge:
    """The merchant agrees: the newer profile is merged into the older one."""
    suggestion = _open_suggestion(session, suggestion_id)
    older, newer = root_of(session, suggestion.other_id), root_of(session, suggestion.customer_id)
    if older.id == newer.id:
        raise Conflict("These are one profile already.")
    if (newer.created_at, newer.id) < (older.created_at, older.id):
        older, newer = newer, older
    record = merge(
        session,
        older.id,
        newer.id,
        rule="suggestion_accepted",
        reason=f"accepted by {actor}: {suggestion.reason}",
        actor=actor,
        evidence={"suggestion_id": suggestion.id, **(suggestion.evidence or {})},
    )
    suggestion.status, suggestion.decided_at, suggestion.decided_by = "accepted", utcnow(), actor
    suggestion.merge_id = record.id
    # The same evidence seen again on intakes of their own (a guest buying again): the
    # merchant's one answer is for all of them (those still a profile of their own).
    for row in (suggestion.evidence or {}).get("rows") or []:
        found = session.get(Customer, row)
        if found is not None and found.profile_id == row and row != older.id:
            merge(
                session,
                older.id,
                row,
                rule="suggestion_accepted",
                reason=f"accepted by {actor}: {suggestion.reason}",
                actor=actor,
                evidence={"suggestion_id": suggestion.id, **(suggestion.evidence or {})},
            )
    return record


def dismiss(session: Session, suggestion_id: str, actor: str) -> MergeSuggestion:
    """Not the same person: kept as dismissed, never suggested again."""
    suggestion = _open_suggestion(session, suggestion_id)
    suggestion.status, suggestion.decided_at, suggestion.decided_by = "dismissed", utcnow(), actor
    return suggestion
