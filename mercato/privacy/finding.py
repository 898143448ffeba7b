"""Every row Mercato holds about a person, found through the registry: identifiers lead to
rows, whose identifiers lead to further rows, until nothing new turns up."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Column, LargeBinary, String, Table, cast, func, or_, select
from sqlalchemy.orm import Session

from mercato.crypto import Encrypted, pii_hash
from mercato.models import metadata
from mercato.personal import KINDS, STRONG_KINDS, PersonalTable
from mercato.privacy.registry import PERSONAL

# Values shorter than this (a country code) are not looked for inside payloads.
MIN_VALUE = 3


@dataclass
class Found:
    """The person's identifiers by kind, and their rows by table (keyed by primary key)."""

    keys: dict[str, set[str]] = field(default_factory=lambda: {kind: set() for kind in KINDS})
    rows: dict[str, dict[tuple, dict[str, Any]]] = field(default_factory=dict)

    def count(self) -> dict[str, int]:
        return {table: len(rows) for table, rows in sorted(self.rows.items()) if rows}

    def values(self) -> list[str]:
        """Every personal value known about the person, longest first: what scrubbing a
        payload removes."""
        found = {
            v for kind in ("email", "phone", "platform_user", "visitor") for v in self.keys[kind]
        }
        found |= {digits for phone in self.keys["phone"] if (digits := _digits(phone))}
        for table, rows in self.rows.items():
            personal = PERSONAL[table].personal
            for row in rows.values():
                for column in personal:
                    found.update(_strings(row[column]))
        return sorted((v for v in found if len(v) >= MIN_VALUE), key=lambda v: (-len(v), v))


def normalise(kind: str, value: str) -> str:
    value = value.strip()
    return value.lower() if kind == "email" else value


def find(session: Session, identifiers: dict[str, Iterable[str]]) -> Found:
    found = Found()
    for kind, values in identifiers.items():
        found.keys[kind] |= {normalise(kind, v) for v in values if v and v.strip()}
    while True:
        before = sum(map(len, found.keys.values()))
        for declaration in PERSONAL.values():
            _find_in(session, declaration, found)
        if sum(map(len, found.keys.values())) == before:
            return found


def _find_in(session: Session, declaration: PersonalTable, found: Found) -> None:
    table = metadata.tables[declaration.table]
    conditions = []
    for name, kinds in declaration.find.items():
        kinds = (kinds,) if isinstance(kinds, str) else kinds
        values = set().union(*(found.keys[k] for k in kinds))
        if values:
            column = table.c[name]
            if isinstance(column.type, Encrypted):  # found by its keyed hash
                emails = kinds == ("email",)
                hashed = {pii_hash(v.strip().lower() if emails else v) for v in values}
                conditions.append(table.c[f"{name}_hash"].in_(sorted(hashed)))
                continue
            compared = func.lower(column) if kinds == ("email",) else column
            conditions.append(compared.in_(sorted(values)))
    terms = _search_terms(found)
    for name in declaration.search:
        text = _as_text(session, table.c[name])
        conditions += [text.icontains(term, autoescape=True) for term in terms]
    if not conditions:
        return
    rows = found.rows.setdefault(declaration.table, {})
    for row in session.execute(select(table).where(or_(*conditions))).mappings():
        rows[_key(table, row)] = dict(row)
        for name, kind in declaration.find.items():
            if isinstance(kind, str) and row[name] is not None:
                found.keys[kind].add(normalise(kind, str(row[name])))


def _search_terms(found: Found) -> list[str]:
    terms = {v for kind in STRONG_KINDS for v in found.keys[kind]}
    terms |= {digits for phone in found.keys["phone"] if (digits := _digits(phone))}
    return sorted(t for t in terms if len(t) >= MIN_VALUE)


def _as_text(session: Session, column: Column):
    """A JSON or bytes column as text that ``LIKE`` can search."""
    if session.get_bind().dialect.name == "postgresql" and isinstance(column.type, LargeBinary):
        return func.encode(column, "escape")
    return cast(column, String)


def _key(table: Table, row) -> tuple:
    return tuple(row[c.name] for c in table.primary_key)


def _digits(phone: str) -> str:
    return re.sub(r"\D", "", phone)


def _strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
