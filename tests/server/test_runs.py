"""``/api/v1/runs``: listing, showing, starting, cancelling and resuming pipeline runs."""

from __future__ import annotations

import time

from server.conftest import assert_problem


def test_runs_list_is_a_page_sorted_and_filtered(client, platform):
    ids = [r.run_id for r in platform["runs"]]
    page = client.get("/api/v1/runs", params={"pipeline": "churny", "sort": "created_at", "limit": 1}).json()
    assert page["items"][0]["id"] == ids[0] and page["next_offset"] == 1 and page["total"] >= 3
    oldest_first = client.get("/api/v1/runs", params={"pipeline": "churny", "sort": "created_at"}).json()["items"]
    newest_first = client.get("/api/v1/runs", params={"pipeline": "churny"}).json()["items"]
    assert [r["id"] for r in newest_first] == [r["id"] for r in oldest_first][::-1]
    assert [r["id"] for r in oldest_first][:3] == ids and "steps" not in oldest_first[0]
    assert client.get("/api/v1/runs", params={"model": "churny", "status": "succeeded"}).json()["total"] >= 3
    assert client.get("/api/v1/runs", params={"pipeline": "nothing"}).json() == {
        "items": [], "total": 0, "offset": 0, "limit": 50, "next_offset": None}


def test_runs_by_team_and_since(client, platform):
    ids = {r.run_id for r in platform["runs"]}
    growth = client.get("/api/v1/runs", params={"team": "growth", "limit": 500}).json()
    assert ids <= {r["id"] for r in growth["items"]}
    assert client.get("/api/v1/runs", params={"team": "nobody"}).json()["total"] == 0
    assert client.get("/api/v1/runs", params={"team": "growth", "since": "2999-01-01T00:00:00"}).json()["total"] == 0
    assert client.get("/api/v1/runs", params={"since": "2000-01-01T00:00:00+02:00"}).json()["total"] >= 3
    assert_problem(client.get("/api/v1/runs", params={"since": "last week"}), 422, title="invalid request")


def test_bad_sort_key_and_status_are_client_errors(client):
    body = assert_problem(client.get("/api/v1/runs", params={"sort": "-colour"}), 400, title="invalid sort key")
    assert "created_at, started_at, finished_at, pipeline, status" in body["detail"]
    assert_problem(client.get("/api/v1/runs", params={"status": "sleeping"}), 422, title="invalid request")


def test_show_run_has_its_steps(client, platform):
    run_id = platform["runs"][0].run_id
    body = client.get(f"/api/v1/runs/{run_id[:6]}").json()
    assert body["id"] == run_id and body["status"] == "succeeded" and body["model_version"] == "1"
    assert [s["name"] for s in body["steps"]][:2] == ["ingest", "validate"]
    assert body["resume_command"] is None and "name: churny" in body["spec_text"]
    upstream = {s["name"]: s["upstream"] for s in body["steps"]}
    assert upstream["ingest"] == [] and upstream["validate"] == ["ingest"] and "split" in upstream["features"]
    assert_problem(client.get("/api/v1/runs/doesnotexist"), 404, title="not found", detail="no run 'doesnotexist'")


def test_a_run_without_a_sweep_says_so(client, platform):
    run_id = platform["runs"][0].run_id
    body = assert_problem(client.get(f"/api/v1/runs/{run_id}/sweep"), 404, title="no sweep in this run")
    assert "sweep:" in body["detail"]
    assert_problem(client.get("/api/v1/runs/doesnotexist/sweep"), 404, detail="no run 'doesnotexist'")


def test_start_needs_exactly_one_source_and_a_valid_spec(client):
    assert_problem(client.post("/api/v1/runs", json={}), 422, title="invalid request")
    assert_problem(client.post("/api/v1/runs", json={"spec": "name: x", "from_run": "abc"}), 422)
    assert_problem(client.post("/api/v1/runs", json={"spec": "name: [unclosed"}), 400, title="invalid pipeline spec")
    assert_problem(client.post("/api/v1/runs", json={"from_run": "nosuchrun"}), 404)
    assert_problem(client.post("/api/v1/runs", json={"spec": "name: x", "extra": 1}), 422)


def test_a_users_mistake_in_starting_a_run_is_a_4xx_that_names_it(client, platform, tmp_path):
    from server.conftest import SPEC

    before = client.get("/api/v1/runs").json()["total"]
    missing = tmp_path / "nowhere" / "data.csv"
    unfound = SPEC.replace("path: data.csv", f"path: {missing}")
    body = assert_problem(client.post("/api/v1/runs", json={"spec": unfound}), 422, title="data error",
                          detail=f"data file {missing} does not exist")
    assert body["hint"]
    (tmp_path / "empty").mkdir()
    folder = SPEC.replace("path: data.csv", f"path: {tmp_path / 'empty'}")
    assert_problem(client.post("/api/v1/runs", json={"spec": folder}), 422, title="data error", detail="holds no")
    bad_yaml = client.post("/api/v1/runs", json={"spec": "name: churny\nteam: [growth\n"})
    assert_problem(bad_yaml, 400, title="invalid pipeline spec", detail="uploaded pipeline.yaml:3:1")
    assert client.get("/api/v1/runs").json()["total"] == before
    for route in ("/api/v1/runs/nosuchrun/resume", "/api/v1/runs/nosuchrun/cancel"):
        assert_problem(client.post(route), 404, detail="no run 'nosuchrun'")


def test_resuming_a_run_whose_data_is_gone_is_a_data_error_and_leaves_the_run_as_it_was(client, platform, tmp_path):
    from server.conftest import SPEC

    from shipyard.store import runs as store

    missing = tmp_path / "gone.csv"
    store.create_run(run_id="gone00000000", pipeline="churny", spec_path=None, spec_digest="f" * 64, options={},
                     spec_text=SPEC.replace("path: data.csv", f"path: {missing}"), settings=platform["settings"])
    store.update_run("gone00000000", status="failed", settings=platform["settings"])
    assert_problem(client.post("/api/v1/runs/gone00000000/resume"), 422, title="data error", detail=str(missing))
    assert client.get("/api/v1/runs/gone00000000").json()["status"] == "failed"


def _wait_for(client, run_id: str, statuses: tuple[str, ...], timeout_s: float = 300) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        body = client.get(f"/api/v1/runs/{run_id}").json()
        if body["status"] in statuses:
            return body
        time.sleep(0.5)
    raise AssertionError(f"run {run_id} is still {body['status']} after {timeout_s}s")


def test_a_stored_runs_spec_runs_again_in_the_background(client, platform):
    # no_deploy: the session's platform stays undeployed for the deployment tests, whichever runs first
    started = client.post("/api/v1/runs", json={"from_run": platform["runs"][0].run_id, "no_deploy": True})
    assert started.status_code == 202, started.text
    accepted = started.json()
    assert accepted["url"] == f"/api/v1/runs/{accepted['id']}" and accepted["status"] in ("running", "succeeded")
    finished = _wait_for(client, accepted["id"], ("succeeded", "failed"))
    assert finished["status"] == "succeeded", finished["error"]
    assert finished["spec_path"] == str(platform["spec_path"])
    assert_problem(client.post(f"/api/v1/runs/{accepted['id']}/resume"), 409, detail="already succeeded")
    assert_problem(client.post(f"/api/v1/runs/{accepted['id']}/cancel"), 409, title="run is not running")


SLOW_STEP = '''\
import time


def wait(frame):
    time.sleep(120)
    return frame
'''


def test_an_uploaded_spec_runs_is_cancelled_and_resumed(client, platform, tmp_path, monkeypatch):
    import os

    from server.conftest import SPEC

    (tmp_path / "napping.py").write_text(SLOW_STEP)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")]))
    monkeypatch.setenv("SHIPYARD_PREEMPTION_GRACE_S", "1")  # the nap cannot stop early: killed after the grace
    data = platform["spec_path"].parent / "data.csv"
    spec = (SPEC.replace("name: churny", "name: slowpoke").replace("path: data.csv", f"path: {data}")
            + "steps:\n  - name: nap\n    function: napping:wait\n    inputs: {frame: ingest.frame}\n")
    uploaded = client.post("/api/v1/runs", json={"spec": spec})
    assert uploaded.status_code == 202, uploaded.text
    run_id = uploaded.json()["id"]
    running = _wait_for(client, run_id, ("running", "failed"))
    deadline = time.monotonic() + 180
    while not any(s["name"] == "nap" and s["state"] == "running" for s in running["steps"]):
        assert running["status"] == "running" and time.monotonic() < deadline, running
        time.sleep(0.5)
        running = client.get(f"/api/v1/runs/{run_id}").json()
    assert client.post(f"/api/v1/runs/{run_id}/cancel").status_code == 202
    cancelled = _wait_for(client, run_id, ("cancelled", "failed"), timeout_s=60)
    assert cancelled["status"] == "cancelled" and cancelled["resume_command"]
    assert (platform["settings"].home / "specs").is_dir()
    (tmp_path / "napping.py").write_text(SLOW_STEP.replace("time.sleep(120)", "pass"))
    resumed = client.post(f"/api/v1/runs/{run_id}/resume")
    assert resumed.status_code == 202, resumed.text
    finished = _wait_for(client, run_id, ("succeeded", "failed"))
    assert finished["status"] == "succeeded", finished["error"]
    assert {s["name"]: s["state"] for s in finished["steps"]}["nap"] == "succeeded"


def test_a_failed_steps_log_has_its_traceback_and_the_log_is_cut_to_its_end(client, platform, tmp_path):
    from server.conftest import SPEC, write_project

    from shipyard.pipeline.api import run
    from shipyard.spec.loader import load_spec

    spec = SPEC.replace("name: churny", "name: churny-broken").replace("deployment:", "x-deployment:")
    spec = spec.replace("params: {max_iter: 200}", "params: {max_iter: 200, C: -1.0}").split("x-deployment:")[0]
    failed = run(load_spec(write_project(tmp_path / "broken", spec=spec)), settings=platform["settings"])
    assert failed.status == "failed"
    body = client.get(f"/api/v1/runs/{failed.run_id}/logs", params={"step": "train"}).json()
    assert body["run_id"] == failed.run_id and body["step"] == "train" and not body["truncated"]
    assert "--- step train started" in body["text"] and "Traceback" in body["text"] and "'C'" in body["text"]
    cut = client.get(f"/api/v1/runs/{failed.run_id}/logs", params={"step": "train", "max_bytes": 200}).json()
    assert cut["truncated"] and len(cut["text"].encode()) <= 200 and body["text"].endswith(cut["text"])
    assert cut["size_bytes"] == body["size_bytes"] == len(body["text"].encode())
    whole = client.get(f"/api/v1/runs/{failed.run_id}/logs").json()
    assert whole["step"] is None and whole["text"] == "" and whole["size_bytes"] == 0  # ran in-process: no run log
    assert_problem(client.get(f"/api/v1/runs/{failed.run_id}/logs", params={"step": "nope"}), 404,
                   detail="has no step 'nope'")
    assert_problem(client.get("/api/v1/runs/doesnotexist/logs"), 404, detail="no run 'doesnotexist'")
    assert_problem(client.get(f"/api/v1/runs/{failed.run_id}/logs", params={"max_bytes": 0}), 422)
