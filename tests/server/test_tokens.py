"""``/api/v1/tokens``: a token's secret is in the creating answer only; revoking it refuses it at once."""

from __future__ import annotations

from shipyard.governance.audit import read_events

from .conftest import assert_problem, bearer


def test_a_token_is_shown_once_then_only_listed_by_name_and_id(governed):
    http, as_ = governed
    created = http.post("/api/v1/tokens", json={"name": "ci", "scopes": ["metrics", "inference:churn"]},
                        headers=as_["dev"])
    assert created.status_code == 201, created.text
    body = created.json()
    secret, info = body["secret"], body["info"]
    assert secret.startswith("shy_") and set(body) == {"secret", "info"}
    assert info["name"] == "ci" and info["identity"] == "dev" and info["status"] == "active"
    assert info["scopes"] == ["inference:churn", "metrics"] and info["expires_at"] and info["revoked_at"] is None

    listed = http.get("/api/v1/tokens", headers=bearer(secret))
    assert listed.status_code == 200, listed.text
    assert secret not in listed.text and "secret" not in listed.text
    assert [(t["name"], t["identity"], t["status"]) for t in listed.json()["items"]] == [
        ("laptop", "dev", "active"), ("ci", "dev", "active")]
    assert listed.json()["items"][1]["id"] == info["id"]
    assert listed.json()["items"][1]["last_used_at"] is not None
    shown = http.get("/api/v1/tokens", params={"sort": "-name"}, headers=as_["dev"]).json()["items"]
    assert [t["name"] for t in shown] == ["laptop", "ci"]
    assert_problem(http.get("/api/v1/tokens", params={"sort": "secret"}, headers=as_["dev"]), 400,
                   title="invalid sort key")


def test_a_revoked_token_is_refused_at_once(governed):
    http, as_ = governed
    created = http.post("/api/v1/tokens", json={"name": "ci"}, headers=as_["dev"]).json()
    own = bearer(created["secret"])
    assert http.get("/api/v1/tokens", headers=own).status_code == 200
    revoked = http.post(f"/api/v1/tokens/{created['info']['id']}/revoke", headers=own)
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["status"] == "revoked" and revoked.json()["revoked_at"]
    body = assert_problem(http.get("/api/v1/tokens", headers=own), 401, title="not authenticated",
                          detail="the API token 'ci' (id ")
    assert "was revoked" in body["detail"]
    assert_problem(http.post(f"/api/v1/tokens/{created['info']['id']}/revoke", headers=as_["dev"]), 409,
                   detail="already revoked")
    assert_problem(http.post("/api/v1/tokens/nope/revoke", headers=as_["dev"]), 404,
                   detail="there is no token with id 'nope'")
    statuses = http.get("/api/v1/tokens", params={"status": "revoked"}, headers=as_["dev"]).json()["items"]
    assert [t["name"] for t in statuses] == ["ci"]


def test_who_lists_creates_and_revokes_whose_tokens(governed):
    http, as_ = governed
    everyone = http.get("/api/v1/tokens", params={"sort": "identity"}, headers=as_["root"]).json()
    assert [t["identity"] for t in everyone["items"]] == ["ada", "dev", "nomad", "root"]
    only_dev = http.get("/api/v1/tokens", params={"identity": "dev"}, headers=as_["root"]).json()
    assert [t["identity"] for t in only_dev["items"]] == ["dev"] and only_dev["total"] == 1
    nomads = http.get("/api/v1/tokens", headers=as_["nomad"])
    assert nomads.status_code == 200 and [t["identity"] for t in nomads.json()["items"]] == ["nomad"]

    before = len(read_events())
    assert_problem(http.get("/api/v1/tokens", params={"identity": "ada"}, headers=as_["dev"]), 403,
                   detail="dev may not list the tokens of ada")
    assert_problem(http.post("/api/v1/tokens", json={"name": "x", "identity": "ada"}, headers=as_["dev"]), 403,
                   detail="dev may not create tokens for ada")
    ada_token = only_id(http, as_["root"], "ada")
    assert_problem(http.post(f"/api/v1/tokens/{ada_token}/revoke", headers=as_["dev"]), 403,
                   detail="dev may not revoke the tokens of ada")
    assert_problem(http.post(f"/api/v1/tokens/{only_id(http, as_['root'], 'nomad')}/revoke", headers=as_["ada"]),
                   403, detail="ada may not revoke the tokens of nomad")
    assert len(read_events()) == before

    dev_token = only_id(http, as_["root"], "dev")
    for_dev = http.post("/api/v1/tokens", json={"name": "deploy", "identity": "dev", "expires_in_s": None},
                        headers=as_["ada"])
    assert for_dev.status_code == 201, for_dev.text
    assert for_dev.json()["info"]["identity"] == "dev" and for_dev.json()["info"]["expires_at"] is None
    assert http.post(f"/api/v1/tokens/{dev_token}/revoke", headers=as_["ada"]).json()["status"] == "revoked"
    assert_problem(http.get("/api/v1/tokens", headers=as_["dev"]), 401)
    created = [(e.actor, e.authenticated, e.details["identity"]) for e in read_events() if e.action == "token_created"]
    assert created[-1] == ("ada", True, "dev")


def test_token_mistakes_are_problems_that_change_nothing(governed):
    http, as_ = governed
    before = len(read_events())
    for body, status, detail in (
            ({"name": "x", "scopes": ["admin"]}, 422, "scopes.0"),
            ({"name": "x", "scopes": ["inference: churn"]}, 422, "scopes.0"),
            ({"name": "x", "identity": "ghost"}, 404, "there is no identity 'ghost'"),
            ({"name": "x", "expires_in_s": 0}, 422, "expires_in_s"),
            ({"name": "  "}, 422, "name"),
            ({}, 422, "name"),
            ({"name": "x", "secret": "shy_mine"}, 422, "secret")):
        assert_problem(http.post("/api/v1/tokens", json=body, headers=as_["root"]), status, detail=detail)
    assert_problem(http.get("/api/v1/tokens", params={"status": "lost"}, headers=as_["root"]), 422)
    assert len(read_events()) == before


def only_id(http, headers, identity: str) -> str:
    items = http.get("/api/v1/tokens", params={"identity": identity}, headers=headers).json()["items"]
    assert len(items) == 1, items
    return items[0]["id"]
