"""``/api/v1/teams`` with authentication on: platform admins create teams, team admins manage members."""

from __future__ import annotations

import pytest

from shipyard.governance.audit import read_events

from .conftest import assert_problem


def test_a_platform_admin_creates_teams_and_anyone_in_a_team_reads_them(governed):
    http, as_ = governed
    created = http.post("/api/v1/teams", json={"name": "risk", "separation_of_duties": False}, headers=as_["root"])
    assert created.status_code == 201, created.text
    assert created.json() == {"name": "risk", "separation_of_duties": False, "members": {}}
    listed = http.get("/api/v1/teams", headers=as_["dev"])
    assert listed.status_code == 200, listed.text
    assert listed.json() == {"items": [{"name": "fraud", "separation_of_duties": True,
                                        "members": {"ada": "admin", "dev": "developer"}},
                                       {"name": "risk", "separation_of_duties": False, "members": {}}],
                             "total": 2, "offset": 0, "limit": 50, "next_offset": None}
    newest_first = http.get("/api/v1/teams", params={"sort": "-name", "limit": 1}, headers=as_["dev"]).json()
    assert [t["name"] for t in newest_first["items"]] == ["risk"] and newest_first["next_offset"] == 1
    by_members = http.get("/api/v1/teams", params={"sort": "-members"}, headers=as_["dev"]).json()
    assert [t["name"] for t in by_members["items"]] == ["fraud", "risk"]
    shown = http.get("/api/v1/teams/fraud", headers=as_["dev"])
    assert shown.json()["members"] == {"ada": "admin", "dev": "developer"}
    assert_problem(http.get("/api/v1/teams", params={"sort": "size"}, headers=as_["dev"]), 400,
                   title="invalid sort key", detail="allowed sort keys: name, members")
    assert_problem(http.get("/api/v1/teams/ghost", headers=as_["dev"]), 404, detail="there is no team 'ghost'")
    assert_problem(http.post("/api/v1/teams", json={"name": "risk"}, headers=as_["root"]), 409,
                   detail="team 'risk' already exists")


def test_only_a_platform_admin_creates_a_team_and_a_refusal_changes_nothing(governed):
    http, as_ = governed
    before = len(read_events())
    refused = http.post("/api/v1/teams", json={"name": "skunkworks"}, headers=as_["ada"])
    body = assert_problem(refused, 403, title="forbidden",
                          detail="ada may not teams.create: only a platform admin may")
    assert body["hint"].startswith("ask a platform admin")
    assert_problem(http.get("/api/v1/teams/skunkworks", headers=as_["ada"]), 404)
    assert len(read_events()) == before


def test_a_member_of_no_team_reads_no_teams(governed):
    http, as_ = governed
    assert_problem(http.get("/api/v1/teams", headers=as_["nomad"]), 403,
                   detail="nomad may not teams.read: it has no role in any team")
    assert_problem(http.get("/api/v1/teams", headers={}), 401, title="not authenticated")


def test_a_team_admin_adds_changes_and_removes_members_of_its_own_team_only(governed):
    http, as_ = governed
    added = http.put("/api/v1/teams/fraud/members/svc:ci-bot", json={"role": "developer"}, headers=as_["ada"])
    assert added.status_code == 200, added.text
    assert added.json()["members"] == {"ada": "admin", "dev": "developer", "svc:ci-bot": "developer"}
    changed = http.put("/api/v1/teams/fraud/members/dev", json={"role": "approver"}, headers=as_["ada"])
    assert changed.json()["members"]["dev"] == "approver"
    removed = http.delete("/api/v1/teams/fraud/members/svc:ci-bot", headers=as_["ada"])
    assert removed.status_code == 200 and "svc:ci-bot" not in removed.json()["members"]
    events = [(e.action, e.actor, e.authenticated, e.details["identity"]) for e in read_events()
              if e.action in ("member_added", "member_removed") and e.actor == "ada"]
    assert events == [("member_added", "ada", True, "svc:ci-bot"), ("member_added", "ada", True, "dev"),
                      ("member_removed", "ada", True, "svc:ci-bot")]

    http.post("/api/v1/teams", json={"name": "risk"}, headers=as_["root"])
    before = len(read_events())
    assert_problem(http.put("/api/v1/teams/risk/members/ada", json={"role": "admin"}, headers=as_["ada"]), 403,
                   detail="ada may not teams.manage for team risk: it has no role in team risk")
    assert_problem(http.put("/api/v1/teams/fraud/members/eve", json={"role": "viewer"}, headers=as_["dev"]), 403,
                   detail="dev may not teams.manage for team fraud: it is approver in team fraud")
    assert_problem(http.delete("/api/v1/teams/fraud/members/ada", headers=as_["dev"]), 403)
    assert len(read_events()) == before


def test_member_mistakes_are_problems_that_change_nothing(governed):
    http, as_ = governed
    before = len(read_events())
    assert_problem(http.put("/api/v1/teams/fraud/members/eve", json={"role": "boss"}, headers=as_["ada"]), 422)
    assert_problem(http.put("/api/v1/teams/fraud/members/eve", json={}, headers=as_["ada"]), 422)
    assert_problem(http.put("/api/v1/teams/fraud/members/-eve", json={"role": "viewer"}, headers=as_["ada"]), 422,
                   title="invalid request")
    assert_problem(http.put("/api/v1/teams/ghost/members/eve", json={"role": "viewer"}, headers=as_["root"]), 404)
    assert_problem(http.delete("/api/v1/teams/fraud/members/eve", headers=as_["ada"]), 404,
                   detail="eve is not a member of team fraud")
    assert_problem(http.post("/api/v1/teams", json={"name": "svc:bots"}, headers=as_["root"]), 422)
    assert_problem(http.post("/api/v1/teams", json={"name": "x", "owner": "me"}, headers=as_["root"]), 422)
    assert len(read_events()) == before
    assert http.get("/api/v1/teams/fraud", headers=as_["ada"]).json()["members"] == {"ada": "admin",
                                                                                      "dev": "developer"}


@pytest.fixture
def quotas_declared(shipyard_home):
    shipyard_home.mkdir(parents=True, exist_ok=True)
    (shipyard_home / "quotas.toml").write_text('[default]\nruns = 4\n\n[teams.fraud]\nruns = 2\ngpus = 1\n')
    return shipyard_home / "quotas.toml"


def test_a_teams_quota_and_what_it_holds(quotas_declared, governed):
    http, as_ = governed
    answer = http.get("/api/v1/teams/fraud/quota", headers=as_["dev"])
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"team": "fraud", "source": str(quotas_declared),
                             "limits": {"runs": 2, "cpu": None, "memory": None, "gpus": 1, "sweep_trials": None},
                             "used": {"runs": 0, "cpu": 0.0, "memory": 0, "gpus": 0, "sweep_trials": 0},
                             "queued": 0}
    assert_problem(http.get("/api/v1/teams/ghost/quota", headers=as_["dev"]), 404, detail="there is no team 'ghost'")
    assert_problem(http.get("/api/v1/teams/fraud/quota"), 401)


def test_no_quota_file_limits_nothing(governed):
    http, as_ = governed
    body = http.get("/api/v1/teams/fraud/quota", headers=as_["ada"]).json()
    assert body["source"] is None and set(body["limits"].values()) == {None}


def test_a_team_admin_sets_the_teams_shadow_stage_and_members_read_it(governed, monkeypatch):
    http, as_ = governed
    route = "/api/v1/teams/fraud/policy"
    unset = http.get(route, headers=as_["dev"])
    assert unset.status_code == 200, unset.text
    assert unset.json() == {"team": "fraud", "min_shadow_s": 0.0, "set_by": None, "platform_min_shadow_s": 0.0,
                            "in_force_s": 0.0}
    before = len(read_events())
    assert_problem(http.put(route, json={"min_shadow_s": 3600}, headers=as_["dev"]), 403,
                   detail="dev may not teams.manage for team fraud")
    assert_problem(http.put(route, json={"min_shadow_s": -5}, headers=as_["ada"]), 422)
    assert_problem(http.put(route, json={"min_shadow_s": 400 * 86400}, headers=as_["ada"]), 422)
    assert_problem(http.put(route, json={}, headers=as_["ada"]), 422)
    assert_problem(http.put("/api/v1/teams/ghost/policy", json={"min_shadow_s": 60}, headers=as_["root"]), 404)
    assert_problem(http.get("/api/v1/teams/ghost/policy", headers=as_["dev"]), 404)
    assert len(read_events()) == before

    set_ = http.put(route, json={"min_shadow_s": 7200}, headers=as_["ada"])
    assert set_.status_code == 200, set_.text
    assert set_.json() == {"team": "fraud", "min_shadow_s": 7200.0, "set_by": "ada", "platform_min_shadow_s": 0.0,
                           "in_force_s": 7200.0}
    event = read_events()[-1]
    assert (event.action, event.actor, event.details) == ("team_policy_changed", "ada",
                                                          {"team": "fraud", "min_shadow_s": 7200.0})
    assert http.get(route, headers=as_["dev"]).json()["in_force_s"] == 7200.0
