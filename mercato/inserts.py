"""INSERT ... ON CONFLICT DO NOTHING, the one way on both databases: concurrent writers
of the same row agree on one, and neither fails."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def insert_or_ignore(session: Session, table: Any, key: Sequence[str] | None = None):
    """An INSERT into ``table`` (a model or a Table) that skips a row conflicting with
    one already there: on the unique ``key`` columns when given, else on any constraint.
    Chain ``.values()`` / ``.returning()`` as on any insert; with ``.returning(id)`` only
    the rows actually inserted come back."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    return dialect.insert(table).on_conflict_do_nothing(index_elements=list(key) if key else None)
