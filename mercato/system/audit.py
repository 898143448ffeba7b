"""The audit log of personal data: who viewed, exported, changed or erased it, and when.
An entry names what was touched by its id, never by the data itself."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from mercato.auth.models import ApiToken
from mercato.db import Sessions, transaction, utcnow
from mercato.system.models import AuditEntry

ACTIONS = ("viewed", "exported", "changed", "erased", "requested")


def record(
    session: Session,
    actor: str,
    action: str,
    subject: str,
    detail: str | None = None,
    at: datetime | None = None,
) -> None:
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    session.add(
        AuditEntry(
            at=at or utcnow(),
            actor=actor[:200],
            action=action,
            subject=subject[:100],
            detail=detail[:500] if detail else None,
        )
    )


def actor_of(token: ApiToken) -> str:
    """How the log names an API token."""
    return f"token {token.name} ({token.id})"


def viewed(
    sessions: Sessions, viewer: ApiToken | str, subject: str, detail: str | None = None
) -> None:
    """A read of personal data, logged in its own short transaction (the read takes none):
    who (a token, or an actor's name), what (the id read, and which view), never the
    values shown."""
    actor = viewer if isinstance(viewer, str) else actor_of(viewer)
    with transaction(sessions.write) as session:
        record(session, actor, "viewed", subject, detail)


def dashboard_actor(token: ApiToken) -> str:
    """How the log names a dashboard session (by the token it was opened with)."""
    return f"dashboard {actor_of(token)}"


def entries(session: Session, subject: str | None = None, limit: int = 100) -> list[AuditEntry]:
    """The latest entries, about ``subject`` when given."""
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if subject:
        query = query.where(AuditEntry.subject == subject)
    return list(session.scalars(query))
