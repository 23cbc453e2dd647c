"""``/api/v1/queue`` and the queued runs in ``/api/v1/runs``: status ``queued`` and the run's queue position."""

from __future__ import annotations

import dataclasses
import os
import sys
import time

import pytest

from server.conftest import assert_problem
from shipyard.governance import admission
from shipyard.governance.admission import Request
from shipyard.governance.quotas import Quota
from shipyard.store import leases, runs


def _queued(run_id: str, team: str, **request) -> admission.Decision:
    runs.create_run(run_id=run_id, pipeline=f"{team}-job", spec_path=None, spec_text=f"name: {team}-job",
                    spec_digest="f" * 64, options={}, owner=leases.new_owner(), lease_s=60)
    decision = admission.ask(run_id, team=team, request=Request(**request), quota=Quota(runs=1, cpu=4))
    runs.update_run(run_id, status="running" if decision.admitted else "queued")
    return decision


@pytest.fixture
def client(shipyard_home):
    from fastapi.testclient import TestClient

    from shipyard.config import load_settings
    from shipyard.server.app import create_app

    for run_id, team in (("fraud1000000", "fraud"), ("fraud2000000", "fraud"), ("fraud3000000", "fraud"),
                         ("growth100000", "growth"), ("growth200000", "growth")):
        _queued(run_id, team, cpu=2)
    with TestClient(create_app(load_settings(), require_auth=False), raise_server_exceptions=False) as http:
        yield http


def test_the_queue_lists_waiting_runs_by_team_and_position(client):
    page = client.get("/api/v1/queue").json()
    assert [(e["team"], e["position"], e["run_id"]) for e in page["items"]] == [
        ("fraud", 1, "fraud2000000"), ("fraud", 2, "fraud3000000"), ("growth", 1, "growth200000")]
    first = page["items"][0]
    assert first["reason"] == "team fraud is at its quota (1 of 1 runs running)"
    assert first["request"] == {"cpu": 2.0, "memory": 0, "gpus": 0, "sweep_trials": 0}
    assert first["pipeline"] == "fraud-job" and first["enqueued_at"]
    assert page["total"] == 3 and page["next_offset"] is None


def test_the_queue_is_paginated_and_filtered_by_team(client):
    page = client.get("/api/v1/queue", params={"limit": 1, "offset": 1}).json()
    assert [e["run_id"] for e in page["items"]] == ["fraud3000000"] and page["next_offset"] == 2
    growth = client.get("/api/v1/queue", params={"team": "growth"}).json()
    assert [e["run_id"] for e in growth["items"]] == ["growth200000"]
    assert client.get("/api/v1/queue", params={"team": "nobody"}).json()["total"] == 0
    assert_problem(client.get("/api/v1/queue", params={"limit": 0}), 422)


def test_runs_show_queued_runs_with_their_position(client):
    listed = {r["id"]: r for r in client.get("/api/v1/runs", params={"status": "queued"}).json()["items"]}
    assert {i: (r["status"], r["queue_position"]) for i, r in listed.items()} == {
        "fraud2000000": ("queued", 1), "fraud3000000": ("queued", 2), "growth200000": ("queued", 1)}
    shown = client.get("/api/v1/runs/fraud3000000").json()
    assert (shown["status"], shown["queue_position"]) == ("queued", 2)
    running = client.get("/api/v1/runs/fraud1000000").json()
    assert (running["status"], running["queue_position"]) == ("running", None)
    admission.leave("fraud2000000")
    assert client.get("/api/v1/runs/fraud3000000").json()["queue_position"] == 1


def test_the_queue_is_in_the_openapi_document(client):
    document = client.get("/openapi.json").json()
    assert "/api/v1/queue" in document["paths"]
    assert "queue_position" in document["components"]["schemas"]["RunOut"]["properties"]
    listing = document["paths"]["/api/v1/runs"]["get"]["parameters"]
    status = next(p for p in listing if p["name"] == "status")
    assert "queued" in str(status["schema"])


HOLDING = '''\
import time
from pathlib import Path


def hold(gate: str):
    while not Path(gate).exists():
        time.sleep(0.05)
    return gate
'''


def _wait_for(client, run_id: str, status: str, timeout_s: float = 60) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        body = client.get(f"/api/v1/runs/{run_id}").json()
        if body["status"] == status:
            return body
        time.sleep(0.2)
    raise AssertionError(f"run {run_id} is still {body['status']} after {timeout_s}s")


def test_runs_started_through_the_api_queue_and_a_queued_one_is_cancelled(shipyard_home, tmp_path, monkeypatch):
    from fastapi.testclient import TestClient

    from shipyard.config import load_settings
    from shipyard.server.app import create_app

    (tmp_path / "holding.py").write_text(HOLDING)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(tmp_path), *sys.path]))
    (tmp_path / "quotas.toml").write_text("[teams.fraud]\nruns = 1\n")
    settings = dataclasses.replace(load_settings(), quotas_file=tmp_path / "quotas.toml")
    gate = tmp_path / "gate"
    spec = (f"name: held\nteam: fraud\nsteps:\n"
            f"  - {{name: hold, function: 'holding:hold', params: {{gate: '{gate}'}}}}\n")
    with TestClient(create_app(settings, require_auth=False), raise_server_exceptions=False) as client:
        first = client.post("/api/v1/runs", json={"spec": spec, "no_cache": True}).json()["id"]
        _wait_for(client, first, "running")
        second = client.post("/api/v1/runs", json={"spec": spec, "no_cache": True}).json()["id"]
        queued = _wait_for(client, second, "queued")
        assert queued["queue_position"] == 1
        assert [e["run_id"] for e in client.get("/api/v1/queue").json()["items"]] == [second]
        assert client.post(f"/api/v1/runs/{second}/cancel").status_code == 202
        cancelled = _wait_for(client, second, "cancelled")
        assert cancelled["queue_position"] is None and cancelled["resume_command"]
        assert client.get("/api/v1/queue").json()["total"] == 0
        gate.touch()
        assert _wait_for(client, first, "succeeded")["queue_position"] is None
