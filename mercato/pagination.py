"""Keyset pagination, the one way every list is paged: a page of rows after an opaque
cursor (the last row's key, base64url-encoded), never an offset.

``keyset_page`` runs the query; ``Page`` is what it returns; ``ids`` and ``seqs`` are
the two cursor shapes (a prefixed id, an event's sequence number)."""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Select
from sqlalchemy.orm import InstrumentedAttribute, Session

from mercato.errors import FieldError, ValidationFailed

T = TypeVar("T")
ID_PATTERN = re.compile(r"^[a-z]+_[0-9A-Z]{26}$")
MAX_PAGE_SIZE = 250


@dataclass
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None = None


@dataclass(frozen=True)
class Cursor:
    """How a page's last key becomes a cursor and back; ``decode`` raises
    ``ValidationFailed`` for a cursor this API did not give out."""

    encode: Callable[[Any], str]
    decode: Callable[[str], Any]


def _invalid() -> ValidationFailed:
    return ValidationFailed(
        "The cursor is not one this API gave out.",
        [FieldError(("query", "cursor"), "invalid cursor")],
    )


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _unb64(cursor: str) -> str:
    try:
        return base64.b64decode(
            cursor + "=" * (-len(cursor) % 4), altchars=b"-_", validate=True
        ).decode()
    except (ValueError, UnicodeDecodeError):
        return ""


def encode_cursor(last_id: str) -> str:
    return _b64(last_id)


def decode_cursor(cursor: str) -> str:
    last_id = _unb64(cursor)
    if not ID_PATTERN.match(last_id):
        raise _invalid()
    return last_id


def _encode_seq(seq: int) -> str:
    return _b64(f"seq:{seq}")


def _decode_seq(cursor: str) -> int:
    kind, _, value = _unb64(cursor).partition(":")
    if kind == "seq" and value.isdigit():
        return int(value)
    raise _invalid()


ids = Cursor(encode_cursor, decode_cursor)
seqs = Cursor(_encode_seq, _decode_seq)


def keyset_page(
    session: Session,
    query: Select,
    key: InstrumentedAttribute,
    cursor: str | None,
    limit: int,
    *,
    newest_first: bool = False,
    most: int = MAX_PAGE_SIZE,
    shape: Cursor = ids,
) -> Page:
    """One page of ``query``'s rows ordered by ``key`` (a unique column), after the row
    ``cursor`` points at; ``limit`` is kept within 1..``most``."""
    limit = max(1, min(limit, most))
    if cursor:
        last = shape.decode(cursor)
        query = query.where(key < last if newest_first else key > last)
    query = query.order_by(key.desc() if newest_first else key).limit(limit + 1)
    rows = list(session.scalars(query))
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(rows, shape.encode(getattr(rows[-1], key.key)) if more and rows else None)
