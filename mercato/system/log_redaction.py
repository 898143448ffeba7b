"""Access logs without secrets: a request line names the path, and some paths and query
parameters are keys (a checkout's token, a sign-in link, an OAuth code or signature).

Uvicorn's access log prints the request target as received; the filter installed here
rewrites it before any handler sees it. Request headers (Authorization) are never logged.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import parse_qsl, urlencode

REDACTED = "[redacted]"
# Path segments that are bearer keys: /shop/login/<token>, /shop/checkout/<token>/...,
# /api/v1/checkouts/<token>.
_SECRET_SEGMENT = re.compile(r"(/(?:login|checkout|checkouts)/)[^/?#]+")
_SECRET_PARAMETER = re.compile(r"token|secret|sign|key|code|password|auth", re.IGNORECASE)


def redact_target(target: str) -> str:
    path, sep, query = target.partition("?")
    path = _SECRET_SEGMENT.sub(rf"\1{REDACTED}", path)
    if not sep:
        return path
    pairs = [
        (name, REDACTED if _SECRET_PARAMETER.search(name) else value)
        for name, value in parse_qsl(query, keep_blank_values=True)
    ]
    return f"{path}?{urlencode(pairs, safe='[]')}"


class RedactingFilter(logging.Filter):
    """For uvicorn's access records: (client, method, target, http version, status)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) == 5 and isinstance(args[2], str):
            record.args = (args[0], args[1], redact_target(args[2]), args[3], args[4])
        return True


def install() -> None:
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, RedactingFilter) for f in access.filters):
        access.addFilter(RedactingFilter())
