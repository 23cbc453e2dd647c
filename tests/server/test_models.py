"""``/api/v1/models``: the catalog, versions, comparison, gate results, model cards and lineage."""

from __future__ import annotations

from server.conftest import assert_problem


def test_catalog_lists_the_model_with_its_owner_inputs_and_slo(client):
    page = client.get("/api/v1/models").json()
    entry = next(e for e in page["items"] if e["name"] == "churny")
    assert entry["team"] == "growth" and entry["tags"] == {"domain": "retention"}
    assert entry["inputs"] == ["x1", "x2", "color"] and entry["output"] == "y"
    assert entry["slo"]["max_p99_latency_ms"] == 250 and entry["versions"] >= 2
    assert entry["latest_version"] == str(entry["versions"])
    for query in ({"team": "growth"}, {"tag": "domain=retention"}, {"tag": "domain"}, {"column": "color"},
                  {"column": "y"}, {"q": "LEAVE"}, {"has_slo": "true"}):
        assert [e["name"] for e in client.get("/api/v1/models", params=query).json()["items"]] == ["churny"], query
    for query in ({"team": "fraud"}, {"tag": "domain=fraud"}, {"column": "zip"}, {"has_slo": "false"},
                  {"drift": "critical"}, {"state": "no-such-state"}):
        assert client.get("/api/v1/models", params=query).json()["total"] == 0, query


def test_catalog_sort_keys_are_checked(client):
    body = assert_problem(client.get("/api/v1/models", params={"sort": "owner"}), 400)
    assert "name, team, versions, latest_version, updated_at, drift_severity" in body["detail"]
    assert client.get("/api/v1/models", params={"sort": "-versions"}).status_code == 200
    assert_problem(client.get("/api/v1/models", params={"drift": "purple"}), 422)


def test_one_model_and_an_unknown_one(client):
    assert client.get("/api/v1/models/churny").json()["team"] == "growth"
    assert_problem(client.get("/api/v1/models/churnie"), 404, detail="did you mean churny")


def test_versions_page_and_detail(client, platform):
    page = client.get("/api/v1/models/churny/versions", params={"sort": "version", "limit": 1}).json()
    assert [v["version"] for v in page["items"]] == ["1"] and page["next_offset"] == 1
    detail = client.get("/api/v1/models/churny/versions/1").json()
    assert detail["version"] == "1" and [e["action"] for e in detail["history"]][0] == "registered"
    assert all(e["version"] == "1" for e in detail["history"])
    assert_problem(client.get("/api/v1/models/churny/versions/99"), 404, detail="has no version 99")
    assert_problem(client.get("/api/v1/models/nobody/versions"), 404)
    assert_problem(client.get("/api/v1/models/churny/versions", params={"sort": "name"}), 400,
                   detail="version, state, updated_at")


def test_compare_gates_card_and_lineage(client, platform):
    compared = client.get("/api/v1/models/churny/compare", params={"left": 1, "right": 2}).json()
    assert compared["versions"] == ["1", "2"] and "roc_auc" in compared["metrics"]
    assert_problem(client.get("/api/v1/models/churny/compare", params={"left": "one", "right": 2}), 422)
    gates = client.get("/api/v1/models/churny/versions/1/gates").json()
    assert gates["passed"] is True and gates["results"][0]["gate"] == "threshold"
    card = client.get("/api/v1/models/churny/versions/1/card").json()
    assert card["format"] == "markdown" and card["text"].startswith("# Model card: churny version 1")
    page = client.get("/api/v1/models/churny/versions/1/card", params={"format": "html"}).json()
    assert page["text"].lower().startswith("<!doctype html>")
    lineage = client.get("/api/v1/models/churny/versions/1/lineage").json()
    assert lineage["pipeline_run"]["id"] == platform["runs"][0].run_id
    assert lineage["model"]["version"] == "1"
    assert_problem(client.get("/api/v1/models/churny/versions/7/lineage"), 404)


def test_a_version_says_whether_it_has_gate_results_so_that_clients_need_not_ask(client, platform, tmp_path):
    from server.conftest import SPEC, write_project

    from shipyard.pipeline.api import run
    from shipyard.spec.loader import load_spec

    spec = SPEC.replace("name: churny", "name: churny-ungated").split("promotion:")[0]
    result = run(load_spec(write_project(tmp_path / "ungated", spec=spec)), settings=platform["settings"])
    assert result.status == "succeeded", result.error
    ungated = client.get("/api/v1/models/churny-ungated/versions/1").json()
    assert ungated["gated"] is False
    assert_problem(client.get("/api/v1/models/churny-ungated/versions/1/gates"), 404, detail="no gate results yet")
    assert client.get("/api/v1/models/churny/versions/1").json()["gated"] is True
