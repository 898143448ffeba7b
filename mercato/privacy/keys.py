"""Master key rotation for personal data at rest: every encrypted value not under the
current master key is decrypted (with the key it names) and encrypted again under the
current one, in batches, each batch its own transaction. Until it has run, values under
an older key still read as long as that key is configured."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import Column, Table, column, select, table, update
from sqlalchemy.orm import Session

from mercato.crypto import PII_PREFIX, Encrypted, current_key_id, decrypt_pii, encrypt_pii
from mercato.db import transaction
from mercato.models import metadata

BATCH = 500


@dataclass(frozen=True)
class EncryptedColumn:
    table: str
    column: str
    key: str  # the primary key column


def encrypted_columns() -> list[EncryptedColumn]:
    """Every column of every table kept encrypted, found by its type."""
    found = []
    for name, t in sorted(metadata.tables.items()):
        columns = [c for c in t.columns if _is_encrypted(c)]
        if columns:
            (key,) = t.primary_key.columns  # one id column, in order
            found += [EncryptedColumn(name, c.name, key.name) for c in columns]
    return found


def _is_encrypted(c: Column) -> bool:
    return isinstance(c.type, Encrypted)


def _raw(target: EncryptedColumn) -> Table:
    """The table with the column untyped: its stored text, not decrypted."""
    return table(target.table, column(target.key), column(target.column))


def stale(session: Session, target: EncryptedColumn, after: str | None = None):
    """Rows whose value is not under the current key (or not encrypted at all)."""
    raw = _raw(target)
    value, key = raw.c[target.column], raw.c[target.key]
    current = f"{PII_PREFIX}{current_key_id()}:%"
    query = (
        select(key, value)
        .where(value.is_not(None), ~value.like(current))
        .order_by(key)
        .limit(BATCH)
    )
    if after is not None:
        query = query.where(key > after)
    return session.execute(query).all()


def rotate(sessions, only: str | None = None) -> Iterator[tuple[EncryptedColumn, int]]:
    """Re-encrypt under the current key; yields each column with how many values moved."""
    for target in encrypted_columns():
        if only and target.table != only:
            continue
        moved, after = 0, None
        while True:
            with transaction(sessions) as session:
                rows = stale(session, target, after)
                raw = _raw(target)
                for key, stored in rows:
                    session.execute(
                        update(raw)
                        .where(raw.c[target.key] == key)
                        .values({target.column: encrypt_pii(decrypt_pii(stored))})
                    )
            if not rows:
                break
            moved += len(rows)
            after = rows[-1][0]
        yield target, moved


def counts_by_key(session: Session) -> dict[str, dict[str, int]]:
    """For each encrypted column, how many values are under each master key id
    ("plain" for values stored before encryption)."""
    found: dict[str, dict[str, int]] = {}
    for target in encrypted_columns():
        raw = _raw(target)
        by: dict[str, int] = {}
        for (stored,) in session.execute(
            select(raw.c[target.column]).where(raw.c[target.column].is_not(None))
        ):
            kid = (
                stored[len(PII_PREFIX) :].split(":", 1)[0]
                if stored.startswith(PII_PREFIX)
                else "plain"
            )
            by[kid] = by.get(kid, 0) + 1
        found[f"{target.table}.{target.column}"] = by
    return found
