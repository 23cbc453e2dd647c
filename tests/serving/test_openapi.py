"""The gateway's OpenAPI document is complete enough for schema-driven clients and fuzzers."""

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import CHECKS, load_all_checks

from shipyard.serving.app import create_app

from .test_loaded import version

POSTS = ("/v2/models/{model}/infer", "/v2/models/{model}/versions/{version}/infer", "/models/{model}/invocations")


@pytest.fixture(scope="module")
def app():
    return create_app([version(impute_x1=True)])


def test_every_route_declares_its_body_responses_and_statuses(app):
    document = app.openapi()
    for path in POSTS:
        operation = document["paths"][path]["post"]
        body = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
        assert body in document["components"]["schemas"]
        assert set(operation["responses"]) == {"200", "400", "404", "413", "422", "500"}
        for status, response in operation["responses"].items():
            assert "$ref" in response["content"]["application/json"]["schema"], (path, status)
    for path, operations in document["paths"].items():
        for operation in operations.values():
            assert "HTTPValidationError" not in str(operation), path
            assert "content" in operation["responses"]["200"], path


load_all_checks()
schema = schemathesis.openapi.from_asgi("/openapi.json", create_app([version(impute_x1=True)]))


@schema.parametrize()
@settings(max_examples=40, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
def test_schemathesis_finds_no_server_error_and_no_answer_off_the_schema(case):
    case.call_and_validate(checks=CHECKS.get_all())
