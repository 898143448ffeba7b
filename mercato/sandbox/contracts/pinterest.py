"""Pinterest's contract: its own OpenAPI description (``pinterest/openapi-v5.json``, see
the README beside it), applied with openapi-core to every request the simulator takes and
every response it gives, and by the tests to every request the adapter sends."""

from __future__ import annotations

import functools
import json
import warnings
from pathlib import Path

from openapi_core import Config, OpenAPI
from openapi_core.testing import MockRequest, MockResponse
from openapi_schema_validator import OAS30Validator

SPEC = Path(__file__).with_name("pinterest") / "openapi-v5.json"
HOST = "https://api.pinterest.com"


@functools.cache
def spec() -> dict:
    return json.loads(SPEC.read_text(encoding="utf-8"))


@functools.cache
def _openapi() -> OpenAPI:
    # The description itself is Pinterest's, published valid: it is not re-validated here.
    return OpenAPI.from_dict(spec(), config=Config(spec_validator_cls=None))


def _request(method: str, path: str, query, body) -> MockRequest:
    """``query``: a dict, or (key, value) pairs where a key repeats (an exploded array)."""
    pairs = query.items() if isinstance(query, dict) else (query or [])
    return MockRequest(
        HOST,
        method.lower(),
        path,
        args=[(k, str(v)) for k, v in pairs],
        data=json.dumps(body) if body is not None else None,
        content_type="application/json",
        headers={"Authorization": "Bearer pina_contract"},
    )


def _messages(exc: Exception) -> list[str]:
    """The validator's reasons, innermost first where it has them."""
    found = []
    cause = exc
    while cause is not None:
        for error in getattr(cause, "schema_errors", ()) or ():
            found.append(error.message)
        cause = cause.__cause__
    return found or [str(exc)]


def _schema_errors(name: str, value) -> list[str]:
    """``value`` against one component schema, every ``$ref`` resolved in the spec."""
    validator = OAS30Validator({"$ref": f"#/components/schemas/{name}", **spec()})
    return [error.message for error in validator.iter_errors(value)]


def request_errors(method: str, path: str, query=None, body=None) -> list[str]:
    """Why Pinterest would refuse this request (path, query and body), or []."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # OAuth scheme: not checked here
        try:
            _openapi().validate_request(_request(method, path, query, body))
        except Exception as exc:  # every validation failure of openapi-core
            return _messages(exc)
    if path == "/v5/catalogs/items/batch" and isinstance(body, dict) and "catalog_type" in body:
        # catalog_type is the per-vertical request's discriminator: such a body is that
        # request, not the legacy one with a stray key [I] (docs/platforms/pinterest.md).
        return _schema_errors("CatalogsVerticalBatchRequest", body)
    return []


def response_errors(
    method: str, path: str, status: int, body, query=None, request_body=None
) -> list[str]:
    """Why this response breaks the contract of its operation, or []."""
    response = MockResponse(
        json.dumps(body).encode(), status_code=status, content_type="application/json"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        try:
            _openapi().validate_response(_request(method, path, query, request_body), response)
        except Exception as exc:
            return _messages(exc)
    return []


def enum(name: str) -> list[str]:
    return spec()["components"]["schemas"][name]["enum"]
