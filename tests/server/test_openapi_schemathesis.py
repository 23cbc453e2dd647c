"""Schemathesis against the in-process app: no 5xx, and no answer that contradicts the OpenAPI document.

Every operation gets a bounded number of generated requests (valid and invalid), each checked with
all of Schemathesis's checks.
"""

from __future__ import annotations

import time

import schemathesis
from hypothesis import HealthCheck, given, settings

EXAMPLES_PER_OPERATION = 10
BUDGET_S = 60

# An uploaded pipeline YAML is a string to the schema, so schema-valid text that is no valid pipeline is a 400
# (invalid spec) there; every other check still applies to it.
SEMANTIC_BODIES = {"POST /api/v1/runs"}


def test_every_operation_answers_as_documented(platform):
    from shipyard.server.app import create_app

    from schemathesis.specs.openapi.checks import positive_data_acceptance

    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(platform["settings"], require_auth=False))
    started, failures, operations = time.monotonic(), [], 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def check(case):
            excluded = [positive_data_acceptance] if operation.label in SEMANTIC_BODIES else None
            case.call_and_validate(excluded_checks=excluded)

        try:
            check()
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # every operation is checked; all failures are reported together
            failures.append(f"{operation.label}: {exc}")
    assert operations >= 25
    assert not failures, "\n\n".join(failures)
    assert time.monotonic() - started < BUDGET_S
