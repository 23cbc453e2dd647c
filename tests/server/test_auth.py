"""The server with authentication on: bearer tokens from the governance plane, against a real store.

Refusals are arranged as in tests/governance/test_policy.py: every change is asked of a version that is
archived or of a model with nothing deployed, so that once the policy says yes the plane function refuses
for another reason and changes nothing. A 403 then means the policy said no, any other 4xx that it said yes.
"""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from oidc_issuer import AUDIENCE, ISSUER, new_key, serve_jwks, signed_jwt
from seeded_models import seed_model

from shipyard.config import load_settings
from shipyard.errors import ForbiddenError, ShipyardError
from shipyard.governance import directory, oidc
from shipyard.governance.audit import read_events
from shipyard.governance.identity import ROLES, acting_as
from shipyard.governance.policy import OPERATIONS, RANK, READ_OPERATIONS, allowed
from shipyard.governance.tokens import authenticate_bearer, create_token, revoke_token
from shipyard.pipeline import background
from shipyard.monitoring import runs as drift
from shipyard.registry import gating, lifecycle
from shipyard.server.app import create_app
from shipyard.serving import traffic

from .conftest import assert_problem

MODEL = {"fraud": "fraud-score", "risk": "risk-score"}
SPEC = ("name: {model}\nteam: {team}\ndata: {{source: {{type: csv, path: {data}}}, target: y}}\n"
        "split: {{method: random, holdout: 0.3, seed: 0}}\n"
        "features: [{{columns: [x], transforms: [{{kind: scale}}]}}]\nmodel: {{flavor: sklearn, estimator: Ridge}}\n")


def operations(model: str):
    """Each operation with an API route: (its in-process call, its HTTP request)."""
    versions = f"/api/v1/models/{model}/versions/1"
    deployments = f"/api/v1/deployments/{model}"
    return {
        "lifecycle.promote": (lambda: lifecycle.transition(model, 1, "staging", actor="x"),
                              ("POST", f"{versions}/promote", {"to": "staging"})),
        "lifecycle.reject": (lambda: lifecycle.transition(model, 1, "rejected", actor="x", reason="r"),
                             ("POST", f"{versions}/reject", {"reason": "r"})),
        "lifecycle.archive": (lambda: lifecycle.transition(model, 1, "archived", actor="x"),
                              ("POST", f"{versions}/archive", {})),
        "lifecycle.approve": (lambda: lifecycle.approve(model, 1, approver="x"), ("POST", f"{versions}/approve", {})),
        "lifecycle.approve (production)": (lambda: lifecycle.transition(model, 1, "production", actor="x"),
                                           ("POST", f"{versions}/promote", {"to": "production"})),
        "gates.evaluate": (lambda: gating.gate_version(model, 1), ("POST", f"{versions}/gates", None)),
        "drift.compute": (lambda: drift.compute_drift(model), ("POST", f"/api/v1/models/{model}/drift", {})),
        "rollback": (lambda: lifecycle.rollback(model, actor="x", reason="r"),
                     ("POST", f"/api/v1/models/{model}/rollback", {"reason": "r"})),
        "rollback (deployment)": (lambda: traffic.rollback(model, actor="x", reason="r"),
                                  ("POST", f"{deployments}/rollback", {"reason": "r"})),
        "deploy.canary": (lambda: traffic.deploy(model, 1, strategy="canary", actor="x"),
                          ("POST", deployments, {"version": "1", "strategy": "canary"})),
        "deploy.canary (shadow)": (lambda: traffic.deploy(model, 1, strategy="shadow", actor="x"),
                                   ("POST", deployments, {"version": "1", "strategy": "shadow"})),
        "deploy.production": (lambda: traffic.deploy(model, 1, actor="x"), ("POST", deployments, {"version": "1"})),
        "deploy.production (stable arm)": (lambda: traffic.set_traffic(model, {"stable": ("1", None)}, actor="x"),
                                           ("PUT", f"{deployments}/traffic", {"stable": "1"})),
        "traffic.set": (lambda: traffic.set_traffic(model, {"canary": ("1", 0.2)}, actor="x"),
                        ("PUT", f"{deployments}/traffic", {"canary": {"version": "1", "percent": 20}})),
        "models.read": (None, ("GET", f"/api/v1/models/{model}/versions", None)),
        "runs.read": (None, ("GET", "/api/v1/runs", None)),
        "audit.read": (None, ("GET", "/api/v1/audit", None)),
    }


def in_process(identity, call, operation: str) -> str:
    if call is None:  # reads are authorized by the server, the same table for every router
        return "allowed" if allowed(identity, operation, team=None) else "forbidden"
    with acting_as(identity):
        try:
            call()
        except ForbiddenError as exc:
            return f"forbidden: {exc.message}"
        except ShipyardError:
            return "allowed"
    raise AssertionError("the call was meant to be refused after authorization, and it succeeded")


def through_api(http, token: str, request, *, reads: bool) -> str:
    method, path, body = request
    response = http.request(method, path, json=body, headers={"Authorization": f"Bearer {token}"})
    if response.status_code == 403:
        problem = assert_problem(response, 403, title="forbidden")
        assert problem["hint"].startswith("ask "), problem
        return "forbidden" if reads else f"forbidden: {problem['detail']}"
    assert response.status_code < 500 and (reads or response.status_code >= 400), (path, response.text)
    return "allowed"


@pytest.fixture
def secured(shipyard_home):
    """Teams fraud and risk, each owning an archived version 1; a token per role in fraud, for a platform admin
    and for someone in no team; and the API requiring tokens."""
    directory.bootstrap_admin("root")
    tokens = {"root": create_token("laptop", identity="root").secret}
    with acting_as(authenticate_bearer(tokens["root"])):
        for team in ("fraud", "risk"):
            directory.create_team(team)
        for role in ROLES:
            directory.add_member("fraud", f"{role}-pat", role)
        directory.add_member("risk", "nomad", "viewer")
        directory.remove_member("risk", "nomad")
        for name in [f"{role}-pat" for role in ROLES] + ["nomad"]:
            tokens[name] = create_token("laptop", identity=name).secret
    for team, model in MODEL.items():
        seed_model(model, team, {"1": "archived"})
    with TestClient(create_app(load_settings(), require_auth=True), raise_server_exceptions=False) as http:
        yield http, tokens


def test_the_api_gives_the_policys_answers_for_each_role_on_its_own_team_and_another(secured):
    http, tokens = secured
    before = len(read_events())
    for name, token in tokens.items():
        identity = authenticate_bearer(token)
        for team, model in MODEL.items():
            for label, (call, request) in operations(model).items():
                operation = label.split(" (")[0]
                reads = operation in READ_OPERATIONS
                got = through_api(http, token, request, reads=reads)
                assert got == in_process(identity, call, operation), (name, team, label, got)
                role = identity.roles.get("fraud")
                if identity.platform_admin:
                    expected = True
                elif reads:
                    expected = role is not None
                else:
                    expected = team == "fraud" and role is not None and RANK[role] >= RANK[OPERATIONS[operation]]
                assert (got == "allowed") == expected, (name, team, label, got)
    assert len(read_events()) == before


def test_a_reader_in_one_team_reads_every_teams_models_and_a_member_of_none_reads_nothing(secured):
    http, tokens = secured
    viewer = {"Authorization": f"Bearer {tokens['viewer-pat']}"}
    versions = http.get("/api/v1/models/risk-score/versions", headers=viewer)
    assert versions.status_code == 200 and [v["version"] for v in versions.json()["items"]] == ["1"]
    refused = http.get("/api/v1/models/risk-score/versions", headers={"Authorization": f"Bearer {tokens['nomad']}"})
    body = assert_problem(refused, 403, title="forbidden")
    assert body["detail"] == ("nomad may not models.read: it has no role in any team, and reading needs viewer or "
                              "above in one")
    assert body["hint"] == "ask an admin of your team for the viewer role"


def test_starting_cancelling_or_resuming_a_run_through_the_api_needs_developer_in_the_specs_team(secured, tmp_path):
    http, tokens = secured
    data = tmp_path / "data.csv"
    data.write_text("x,y\n" + "".join(f"{i},{2 * i + i % 3}\n" for i in range(40)))
    spec = SPEC.format(model="fraud-score", team="fraud", data=data)
    for name, expected in (("viewer-pat", "it is viewer in team fraud"), ("nomad", "it has no role in team fraud")):
        refused = http.post("/api/v1/runs", json={"spec": spec}, headers={"Authorization": f"Bearer {tokens[name]}"})
        body = assert_problem(refused, 403, title="forbidden")
        assert body["detail"] == f"{name} may not runs.start for team fraud: {expected}, and runs.start needs " \
                                 "developer or above"
        with acting_as(authenticate_bearer(tokens[name])), pytest.raises(ForbiddenError) as in_process_refusal:
            background.start_uploaded(spec, actor=name)
        assert in_process_refusal.value.message == body["detail"]
    assert http.get("/api/v1/runs", headers={"Authorization": f"Bearer {tokens['root']}"}).json()["total"] == 0

    developer = {"Authorization": f"Bearer {tokens['developer-pat']}"}
    started = http.post("/api/v1/runs", json={"spec": spec}, headers=developer)
    assert started.status_code == 202, started.text
    run_id = started.json()["id"]
    for attempt in ("cancel", "resume"):
        refused = http.post(f"/api/v1/runs/{run_id}/{attempt}",
                            headers={"Authorization": f"Bearer {tokens['viewer-pat']}"})
        assert_problem(refused, 403, title="forbidden", detail="viewer-pat may not runs.")
    deadline = time.monotonic() + 120
    while http.get(f"/api/v1/runs/{run_id}", headers=developer).json()["status"] in ("pending", "running"):
        assert time.monotonic() < deadline, "the run did not end"
        time.sleep(0.5)
    run = http.get(f"/api/v1/runs/{run_id}", headers=developer).json()
    assert run["status"] == "succeeded", run


def test_a_run_started_through_the_api_acts_as_its_caller_as_far_as_the_callers_role_reaches(secured, tmp_path):
    import httpx

    from shipyard.server.app import background_server

    _, tokens = secured
    data = tmp_path / "data.csv"
    data.write_text("x,y\n" + "".join(f"{i},{2 * i + i % 3}\n" for i in range(40)))
    spec = (SPEC.format(model="fraud-churn", team="fraud", data=data)
            + 'promotion: {gates: {thresholds: ["r2 >= 0.5"]}}\ndeployment: {canary: {steps: [50, 100]}}\n')

    def bearer(name: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {tokens[name]}"}

    with background_server(load_settings()) as url, httpx.Client(base_url=url, timeout=120) as api:
        elsewhere = api.post("/api/v1/runs", json={"spec": SPEC.format(model="risk-churn", team="risk", data=data)},
                             headers=bearer("developer-pat"))
        assert_problem(elsewhere, 403, title="forbidden",
                       detail="developer-pat may not runs.start for team risk: it has no role in team risk")
        theirs = api.post("/api/v1/runs", json={"spec": SPEC.format(model="risk-score", team="fraud", data=data)},
                          headers=bearer("developer-pat"))
        assert_problem(theirs, 409, detail="model 'risk-score' is owned by team risk")
        assert api.get("/api/v1/runs", headers=bearer("root")).json()["total"] == 0

        started = api.post("/api/v1/runs", json={"spec": spec}, headers=bearer("developer-pat"))
        assert started.status_code == 202, started.text
        run_id = started.json()["id"]
        deadline = time.monotonic() + 240
        while (run := api.get(f"/api/v1/runs/{run_id}", headers=bearer("viewer-pat")).json())["status"] in (
                "pending", "running"):
            assert time.monotonic() < deadline, "the run did not end"
            time.sleep(0.5)
        assert run["status"] == "succeeded", run["error"]
        assert run["started_by"] == "developer-pat" and run["model_version"] == "1"
        gate = next(s for s in run["steps"] if s["name"] == "gate")
        assert gate["details"]["passed"] is True and gate["details"]["deployment"].startswith("awaiting_approval")
        assert gate["details"]["waiting_for"].startswith(
            "an approver of team fraud: developer-pat may not deploy.production")

        events = api.get("/api/v1/audit", params={"model": "fraud-churn"}, headers=bearer("viewer-pat"))
        assert events.status_code == 200, events.text
        made = {e["action"]: (e["actor"], e["authenticated"]) for e in events.json()["items"]}
        assert {"registered", "gate_passed", "rollout_started"} <= set(made), made
        assert set(made.values()) == {("developer-pat", True)}, made
        version = api.get("/api/v1/models/fraud-churn/versions/1", headers=bearer("viewer-pat")).json()
        assert version["state"] == "staging", version

        approved = api.post("/api/v1/models/fraud-churn/versions/1/approve", json={}, headers=bearer("approver-pat"))
        assert approved.status_code == 200 and approved.json()["approved_by"] == "approver-pat", approved.text


def test_a_missing_malformed_unknown_expired_or_revoked_token_is_a_401(secured):
    http, tokens = secured
    expiring = create_token("short", identity="developer-pat", expires_in=timedelta(milliseconds=1))
    revoked = create_token("soon-revoked", identity="developer-pat")
    time.sleep(0.01)
    route = "/api/v1/models/fraud-score/versions"
    assert http.get(route, headers={"Authorization": f"Bearer {revoked.secret}"}).status_code == 200
    revoke_token(revoked.info.id)
    cases = {
        "no header": ({}, "needs an 'Authorization: Bearer TOKEN' header"),
        "another scheme": ({"Authorization": f"Basic {tokens['root']}"}, "needs an 'Authorization: Bearer TOKEN'"),
        "an empty bearer": ({"Authorization": "Bearer "}, "needs an 'Authorization: Bearer TOKEN' header"),
        "not a token": ({"Authorization": "Bearer hello"}, "is not an API token (shy_...)"),
        "an unknown token": ({"Authorization": "Bearer shy_" + "x" * 43}, "the API token is not known"),
        "an expired token": ({"Authorization": f"Bearer {expiring.secret}"}, "'short' (id "),
        "a revoked token": ({"Authorization": f"Bearer {revoked.secret}"}, "'soon-revoked' (id "),
    }
    for case, (headers, detail) in cases.items():
        for method, path in (("GET", route), ("POST", "/api/v1/deployments/fraud-score")):
            response = http.request(method, path, headers=headers, json={"version": "1"})
            body = assert_problem(response, 401, title="not authenticated", detail=detail)
            assert response.headers["www-authenticate"] == "Bearer", case
            assert "shipyard tokens create" in body["hint"], case
    assert "expired at" in http.get(route, headers=cases["an expired token"][0]).json()["detail"]
    assert "was revoked" in http.get(route, headers=cases["a revoked token"][0]).json()["detail"]
    assert http.get("/api/v1/health").status_code == 200
    assert http.get("/openapi.json").status_code == 200


def test_the_openapi_document_declares_the_bearer_scheme_and_its_401_and_403(secured):
    from shipyard.server.app import PUBLIC_PATHS

    http, _ = secured
    assert PUBLIC_PATHS == ("/api/v1/health", "/api/v1/auth")
    document = http.get("/openapi.json").json()
    assert document["components"]["securitySchemes"]["bearer"] == {
        "type": "http", "scheme": "bearer", "description": "An API token (shy_...) or an OIDC JWT."}
    guarded = 0
    for path, operations_here in document["paths"].items():
        for method, operation in operations_here.items():
            if path in PUBLIC_PATHS:
                assert "security" not in operation and "401" not in operation["responses"]
                continue
            guarded += 1
            assert operation["security"] == [{"bearer": []}], (method, path)
            for status in ("401", "403"):
                content = operation["responses"][status]["content"]["application/problem+json"]
                assert content == {"schema": {"$ref": "#/components/schemas/Problem"}}, (method, path, status)
    assert guarded >= 25


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_two_teams_on_one_postgresql_store_through_the_api(database_url, tmp_path):
    directory.bootstrap_admin("root")
    root = create_token("setup", identity="root").secret
    with acting_as(authenticate_bearer(root)):
        directory.create_team("fraud")
        directory.create_team("risk", separation_of_duties=False)
        for team, name, role in (("fraud", "alice", "approver"), ("fraud", "carol", "approver"),
                                 ("fraud", "dev", "developer"), ("fraud", "vic", "viewer"),
                                 ("risk", "rita", "approver")):
            directory.add_member(team, name, role)
        bearer = {name: {"Authorization": f"Bearer {create_token('laptop', identity=name).secret}"}
                  for name in ("alice", "carol", "dev", "vic", "rita")}
    seed_model("fraud-score", "fraud", {"1": "staging"}, produced_by="alice")
    seed_model("risk-score", "risk", {"1": "staging"}, produced_by="rita")
    data = tmp_path / "data.csv"
    data.write_text("x,y\n" + "".join(f"{i},{i}\n" for i in range(20)))

    with TestClient(create_app(load_settings(), require_auth=True), raise_server_exceptions=False) as http:
        refused = http.post("/api/v1/deployments/risk-score", json={"version": "1", "strategy": "canary"},
                            headers=bearer["dev"])
        assert_problem(refused, 403, title="forbidden",
                       detail="dev may not deploy.canary for team risk: it has no role in team risk, and "
                              "deploy.canary needs developer or above")
        refused = http.post("/api/v1/runs", json={"spec": SPEC.format(model="fraud-score", team="fraud", data=data)},
                            headers=bearer["vic"])
        assert_problem(refused, 403, title="forbidden", detail="vic may not runs.start for team fraud: it is viewer")
        refused = http.post("/api/v1/models/fraud-score/versions/1/approve", json={}, headers=bearer["vic"])
        assert_problem(refused, 403, title="forbidden", detail="vic may not lifecycle.approve for team fraud")
        refused = http.post("/api/v1/models/fraud-score/versions/1/approve", json={}, headers=bearer["alice"])
        assert_problem(refused, 403, detail="separation of duties")

        approved = http.post("/api/v1/models/fraud-score/versions/1/approve", json={"reason": "reviewed the card"},
                             headers=bearer["carol"])
        assert approved.status_code == 200, approved.text
        assert approved.json()["approved_by"] == "carol"
        approved = http.post("/api/v1/models/risk-score/versions/1/approve", json={}, headers=bearer["rita"])
        assert approved.status_code == 200 and approved.json()["approved_by"] == "rita", approved.text

        log = http.get("/api/v1/audit", params={"action": "approved"}, headers=bearer["vic"])
        assert log.status_code == 200, log.text
        assert [(e["model"], e["actor"], e["authenticated"]) for e in log.json()["items"]] == [
            ("fraud-score", "carol", True), ("risk-score", "rita", True)]
        chain = http.get("/api/v1/audit/verify", headers=bearer["vic"])
        assert chain.status_code == 200 and chain.json()["ok"] is True, chain.text


def test_an_oidc_jwt_is_a_bearer_token_with_its_claims_roles(shipyard_home, monkeypatch):
    key = new_key()
    for team, model in MODEL.items():
        seed_model(model, team, {"1": "archived"})
    with serve_jwks(key.public_key()) as jwks_url:
        monkeypatch.setenv("SHIPYARD_OIDC_ISSUER", ISSUER)
        monkeypatch.setenv("SHIPYARD_OIDC_AUDIENCE", AUDIENCE)
        monkeypatch.setenv("SHIPYARD_OIDC_JWKS_URL", jwks_url)
        try:
            with TestClient(create_app(load_settings(), require_auth=True), raise_server_exceptions=False) as http:
                alice = {"Authorization": f"Bearer {signed_jwt(key, groups=['fraud:developer'])}"}
                canary = {"version": "1", "strategy": "canary"}
                own = http.post("/api/v1/deployments/fraud-score", json=canary, headers=alice)
                assert own.status_code not in (401, 403) and own.status_code < 500, own.text
                assert_problem(http.post("/api/v1/deployments/risk-score", json=canary, headers=alice), 403,
                               detail="alice may not deploy.canary for team risk: it has no role in team risk")
                assert http.get("/api/v1/models/risk-score/versions", headers=alice).status_code == 200
                for token, detail in ((signed_jwt(key, exp=int(time.time()) - 60), "has expired"),
                                      (signed_jwt(new_key()), "signature"),
                                      (signed_jwt(key, aud="another-service"), "audience")):
                    refused = http.get("/api/v1/runs", headers={"Authorization": f"Bearer {token}"})
                    assert_problem(refused, 401, title="not authenticated")
                    assert refused.headers["www-authenticate"] == "Bearer"
                    assert detail in refused.json()["detail"].lower(), refused.json()
        finally:
            oidc._clients.clear()
