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
