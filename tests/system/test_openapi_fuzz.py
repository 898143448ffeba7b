"""Fuzzing against the API's own OpenAPI document (schemathesis), bounded to a few cases
per operation: no server error, every status code documented, every response in its
documented shape. Runs on SQLite and on PostgreSQL like every test."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import (
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]
EXAMPLES_PER_OPERATION = 4


def test_every_operation_answers_as_documented(app, admin):
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 50

    for operation in operations:

        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            database=None,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(operation.as_strategy())
        def check(case):
            case.call_and_validate(headers=admin, checks=CHECKS)

        try:
            check()
        except Exception as exc:  # one line per operation, all reported at once
            failures.append(f"{operation.label}: {type(exc).__name__}: {str(exc)[:500]}")
    assert failures == []
