"""The churn example's commands print the same in-process and through ``shipyard server`` (SHIPYARD_URL + login)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from api_server import api_server, config_home  # noqa: F401  (fixtures)
from shipyard.cli import main

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow

RUN_ID = re.compile(r"\b[0-9a-f]{12,32}\b")
SECONDS = re.compile(r"\b\d+\.\d+s\b")


def both_ways(argv: list[str], capsys, monkeypatch, url: str) -> tuple[tuple[int, str], tuple[int, str]]:
    """(exit code, stdout) of the command in-process, then through the server."""
    monkeypatch.delenv("SHIPYARD_URL", raising=False)
    local = main(argv), capsys.readouterr().out
    monkeypatch.setenv("SHIPYARD_URL", url)
    remote = main(argv), capsys.readouterr().out
    monkeypatch.delenv("SHIPYARD_URL")
    return local, remote


def normalized(text: str, run_ids: dict[str, str]) -> str:
    for run_id, label in run_ids.items():
        text = text.replace(run_id, label)
    return SECONDS.sub("N.Ns", text)


def test_the_churn_examples_commands_print_the_same_both_ways(api_server, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SHIPYARD_ACTOR", "alice")
    folder = tmp_path / "churn"
    shutil.copytree(ROOT / "examples" / "churn", folder, ignore=shutil.ignore_patterns("data", "__pycache__"))
    monkeypatch.syspath_prepend(str(folder))
    from generate import generate_churn

    (folder / "data").mkdir()
    generate_churn(n_rows=3000, seed=1).to_csv(folder / "data" / "churn.csv", index=False)
    spec = str(folder / "pipeline.yaml")
    assert main(["run", spec]) == 0
    trained = capsys.readouterr().out
    assert "registered model: churn version 1" in trained
    assert main(["login", api_server.url, "--token", api_server.tokens["root"]]) == 0
    capsys.readouterr()

    # The same spec run again, once each way: both from cache, the same lines but for the run's id and time.
    (local_code, local_run), (remote_code, remote_run) = both_ways(["run", spec], capsys, monkeypatch,
                                                                   api_server.url)
    assert local_code == remote_code == 0
    local_id, remote_id = (re.search(r"^run (\S+) ", out).group(1) for out in (local_run, remote_run))
    assert local_id != remote_id
    assert normalized(local_run, {local_id: "RUN"}) == normalized(remote_run, {remote_id: "RUN"})
    assert "(9/9 steps from cache)" in remote_run
    (_, local_json), (_, remote_json) = both_ways(["run", spec, "--json"], capsys, monkeypatch, api_server.url)
    local_result, remote_result = json.loads(local_json), json.loads(remote_json)
    for result in (local_result, remote_result):
        result.pop("run_id"), result.pop("duration_s")
    assert remote_result == local_result and set(remote_result["metrics"]["slices"]) == {"plan", "contract"}
    from shipyard.store.runs import get_run

    assert (get_run(local_id).started_by, get_run(remote_id).started_by) == ("alice", "root")

    first_id = re.search(r"^run (\S+) ", trained).group(1)
    for argv in (["runs", "show", first_id], ["runs", "show", remote_id[:8]], ["runs", "list"],
                 ["lineage", "churn", "1"], ["models", "list", "churn"], ["models", "list"],
                 ["traffic", "show", "churn"], ["traffic", "show"],
                 ["models", "show", "churn", "1"], ["models", "card", "churn", "1"], ["audit", "verify"],
                 ["audit", "log", "--model", "churn"], ["runs", "show", "nope"], ["models", "show", "churn", "9"],
                 ["lineage", "churn", "9"]):
        (local_code, local_out), (remote_code, remote_out) = both_ways(argv, capsys, monkeypatch, api_server.url)
        assert (remote_code, remote_out) == (local_code, local_out), argv
    for argv in (["runs", "show", "nope"], ["models", "show", "churn", "9"]):
        monkeypatch.setenv("SHIPYARD_URL", api_server.url)
        assert main(argv) == 8
        remote_err = capsys.readouterr().err
        monkeypatch.delenv("SHIPYARD_URL")
        assert main(argv) == 8
        assert capsys.readouterr().err == remote_err
