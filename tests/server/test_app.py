"""The app itself: health, problem documents for every kind of error, the OpenAPI document."""

from __future__ import annotations

from server.conftest import assert_problem


def test_health_answers_without_touching_a_store(client):
    body = client.get("/api/v1/health").json()
    assert body["status"] == "ok" and body["api"] == "v1"


def test_unknown_route_wrong_method_and_invalid_body_are_problems(client):
    assert_problem(client.get("/api/v1/nothing/here"), 404, title="not found", detail="/api/v1/nothing/here")
    response = client.delete("/api/v1/health")
    assert_problem(response, 405, title="method not allowed")
    assert "GET" in response.headers["allow"]
    body = assert_problem(client.post("/api/v1/deployments/churny", content=b"{not json",
                                      headers={"content-type": "application/json"}), 422, title="invalid request")
    assert body["errors"] and body["hint"]


def test_error_kinds_map_to_statuses():
    from shipyard import errors
    from shipyard.server.problems import status_for

    assert status_for(errors.NotFoundError("x")) == 404
    assert status_for(errors.GateFailedError("x")) == 409
    assert status_for(errors.RefusedError("x")) == 409
    assert status_for(errors.SpecError("x")) == 400
    assert status_for(errors.NotEnoughDataError("x")) == 422
    assert status_for(errors.BackendError("x")) == 503
    assert status_for(errors.InternalError("x")) == 500


def test_openapi_declares_every_route_and_problem_answers(client):
    document = client.get("/openapi.json").json()
    assert document["components"]["schemas"]["Problem"]["required"] == ["type", "title", "status", "detail"]
    for path, operations in document["paths"].items():
        assert path.startswith("/api/v1/"), path
        for method, operation in operations.items():
            assert "200" in operation["responses"] or "201" in operation["responses"] \
                or "202" in operation["responses"], (method, path)
            if path != "/api/v1/health":
                assert "problem" in str(operation["responses"]), (method, path)

