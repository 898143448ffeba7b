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


# Errors any operation may answer, documented once for all of them in the OpenAPI
# document (``document_problems``): what clients and the fuzzing in CI hold the API to.
_COMMON = {
    "400": "The request cannot be read (e.g. an invalid Idempotency-Key)",
    "404": "Not found",
    "409": "Conflict with the current state (or a request with this Idempotency-Key running)",
    "422": "Validation failed: `errors` names each field",
    "429": "Too many requests",
}
_AUTHENTICATED = {"401": "No valid API token", "403": "The token lacks the scope"}
PROBLEM_SCHEMA = {
    "type": "object",
    "title": "Problem",
    "description": "RFC 9457 problem details",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["loc", "field", "message", "code"],
                "properties": {
                    "loc": {"type": "array"},
                    "field": {"type": "string"},
                    "message": {"type": "string"},
                    "code": {"type": "string"},
                },
            },
        },
    },
}


def document_problems(spec: dict) -> dict:
    """Add the problem answers to every operation of an OpenAPI document (in place)."""
    spec.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
    content = {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for path_item in spec.get("paths", {}).values():
        for operation in path_item.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            codes = dict(_COMMON)
            if operation.get("security"):
                codes.update(_AUTHENTICATED)
            for code, description in codes.items():
                # Ours replace FastAPI's default 422 (we answer problems, not its shape).
                operation["responses"][code] = {"description": description, "content": content}
    return spec
