"""Opaque keyset cursors: the last id of a page, base64url-encoded."""

from __future__ import annotations

import base64
import re

from mercato.errors import FieldError, ValidationFailed

ID_PATTERN = re.compile(r"^[a-z]+_[0-9A-Z]{26}$")


def encode_cursor(last_id: str) -> str:
    return base64.urlsafe_b64encode(last_id.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    try:
        last_id = base64.b64decode(
            cursor + "=" * (-len(cursor) % 4), altchars=b"-_", validate=True
        ).decode()
    except (ValueError, UnicodeDecodeError):
        last_id = ""
    if not ID_PATTERN.match(last_id):
        raise ValidationFailed(
            "The cursor is not one this API gave out.",
            [FieldError(("query", "cursor"), "invalid cursor")],
        )
    return last_id
