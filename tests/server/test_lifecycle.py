"""Promote, approve, reject, archive and roll back through the API (version 3)."""

from __future__ import annotations

from server.conftest import assert_problem


def test_lifecycle_of_version_3(client):
    approved = client.post("/api/v1/models/churny/versions/3/approve", json={"reason": "looks right"})
    assert approved.status_code == 200, approved.text
    assert approved.json()["approved_by"] == "tester"
    staged = client.post("/api/v1/models/churny/versions/3/promote", json={"to": "staging"})
    assert staged.status_code in (200, 409), staged.text
    assert_problem(client.post("/api/v1/models/churny/versions/3/reject", json={}), 422)
    assert_problem(client.post("/api/v1/models/churny/versions/3/reject", json={"reason": "   "}), 422)
    rejected = client.post("/api/v1/models/churny/versions/3/reject", json={"reason": "bias on one slice"})
    assert rejected.json()["state"] == "rejected" and rejected.json()["reason"] == "bias on one slice"
    assert_problem(client.post("/api/v1/models/churny/versions/3/promote", json={"to": "production"}), 409)
    archived = client.post("/api/v1/models/churny/versions/3/archive", json={})
    assert archived.json()["state"] == "archived"
    history = client.get("/api/v1/models/churny/versions/3").json()["history"]
    assert [(e["to_state"], e["actor"]) for e in history][-2:] == [("rejected", "tester"), ("archived", "tester")]


def test_lifecycle_mistakes(client):
    assert_problem(client.post("/api/v1/models/churny/versions/3/promote", json={"to": "heaven"}), 422)
    assert_problem(client.post("/api/v1/models/churny/versions/42/archive", json={}), 404)
    assert_problem(client.post("/api/v1/models/churny/rollback", json={"reason": "bad", "to_version": "x"}), 422)
    assert_problem(client.post("/api/v1/models/churny/rollback", json={"reason": "bad", "to_version": "3"}), 409)


def test_a_team_admin_overrides_the_gates_of_a_staging_version_with_a_reason(governed):
    from seeded_models import seed_model

    from shipyard.governance.audit import read_events

    http, as_ = governed
    seed_model("fraud-score", "fraud", {"1": "staging", "2": "archived"})
    route = "/api/v1/models/fraud-score/versions/{}/override"
    before = len(read_events())
    assert_problem(http.post(route.format(1), json={"reason": "ship it"}, headers=as_["dev"]), 403,
                   detail="dev may not lifecycle.override for team fraud: it is developer in team fraud, and "
                          "lifecycle.override needs admin or above")
    assert_problem(http.post(route.format(1), json={}, headers=as_["ada"]), 422, title="invalid request")
    assert_problem(http.post(route.format(1), json={"reason": " "}, headers=as_["ada"]), 409,
                   detail="a gate override must give a reason")
    assert_problem(http.post(route.format(2), json={"reason": "r"}, headers=as_["ada"]), 409,
                   detail="only candidate or staging versions")
    assert_problem(http.post(route.format(9), json={"reason": "r"}, headers=as_["ada"]), 404)
    assert len(read_events()) == before

    overridden = http.post(route.format(1), json={"reason": "the holdout is too small to judge"},
                           headers=as_["ada"])
    assert overridden.status_code == 200, overridden.text
    assert overridden.json()["state"] == "staging"
    event = read_events()[-1]
    assert (event.action, event.actor, event.authenticated, event.reason) == (
        "gate_overridden", "ada", True, "the holdout is too small to judge")


def test_a_rollback_without_a_reason_is_refused_as_in_process(governed):
    from seeded_models import seed_model

    from shipyard.governance.audit import read_events

    http, as_ = governed
    seed_model("fraud-score", "fraud", {"1": "production"})
    before = len(read_events())
    for body in ({}, {"reason": ""}):
        assert_problem(http.post("/api/v1/models/fraud-score/rollback", json=body, headers=as_["ada"]), 409,
                       detail="a rollback must give a reason")
    assert len(read_events()) == before


def test_a_team_admin_skips_the_shadow_stage_with_a_reason_and_the_card_route_lists_it(governed):
    from seeded_models import seed_model

    from shipyard.governance.audit import read_events

    http, as_ = governed
    seed_model("fraud-score", "fraud", {"1": "staging", "2": "archived"})
    route = "/api/v1/models/fraud-score/versions/{}/shadow-override"
    before = len(read_events())
    assert_problem(http.post(route.format(1), json={"reason": "urgent fix"}, headers=as_["dev"]), 403,
                   detail="dev may not shadow.override for team fraud")
    assert_problem(http.post(route.format(1), json={}, headers=as_["ada"]), 422, title="invalid request")
    assert_problem(http.post(route.format(1), json={"reason": "  "}, headers=as_["ada"]), 409,
                   detail="must give a reason")
    assert_problem(http.post(route.format(1), json={"reason": "r", "allowed_s": -1}, headers=as_["ada"]), 400)
    assert_problem(http.post(route.format(2), json={"reason": "r"}, headers=as_["ada"]), 409,
                   detail="only a candidate or staging version")
    assert_problem(http.post(route.format(9), json={"reason": "r"}, headers=as_["ada"]), 404)
    assert len(read_events()) == before

    shortened = http.post(route.format(1), json={"reason": "a security fix", "allowed_s": 600}, headers=as_["ada"])
    assert shortened.status_code == 201, shortened.text
    event = shortened.json()
    assert (event["action"], event["actor"], event["authenticated"], event["reason"]) == (
        "shadow_overridden", "ada", True, "a security fix")
    assert event["details"]["allowed_s"] == 600.0 and event == {**event, "model": "fraud-score", "version": "1"}
    assert read_events()[-1].hash == event["hash"]
