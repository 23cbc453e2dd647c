"""``/api/v1/cost``: cost of real pipeline runs, pages, and the read role it needs."""

from __future__ import annotations

import pytest

from cost_records import record_run

from .conftest import assert_problem


@pytest.fixture
def priced(shipyard_home, request):
    shipyard_home.mkdir(parents=True)
    (shipyard_home / "prices.toml").write_text("cpu = 0.1\n[gpu]\ndefault = 3.0\n")
    record_run("r1", model="scoring", team="fraud", steps={"train": (2.0, 0, 0, 3600.0)})
    record_run("r2", model="scoring", team="fraud", steps={"train": (1.0, 0, 1, 1800.0)})
    record_run("r3", model="ranking", team="fraud", steps={"train": (1.0, 0, 0, 36.0)})
    return request.getfixturevalue("governed")


def test_a_team_member_reads_cost_a_page_at_a_time(priced):
    http, as_ = priced
    answer = http.get("/api/v1/cost", params={"by": "run", "limit": 2}, headers=as_["dev"])
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert [item["key"] for item in body["items"]] == ["r2", "r1"]
    assert body["total"] == 3 and body["next_offset"] == 2 and body["by"] == "run" and body["currency"] == "USD"
    assert body["total_cost"] == pytest.approx(1.55 + 0.2 + 0.001) and body["unpriced_steps"] == 0
    assert body["items"][0] == {"key": "r2", "team": "fraud", "model": "scoring", "cost": pytest.approx(1.55),
                                "compute_hours": pytest.approx(0.5), "requests": 0, "records": 1,
                                "serving_hours": 0.0, "per_1000_predictions": None}
    rest = http.get("/api/v1/cost", params={"by": "run", "offset": 2}, headers=as_["dev"]).json()
    assert [item["key"] for item in rest["items"]] == ["r3"] and rest["next_offset"] is None
    by_model = http.get("/api/v1/cost", params={"by": "model", "model": "ranking"}, headers=as_["dev"]).json()
    assert [(i["key"], i["cost"]) for i in by_model["items"]] == [("ranking", pytest.approx(0.001))]


def test_cost_needs_a_role_in_a_team_and_bad_queries_are_problems(priced):
    http, as_ = priced
    assert_problem(http.get("/api/v1/cost", headers=as_["nomad"]), 403,
                   detail="nomad may not cost.read: it has no role in any team")
    assert_problem(http.get("/api/v1/cost", headers={}), 401)
    assert_problem(http.get("/api/v1/cost", params={"since": "forever"}, headers=as_["dev"]), 422)
    assert_problem(http.get("/api/v1/cost", params={"by": "day"}, headers=as_["dev"]), 422)


def test_without_a_price_list_cost_is_a_problem_saying_how_to_declare_one(governed):
    http, as_ = governed
    body = assert_problem(http.get("/api/v1/cost", headers=as_["dev"]), 400, title="no price list")
    assert "SHIPYARD_PRICES" in body["hint"]


def test_real_runs_cost_their_steps_recorded_resources_for_their_measured_durations(platform, client):
    from shipyard.store.runs import get_run

    body = client.get("/api/v1/cost", params={"by": "run"}).json()
    runs = {r.run_id: get_run(r.run_id, settings=platform["settings"]) for r in platform["runs"]}
    assert {item["key"] for item in body["items"]} == set(runs)
    for item in body["items"]:
        record = runs[item["key"]]
        assert record.options["team"] == "growth" and record.options["model"] == "churny"
        assert item["team"] == "growth" and item["model"] == "churny"
        ran = [s for s in record.steps if not s.cache_hit and s.state != "cached" and s.duration_s is not None]
        seconds = sum((s.details or {}).get("trial_seconds", s.duration_s) if s.kind == "sweep" else s.duration_s
                      for s in ran)
        resources = record.options["resources"]
        cpu_seconds = sum((resources[s.name]["cpu"] + resources[s.name]["memory"] / 2 ** 30) * s.duration_s
                          for s in ran)
        assert item["compute_hours"] == pytest.approx(seconds / 3600)
        assert item["cost"] == pytest.approx(cpu_seconds / 3600) and item["cost"] > 0
