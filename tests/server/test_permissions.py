"""``/api/v1/models/{model}/permissions``: the caller's allowed operations on a model, with the policy's reasons."""

from __future__ import annotations

from seeded_models import seed_model

from shipyard.governance.policy import OPERATIONS, RANK
from shipyard.server.routes.permissions import MODEL_OPERATIONS

from .conftest import assert_problem


def test_each_role_sees_what_its_role_allows_and_why_not(governed):
    http, headers = governed
    seed_model("fraud-score", "fraud", {"1": "production"})
    roles = {"root": None, "ada": "admin", "dev": "developer"}
    for name, role in roles.items():
        answer = http.get("/api/v1/models/fraud-score/permissions", headers=headers[name])
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["model"] == "fraud-score" and body["team"] == "fraud" and body["identity"] == name
        assert set(body["operations"]) == set(MODEL_OPERATIONS)
        for operation, verdict in body["operations"].items():
            expected = role is None or RANK[role] >= RANK[OPERATIONS[operation]]
            assert verdict["allowed"] is expected, (name, operation)
            assert (verdict["reason"] is None) is expected
    refused = http.get("/api/v1/models/fraud-score/permissions", headers=headers["dev"]).json()["operations"]
    assert refused["deploy.production"]["reason"] == (
        "dev may not deploy.production for team fraud: it is developer in team fraud, and deploy.production needs "
        "approver or above; ask an admin of team fraud for the approver role")


def test_an_unknown_model_or_a_reader_of_nothing_is_refused(governed):
    http, headers = governed
    seed_model("fraud-score", "fraud", {"1": "production"})
    assert_problem(http.get("/api/v1/models/fraud-scor/permissions", headers=headers["root"]), 404,
                   detail="did you mean fraud-score")
    assert_problem(http.get("/api/v1/models/fraud-score/permissions", headers=headers["nomad"]), 403)
    assert_problem(http.get("/api/v1/models/fraud-score/permissions"), 401)
