"""INSERT ... ON CONFLICT DO NOTHING, the one way on both databases: concurrent writers
of the same row agree on one, and neither fails."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import Table, bindparam, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def insert_or_ignore(session: Session, table: Any, key: Sequence[str] | None = None):
    """An INSERT into ``table`` (a model or a Table) that skips a row conflicting with
    one already there: on the unique ``key`` columns when given, else on any constraint.
    Chain ``.values()`` / ``.returning()`` as on any insert; with ``.returning(id)`` only
    the rows actually inserted come back."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    return dialect.insert(table).on_conflict_do_nothing(index_elements=list(key) if key else None)


def insert_or_ignore_many(
    session: Session,
    table: Any,
    key: Sequence[str],
    rows: Sequence[Mapping[str, Any]],
    returning: str = "id",
) -> list[Any]:
    """``insert_or_ignore`` of many rows (all with the same keys): the ``returning``
    column of those actually inserted.

    On PostgreSQL, one statement whatever the number of rows: each column is sent as one
    array and unnested, so the statement is built, compiled and parsed once per shape. A
    VALUES list with the rows in it is compiled again for every batch, and psycopg parses
    any statement of more than 50 parameters again each time: that was 10 % of a webhook
    worker's CPU storing its batch's buyer identities (bench/webhooks.py, PostgreSQL, 2
    workers). SQLite: a multi-row VALUES per 500 rows."""
    if not rows:
        return []
    table = getattr(table, "__table__", table)
    keys = tuple(rows[0])
    if session.get_bind().dialect.name != "postgresql":
        found: list[Any] = []
        for start in range(0, len(rows), 500):
            statement = insert_or_ignore(session, table, key).values(rows[start : start + 500])
            found += session.scalars(statement.returning(table.c[returning])).all()
        return found
    statement = _unnested(table, keys, tuple(key), returning)
    return session.scalars(statement, {k: [row[k] for row in rows] for k in keys}).all()


@lru_cache(maxsize=64)
def _unnested(table: Table, keys: tuple[str, ...], key: tuple[str, ...], returning: str):
    arrays = [bindparam(k, type_=postgresql.ARRAY(table.c[k].type)) for k in keys]
    unnested = func.unnest(*arrays).table_valued(*keys).render_derived()
    return (
        postgresql.insert(table)
        .from_select(list(keys), select(*[unnested.c[k] for k in keys]))
        .on_conflict_do_nothing(index_elements=list(key))
        .returning(table.c[returning])
    )
