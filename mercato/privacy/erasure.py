"""Erasure: every row found about a person deleted, or kept with its personal data
cleared, pseudonymised or hashed and its payloads scrubbed, as the registry says. One
transaction (the caller's); amounts, lines and stock are never written."""

from __future__ import annotations

import json
import re
import secrets
from typing import Any

from sqlalchemy import Table, and_, delete, update
from sqlalchemy.orm import Session

from mercato import crypto
from mercato.models import metadata
from mercato.personal import PersonalTable
from mercato.privacy.finding import Found
from mercato.privacy.registry import PERSONAL

ERASED = "[erased]"
# What a cleared address keeps: where it was (taxes follow the country), not who.
ADDRESS_KEPT = ("country", "country_code", "province_code")
HASH_CONTEXT = b"privacy-subject"


def erase(session: Session, found: Found) -> dict[str, int]:
    """Rows changed per table. Tables whose rows are kept go first (they may point at
    rows deleted after them), deletions then run from dependants to what they depend on."""
    scrub = Scrubber(found.values())
    pseudonym = f"erased-{secrets.token_hex(8)}"
    done: dict[str, int] = {}
    order = [t.name for t in metadata.sorted_tables if t.name in found.rows]
    for name in order:
        declaration, rows = PERSONAL[name], found.rows[name]
        if declaration.erase == "pseudonymise" and rows:
            table = metadata.tables[name]
            for key, row in rows.items():
                values = _pseudonymised(declaration, table, row, scrub, pseudonym)
                if values:
                    session.execute(update(table).where(_is(table, key)).values(values))
            done[name] = len(rows)
    for name in reversed(order):
        declaration, rows = PERSONAL[name], found.rows[name]
        if declaration.erase == "delete" and rows:
            table = metadata.tables[name]
            for key in rows:
                session.execute(delete(table).where(_is(table, key)))
            done[name] = len(rows)
    return dict(sorted(done.items()))


def hashed(value: Any) -> Any:
    """A keyed hash of every string in ``value``: the same person gives the same hashes."""
    if isinstance(value, str):
        return "sha256:" + crypto.sign(HASH_CONTEXT, value.strip().lower())
    if isinstance(value, dict):
        return {k: hashed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [hashed(v) for v in value]
    return value


def _pseudonymised(
    declaration: PersonalTable, table: Table, row: dict, scrub: Scrubber, pseudonym: str
) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, treatment in declaration.personal.items():
        value = row[name]
        if value is None:
            continue
        if treatment == "hash":
            values[name] = hashed(value)
        elif treatment == "pseudonym":
            values[name] = pseudonym
        elif isinstance(value, dict):
            kept = {k: value[k] for k in ADDRESS_KEPT if k in value}
            values[name] = kept or (None if table.c[name].nullable else {})
        else:
            values[name] = None if table.c[name].nullable else ERASED
    for name in declaration.payloads:
        if name not in values and row[name] is not None:
            scrubbed = scrub(row[name])
            if scrubbed != row[name]:
                values[name] = scrubbed
    return values


def _is(table: Table, key: tuple):
    return and_(*(column == value for column, value in zip(table.primary_key, key, strict=True)))


class Scrubber:
    """Replaces every known personal value inside text, JSON or bytes by ``[erased]``."""

    def __init__(self, values: list[str]):
        self.pattern = (
            re.compile("|".join(map(re.escape, values)), re.IGNORECASE) if values else None
        )

    def __call__(self, value: Any) -> Any:
        if self.pattern is None:
            return value
        if isinstance(value, str):
            return self.pattern.sub(ERASED, value)
        if isinstance(value, dict):
            return {k: self(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self(v) for v in value]
        if isinstance(value, bytes):
            return self._bytes(value)
        return value

    def _bytes(self, raw: bytes) -> bytes:
        try:  # JSON escapes (\u00e9) hide values from a search of the bytes: parse it
            return json.dumps(self(json.loads(raw)), ensure_ascii=False).encode()
        except ValueError:
            return self(raw.decode("utf-8", "replace")).encode()
