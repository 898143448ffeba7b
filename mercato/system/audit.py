"""The audit log of personal data: who viewed, exported, changed or erased it, and when.
An entry names what was touched by its id, never by the data itself."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from mercato.db import utcnow
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
