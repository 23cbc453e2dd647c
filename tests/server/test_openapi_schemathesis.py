"""Schemathesis against the in-process app, with and without authentication: no 5xx, and no answer that
contradicts the OpenAPI document.

Every operation gets a bounded number of generated requests (valid and invalid), each checked with
all of Schemathesis's checks.
"""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings

EXAMPLES_PER_OPERATION = 10

# An uploaded pipeline YAML is a string to the schema, so schema-valid text that is no valid pipeline is a 400
# (invalid spec) there; a rollout plan's canary steps must increase to 100 and its SLOs be judgeable within a
# step, which JSON Schema cannot say, so a schema-valid plan may be a 422. Every other check still applies.
SEMANTIC_BODIES = {"POST /api/v1/runs", "POST /api/v1/deployments/{model}"}


def test_every_operation_answers_as_documented(platform):
    from shipyard.server.app import create_app

    check_every_operation(create_app(platform["settings"], require_auth=False), headers=None)


def test_every_operation_answers_as_documented_with_a_platform_admins_token(platform):
    """With authentication on, Schemathesis also checks that a route refuses a request without the token."""
    from shipyard.governance.directory import bootstrap_admin
    from shipyard.governance.tokens import create_token
    from shipyard.server.app import create_app

    bootstrap_admin("schemathesis-admin", settings=platform["settings"])
    token = create_token("schemathesis", identity="schemathesis-admin", settings=platform["settings"]).secret
    check_every_operation(create_app(platform["settings"], require_auth=True),
                          headers={"Authorization": f"Bearer {token}"})


def check_every_operation(app, *, headers: dict[str, str] | None) -> None:
    from schemathesis.specs.openapi.checks import positive_data_acceptance

    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    failures, operations, statuses = [], 0, set()
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def check(case):
            excluded = [positive_data_acceptance] if operation.label in SEMANTIC_BODIES else None
            statuses.add(case.call_and_validate(headers=headers, excluded_checks=excluded).status_code)

        try:
            check()
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # every operation is checked; all failures are reported together
            failures.append(f"{operation.label}: {exc}")
    assert operations >= 25
    assert not failures, "\n\n".join(failures)
    assert 200 in statuses and 401 not in statuses, statuses
