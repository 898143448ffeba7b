"""Text no database can store is refused at the door, for every route at once.

PostgreSQL refuses a NUL character in any text value, and no database can store a lone
UTF-16 surrogate ("\\ud800" in JSON). Either would otherwise reach a query and fail there
with a server error. The path, the query string and JSON or form bodies are checked;
anything else (a CSV upload) is its reader's business.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import suppress
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Receive, Scope, Send

from mercato.errors import FieldError
from mercato.problems import problem
from mercato.system.request_body import read_body, replaying

# An escaped NUL or surrogate may be in JSON text: only then is the body parsed here.
_JSON_SUSPECT = re.compile(rb"\\u(?:0000|[dD][89a-fA-F])")
_BODY_METHODS = {"POST", "PUT", "PATCH"}


def invalid_character(text: str) -> str | None:
    """Why ``text`` cannot be stored, or None."""
    if "\x00" in text:
        return "contains a NUL character"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "contains an unpaired surrogate, which is not a character"
    return None


def _json_errors(value: object, loc: tuple) -> Iterator[FieldError]:
    if isinstance(value, str):
        if why := invalid_character(value):
            yield FieldError(loc, why, "invalid_character")
    elif isinstance(value, dict):
        for key, item in value.items():
            if why := invalid_character(key):
                yield FieldError((*loc, key.encode("utf-8", "replace").decode()), why)
            yield from _json_errors(item, (*loc, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _json_errors(item, (*loc, index))


def _pairs_errors(pairs: list[tuple[str, str]], where: str) -> list[FieldError]:
    return [
        FieldError((where, name), why, "invalid_character")
        for name, value in pairs
        if (why := invalid_character(name + value))
    ]


def request_errors(scope: Scope, content_type: bytes, body: bytes) -> list[FieldError]:
    errors: list[FieldError] = []
    if why := invalid_character(scope["path"]):
        errors.append(FieldError(("path",), why, "invalid_character"))
    query = scope.get("query_string", b"")
    if b"%00" in query or b"\x00" in query:
        errors += _pairs_errors(parse_qsl(query.decode("latin-1"), keep_blank_values=True), "query")
    if content_type.startswith(b"application/x-www-form-urlencoded"):
        if b"%00" in body or b"\x00" in body:
            text = body.decode("utf-8", "replace")
            errors += _pairs_errors(parse_qsl(text, keep_blank_values=True), "body")
    elif b"json" in content_type and _JSON_SUSPECT.search(body):
        # Not JSON at all: the route's own parsing answers that.
        with suppress(ValueError, RecursionError):
            errors += _json_errors(json.loads(body), ("body",))
    return errors


class TextInputMiddleware:
    """Answers 422 to a request carrying text that cannot be stored (see above)."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        content_type = b""
        body = b""
        if scope["method"] in _BODY_METHODS:
            content_type = dict(scope.get("headers") or []).get(b"content-type", b"").lower()
            if content_type.startswith(b"application/x-www-form-urlencoded") or (
                b"json" in content_type
            ):
                body = await read_body(receive)
                receive = replaying(body)
        errors = request_errors(scope, content_type, body)
        if errors:
            await problem(
                422,
                "validation-error",
                "Validation failed",
                f"The request has {len(errors)} invalid field(s).",
                scope["path"].replace("\x00", ""),
                errors,
            )(scope, receive, send)
            return
        await self.app(scope, receive, send)
