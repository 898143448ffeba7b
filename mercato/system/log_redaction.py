"""Logs without secrets or personal data.

A request line names the path, and some paths and query parameters are keys (a checkout's
token, a sign-in link, an OAuth code or signature): uvicorn's access log prints the
request target as received; the filter installed here rewrites it before any handler sees
it. Request headers (Authorization) are never logged.

Any record's message and traceback (a platform's error, a failed job's exception) may
quote a buyer: email addresses and phone numbers in them are replaced before any handler
formats them. SQL errors carry no parameters (``db.create_db_engine``).
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


_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# E.164 numbers, and bare international numbers (WhatsApp ids): 10 to 15 digits.
_PHONE = re.compile(r"\+\d{7,15}\b|(?<![\w.-])\d{10,15}(?![\w.-])")
PERSONAL = "[personal]"


def redact_personal(text: str) -> str:
    if "@" in text:  # the email pattern costs 6 us on a line with none (every access line)
        text = _EMAIL.sub(PERSONAL, text)
    return _PHONE.sub(PERSONAL, text)


class PersonalDataRecord(logging.LogRecord):
    """A log record whose message and traceback name no email address or phone number."""

    def getMessage(self) -> str:
        return redact_personal(super().getMessage())

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.exc_info and not self.exc_text:
            self.exc_text = redact_personal(logging.Formatter().formatException(self.exc_info))


def install() -> None:
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, RedactingFilter) for f in access.filters):
        access.addFilter(RedactingFilter())
    if logging.getLogRecordFactory() is logging.LogRecord:
        logging.setLogRecordFactory(PersonalDataRecord)
