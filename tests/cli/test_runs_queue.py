"""``shipyard runs queue`` and queued runs in ``runs list`` / ``runs show``."""

from __future__ import annotations

import json

import pytest

from shipyard.cli import main as shipyard
from shipyard.governance import admission
from shipyard.governance.admission import Request
from shipyard.governance.quotas import Quota
from shipyard.store import leases, runs


@pytest.fixture
def queued(shipyard_home):
    for run_id, team in (("fraud1000000", "fraud"), ("fraud2000000", "fraud"), ("fraud3000000", "fraud"),
                         ("growth100000", "growth"), ("growth200000", "growth")):
        runs.create_run(run_id=run_id, pipeline=f"{team}-job", spec_path=None, spec_text=f"name: {team}-job",
                        spec_digest="f" * 64, options={}, owner=leases.new_owner(), lease_s=60)
        decision = admission.ask(run_id, team=team, request=Request(), quota=Quota(runs=1))
        runs.update_run(run_id, status="running" if decision.admitted else "queued")


def test_runs_queue_lists_each_teams_line_with_positions(queued, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    assert shipyard(["runs", "queue"]) == 0
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if "job" in line]
    assert [(line.split()[1], line.split()[3], line.split()[5]) for line in lines] == [
        ("fraud", "1", "fraud2000000"), ("fraud", "2", "fraud3000000"), ("growth", "1", "growth200000")]
    assert "team fraud is at its quota (1 of 1 runs" in out

    assert shipyard(["runs", "queue", "--team", "growth", "--json"]) == 0
    entries = json.loads(capsys.readouterr().out)
    assert [(e["run_id"], e["position"], e["request"]["cpu"]) for e in entries] == [("growth200000", 1, 0.0)]
    assert shipyard(["runs", "queue", "--team", "risk"]) == 0
    assert capsys.readouterr().out == "no runs are waiting in team risk's queue\n"


def test_runs_list_and_show_tell_a_queued_runs_position(queued, capsys):
    assert shipyard(["runs", "list"]) == 0
    out = capsys.readouterr().out
    assert "queued #2" in next(line for line in out.splitlines() if "fraud3000000" in line)
    assert "running" in next(line for line in out.splitlines() if "fraud1000000" in line)
    assert shipyard(["runs", "list", "--json"]) == 0
    listed = {r["id"]: (r["status"], r["queue_position"]) for r in json.loads(capsys.readouterr().out)}
    assert listed["growth200000"] == ("queued", 1) and listed["growth100000"] == ("running", None)
    assert shipyard(["runs", "show", "fraud3000000"]) == 0
    assert "queued at position 2 in its team's queue" in capsys.readouterr().out


def test_no_queue_when_no_quota_holds_anyone(shipyard_home, capsys):
    assert shipyard(["runs", "queue"]) == 0
    assert capsys.readouterr().out == "no runs are waiting\n"
