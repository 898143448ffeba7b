"""RFC 9457 problem documents: how every API error is written."""

from __future__ import annotations

from fastapi.responses import JSONResponse

from mercato.errors import FieldError

PROBLEM_JSON = "application/problem+json"


def problem(
    status: int,
    slug: str,
    title: str,
    detail: str,
    instance: str | None = None,
    errors: list[FieldError] | None = None,
    **extra,
) -> JSONResponse:
    """A problem+json response; ``type`` is the stable ``/problems/<slug>``."""
    body = {"type": f"/problems/{slug}", "title": title, "status": status, "detail": detail}
    if instance:
        body["instance"] = instance
    if errors is not None:
        body["errors"] = [e.to_dict() for e in errors]
    body.update(extra)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)
