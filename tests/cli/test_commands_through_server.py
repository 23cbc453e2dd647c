"""Commands through a real server on loopback (SHIPYARD_URL): runs followed to their end, the token's identity
acting, and errors with the same exit codes as in-process."""

from __future__ import annotations

import re
import textwrap

import pytest

from api_server import api_server, config_home  # noqa: F401  (fixtures)
from shipyard.cli import main
from shipyard.serving.server import free_port

SPEC = textwrap.dedent("""\
    name: churny
    team: growth
    data:
      source: {type: csv, path: data.csv}
      target: y
    split: {method: stratified, holdout: 0.3, seed: 0}
    features:
      - columns: [x1, x2]
        transforms: [{kind: scale}]
      - columns: [color]
        transforms: [{kind: one_hot}]
    model:
      flavor: sklearn
      estimator: LogisticRegression
      params: {max_iter: 200}
    promotion:
      gates:
        thresholds: ["roc_auc >= 0.5"]
""")


def project(folder, spec: str = SPEC):
    from tracked_run import synthetic_frame

    folder.mkdir(parents=True, exist_ok=True)
    synthetic_frame(n=300, seed=0).to_csv(folder / "data.csv", index=False)
    (folder / "pipeline.yaml").write_text(spec)
    return folder / "pipeline.yaml"


@pytest.fixture
def as_root(api_server, monkeypatch):
    """Commands go to the server with the platform admin's token (SHIPYARD_TOKEN overrides a stored one)."""
    monkeypatch.setenv("SHIPYARD_URL", api_server.url)
    monkeypatch.setenv("SHIPYARD_TOKEN", api_server.tokens["root"])
    return api_server


def test_a_run_through_the_server_is_followed_to_its_end_and_acts_as_the_tokens_identity(as_root, tmp_path,
                                                                                         capsys):
    from shipyard.governance.audit import read_events
    from shipyard.store.runs import get_run

    spec = project(tmp_path / "project")
    assert main(["run", str(spec)]) == 0
    captured = capsys.readouterr()
    run_id = re.search(r"^run (\S+) succeeded in \d+\.\ds \(0/8 steps from cache\)$", captured.out, re.M).group(1)
    assert "registered model: churny version 1" in captured.out
    assert "not deployed (the spec has no deployment: section); to serve it: shipyard deploy churny 1" \
        in captured.out
    assert f"run {run_id} of churny: 8 steps" in captured.err and "  train: succeeded" in captured.err
    assert "  gate: succeeded" in captured.err and "churny v1 → staging" in captured.err
    record = get_run(run_id)
    assert record.started_by == "root"
    assert record.spec_path == str(spec)  # the server read the client's folder: data.csv resolved beside it

    assert main(["gate", "churny", "1"]) == 0
    assert "[pass] threshold" in capsys.readouterr().out

    assert main(["models", "override", "churny", "1", "--reason", "reviewed by hand"]) == 0
    assert capsys.readouterr().out == ("churny version 1: gates overridden, it is staging and may be deployed to "
                                       "production\n")
    assert main(["models", "promote", "churny", "1", "--actor", "alice"]) == 2
    err = capsys.readouterr().err
    assert "--actor alice differs from the identity your token authenticates (root)" in err
    assert read_events(model="churny")[-1].action != "promoted"  # refused: nothing changed
    assert main(["models", "promote", "churny", "1", "--to", "production", "--actor", "root",
                 "--reason", "looks good"]) == 0
    assert capsys.readouterr().out == "churny version 1 is now production\n"
    promoted = read_events(model="churny")[-1]
    assert (promoted.actor, promoted.authenticated, promoted.to_state) == ("root", True, "production")
    assert main(["models", "approve", "churny", "1"]) == 6  # only candidate or staging: refused, as in-process
    assert "error: refused: churny version 1 is production" in capsys.readouterr().err
    assert main(["models", "archive", "churny", "1"]) == 0
    assert capsys.readouterr().out == "churny version 1 archived\n"


def both_ways(argv, api_server, capsys, monkeypatch):
    local = main(argv), capsys.readouterr()
    monkeypatch.setenv("SHIPYARD_URL", api_server.url)
    monkeypatch.setenv("SHIPYARD_TOKEN", api_server.tokens["root"])
    remote = main(argv), capsys.readouterr()
    monkeypatch.delenv("SHIPYARD_URL")
    return local, remote


def test_a_run_that_fails_ends_with_the_same_exit_code_and_error_both_ways(api_server, tmp_path, capsys,
                                                                           monkeypatch):
    strict = SPEC.replace("promotion:", "expectations:\n  row_count: {min: 100000}\npromotion:")
    spec = project(tmp_path / "project", strict)
    local, remote = both_ways(["run", str(spec)], api_server, capsys, monkeypatch)
    assert local[0] == remote[0] == 3
    ids = [re.search(r"^run (\S+) failed", out.out, re.M).group(1) for _, out in (local, remote)]
    errors = [[line.replace(run_id, "RUN") for line in out.err.splitlines() if line.startswith(("error:", "resume"))]
              for run_id, (_, out) in zip(ids, (local, remote))]
    assert errors[0] == errors[1] and len(errors[0]) == 2


def test_a_run_of_missing_data_is_refused_before_it_starts_both_ways(api_server, tmp_path, capsys, monkeypatch):
    spec = project(tmp_path / "project", SPEC.replace("data.csv", "missing.csv"))
    local, remote = both_ways(["run", str(spec)], api_server, capsys, monkeypatch)
    assert local[0] == remote[0] == 3
    assert local[1] == remote[1] and "data file" in remote[1].err and "does not exist" in remote[1].err


def test_a_server_that_is_down_exits_as_a_backend_failure(config_home, shipyard_home, monkeypatch, capsys):
    url = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("SHIPYARD_URL", url)
    assert main(["runs", "list"]) == 5
    err = capsys.readouterr().err
    assert f"cannot reach the shipyard server at {url}" in err and "is `shipyard server` running?" in err


def test_a_credentials_file_others_may_read_stops_every_command(api_server, config_home, monkeypatch, capsys):
    from shipyard.client.credentials import store_token

    store_token(api_server.url, api_server.tokens["root"]).chmod(0o644)
    monkeypatch.setenv("SHIPYARD_URL", api_server.url)
    assert main(["audit", "verify"]) == 6
    assert "chmod 600" in capsys.readouterr().err


def test_without_shipyard_url_the_cli_does_not_load_the_http_client(shipyard_home, config_home):
    import subprocess
    import sys

    code = ("import sys; from shipyard.cli import main; main(['runs', 'list']); main(['audit', 'verify']); "
            "print(sorted(m for m in sys.modules if m.startswith(('httpx', 'shipyard.client'))))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "['shipyard.client', 'shipyard.client.remote']"
