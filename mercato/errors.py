"""Errors that services raise; the API renders them as RFC 9457 problems.

Each error carries a stable ``slug`` (the problem ``type`` is ``/problems/<slug>``),
the HTTP status it maps to and, for validation, the list of field errors.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class FieldError:
    """One thing wrong with one field. ``loc`` is the path to it, e.g. ("variants", 2, "sku")."""

    loc: tuple[str | int, ...]
    message: str
    code: str = "invalid"

    def to_dict(self) -> dict[str, Any]:
        return {
            "loc": list(self.loc),
            "field": dotted(self.loc),
            "message": self.message,
            "code": self.code,
        }


def dotted(loc: tuple[str | int, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


@dataclass
class MercatoError(Exception):
    detail: str
    errors: list[FieldError] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    slug = "error"
    title = "Error"
    status = 400

    def __str__(self) -> str:
        if not self.errors:
            return self.detail
        lines = [self.detail] + [f"  {dotted(e.loc)}: {e.message}" for e in self.errors]
        return "\n".join(lines)


class ValidationFailed(MercatoError):
    slug = "validation-error"
    title = "Validation failed"
    status = 422


class NotFound(MercatoError):
    slug = "not-found"
    title = "Not found"
    status = 404


class Conflict(MercatoError):
    slug = "conflict"
    title = "Conflict"
    status = 409


class Unauthorized(MercatoError):
    slug = "unauthorized"
    title = "Authentication required"
    status = 401


class RateLimited(MercatoError):
    slug = "too-many-requests"
    title = "Too many requests"
    status = 429


class Forbidden(MercatoError):
    slug = "forbidden"
    title = "Forbidden"
    status = 403


# ---------------------------------------------------------------- platforms' webhooks


class PlatformRefused(MercatoError):
    """A platform refused what was asked of it, or could not be reached (its words in the
    detail): nothing was changed here."""

    slug = "platform-refused"
    title = "The platform refused"
    status = 502


class BadSignature(Unauthorized):
    slug = "bad-signature"
    title = "Signature missing or invalid"


class MalformedPayload(MercatoError):
    slug = "malformed-payload"
    title = "Malformed payload"
    status = 400


class PayloadTooLarge(MercatoError):
    slug = "payload-too-large"
    title = "Payload too large"
    status = 413

    @classmethod
    def check(cls, length: int, most: int) -> None:
        if length > most:
            raise cls(f"The body is {length} bytes; at most {most} are taken.")
