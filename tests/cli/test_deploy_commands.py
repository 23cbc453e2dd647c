"""`shipyard deploy`, `shipyard traffic show | set` and `shipyard rollback` on a real registry and store."""

import json

import pytest
from mlflow.tracking import MlflowClient

from shipyard.cli import main as shipyard
from shipyard.config import load_settings
from shipyard.registry import lifecycle
from shipyard.serving.deployments import find_deployment
from shipyard.tracking.setup import configure_mlflow
from signed_model import signed_model_folder
from lifecycle_moves import move
from twin_stores import twins  # noqa: F401  (fixture)


@pytest.fixture
def three_versions(shipyard_home, tmp_path, monkeypatch):
    """1 in production, 2 and 3 in staging."""
    monkeypatch.setenv("SHIPYARD_ACTOR", "tester")
    configure_mlflow(load_settings())
    client = MlflowClient()
    client.create_registered_model("churn")
    for _ in range(3):
        version = client.create_model_version("churn", source=signed_model_folder(tmp_path / "m")).version
        lifecycle.register_candidate("churn", version, actor="pipeline")
    for version, path in (("1", ("staging", "production")), ("2", ("staging",)), ("3", ("staging",))):
        for state in path:
            move("churn", version, state)


def test_deploy_set_show_and_roll_back(three_versions, capsys):
    assert shipyard(["traffic", "show"]) == 0
    assert "nothing is deployed yet" in capsys.readouterr().out
    assert shipyard(["deploy", "churn", "1"]) == 0
    assert "stable  version 1     100% of traffic" in capsys.readouterr().out
    assert shipyard(["deploy", "churn", "2", "--strategy", "canary", "--weight", "20"]) == 0
    out = capsys.readouterr().out
    assert "stable  version 1     80% of traffic" in out and "canary  version 2     20% of traffic" in out
    assert shipyard(["traffic", "set", "churn", "--shadow", "3", "--canary", "2:35"]) == 0
    out = capsys.readouterr().out
    assert "canary  version 2     35% of traffic" in out and "shadow  version 3     mirrors 100%" in out
    assert shipyard(["traffic", "show", "churn", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown[0]["revision"] == 3 and shown[0]["updated_by"] == "tester"
    assert shipyard(["rollback", "churn", "--reason", "conversion dropped"]) == 0
    out = capsys.readouterr().out
    assert "canary" not in out and "stable  version 1" in out
    assert lifecycle.get_state("churn", "2").state == "rolled_back"
    assert shipyard(["audit", "verify"]) == 0


def test_bad_input_exits_non_zero_and_changes_nothing(three_versions, capsys):
    assert shipyard(["deploy", "churn", "2", "--strategy", "canary"]) == 6
    assert "no stable version deployed" in capsys.readouterr().err
    assert shipyard(["deploy", "churn", "1"]) == 0
    before = find_deployment("churn")
    capsys.readouterr()
    for argv, code, needle in [
        (["deploy", "churn", "2", "--strategy", "canary", "--weight", "ten"], 2, "not a percentage"),
        (["deploy", "churn", "2", "--strategy", "canary", "--weight", "150"], 2, "not between 0 and 100"),
        (["deploy", "churn", "2", "--strategy", "sideways"], 2, "not a deployment strategy"),
        (["deploy", "churn", "2", "--strategy", "ab"], 6, "needs a routing key"),
        (["traffic", "set", "churn", "--canary", "two"], 2, "VERSION[:PERCENT]"),
        (["traffic", "set", "churn"], 2, "nothing to change"),
        (["traffic", "show", "fraud"], 8, "not deployed"),
        (["rollback", "churn", "--reason", "x"], 6, "no earlier production version"),
        (["deploy", "churn", "2", "--strategy", "rollout", "--spec", "missing.yaml"], 2, "missing.yaml"),
    ]:
        assert shipyard(argv) == code, argv
        assert needle in capsys.readouterr().err, argv
    assert find_deployment("churn") == before


def test_rollback_in_a_fresh_process_checks_the_serving_contract_in_the_configured_store(three_versions, tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    import shipyard as package
    from shipyard.governance.audit import read_events

    assert shipyard(["deploy", "churn", "1"]) == 0 and shipyard(["deploy", "churn", "2"]) == 0
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {name: value for name, value in os.environ.items() if not name.startswith("MLFLOW_")}  # a fresh shell
    env = {**env, "PYTHONPATH": str(Path(package.__file__).resolve().parents[1])}
    done = subprocess.run([sys.executable, "-m", "shipyard", "rollback", "churn", "--reason", "slow"], cwd=elsewhere,
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    restored = [e for e in read_events(model="churn") if e.action == "rollback_promoted"][-1]
    assert restored.version == "1" and restored.details["compatibility"]["checked"] is True
    assert sorted(p.name for p in elsewhere.iterdir()) == []


def test_a_rollback_whose_contract_check_cannot_run_exits_non_zero_unless_forced(three_versions, tmp_path, capsys):
    assert shipyard(["deploy", "churn", "1"]) == 0 and shipyard(["deploy", "churn", "2"]) == 0
    (tmp_path / "m" / "MLmodel").unlink()
    capsys.readouterr()
    assert shipyard(["rollback", "churn", "--reason", "slow"]) == 6
    assert "compatibility not checked" in capsys.readouterr().err
    assert find_deployment("churn").stable_version == "2" and lifecycle.production_version("churn") == "2"
    assert shipyard(["rollback", "churn", "--reason", "slow", "--force"]) == 0
    assert find_deployment("churn").stable_version == "1" and lifecycle.production_version("churn") == "1"


SPEC_WITH_ROLLOUT = """\
name: churn
data: {source: {type: csv, path: data.csv}, target: y}
features: [{columns: [tenure], transforms: [{kind: scale}]}]
model: {flavor: sklearn, estimator: LogisticRegression}
deployment:
  shadow: {duration_s: 30, min_requests: 10}
  canary: {steps: [10, 50, 100], min_dwell_s: 5, min_requests: 20}
  slo: {max_error_rate: 0.02, min_requests: 10}
"""


def test_the_deployment_commands_say_the_same_in_process_and_through_a_server(twins, tmp_path):
    from twin_stores import ACTOR

    def seed():
        configure_mlflow(load_settings())
        client = MlflowClient()
        client.create_registered_model("churn")
        for _ in range(3):
            version = client.create_model_version("churn", source=signed_model_folder(tmp_path / "m")).version
            lifecycle.register_candidate("churn", version, actor="pipeline")
        for version, path in (("1", ("staging", "production")), ("2", ("staging",)), ("3", ("staging",))):
            for state in path:
                move("churn", version, state)

    both = twins(seed)
    both.same(["traffic", "show"])
    both.same(["deploy", "churn", "2", "--strategy", "canary"], code=6, err="no stable version deployed")
    deployed, _ = both.same(["deploy", "churn", "1", "--reason", "first"])
    assert "stable  version 1     100% of traffic" in deployed.out and f"by {ACTOR})" in deployed.out
    rollout = tmp_path / "rollout.yaml"
    rollout.write_text(SPEC_WITH_ROLLOUT)
    started, _ = both.same(["deploy", "churn", "3", "--strategy", "rollout", "--spec", str(rollout)])
    assert "rollout of version 3: shadow" in started.out
    both.same(["traffic", "show", "churn", "--json"])
    set_, _ = both.same(["traffic", "set", "churn", "--shadow", "3", "--canary", "2:35"])
    assert "canary  version 2     35% of traffic" in set_.out and "shadow  version 3     mirrors 100%" in set_.out
    assert "rollout of version 3: cancelled" in set_.out
    both.same(["traffic", "set", "churn", "--shadow", "none", "--ab", "3:10", "--routing-key", "header:x-user"])
    record_load_failure_in_both("churn", "3", served=both)
    shown, _ = both.same(["traffic", "show"])
    assert "NOT LOADED" in shown.out and "not loaded on gw-1" in shown.out
    listed, _ = both.same(["traffic", "show", "churn", "--json"])
    assert json.loads(listed.out)[0]["load_failures"][0]["reason"] == "no such file"
    both.same(["rollback", "churn", "--reason", "conversion dropped"])
    both.same(["traffic", "show", "churn", "--json"])

    for argv, code, needle in [
        (["deploy", "churn", "2", "--strategy", "canary", "--weight", "ten"], 2, "not a percentage"),
        (["deploy", "churn", "2", "--strategy", "sideways"], 2, "strategy"),
        (["deploy", "churn", "2", "--strategy", "ab"], 6, "cannot be the ab arm"),
        (["traffic", "set", "churn", "--canary", "two"], 2, "VERSION[:PERCENT]"),
        (["traffic", "set", "churn"], 2, "nothing to change"),
        (["traffic", "show", "fraud"], 8, "not deployed"),
        (["rollback", "churn", "--reason", "x"], 6, "no earlier production version"),
    ]:
        local, remote = both.same(argv, code=code, err=needle)
        assert remote.err.splitlines()[0] == local.err.splitlines()[0] or code == 2, (argv, local.err, remote.err)
    before = both.run(["traffic", "show", "churn", "--json"], remote=True).out
    impostor = both.run(["traffic", "set", "churn", "--canary", "1:5", "--actor", "mallory"], remote=True)
    assert impostor.code == 2 and "differs from the identity your token authenticates (tester)" in impostor.err
    assert both.run(["traffic", "show", "churn", "--json"], remote=True).out == before


def test_a_forced_rollback_through_a_server_skips_the_contract_check_as_in_process(twins, tmp_path):
    def seed():
        configure_mlflow(load_settings())
        client = MlflowClient()
        client.create_registered_model("churn")
        for _ in range(2):
            version = client.create_model_version("churn", source=signed_model_folder(tmp_path / "m")).version
            lifecycle.register_candidate("churn", version, actor="pipeline")
            move("churn", version, "staging")
        assert shipyard(["deploy", "churn", "1"]) == 0 and shipyard(["deploy", "churn", "2"]) == 0

    both = twins(seed)
    (tmp_path / "m" / "MLmodel").unlink()
    both.same(["rollback", "churn", "--reason", "slow"], code=6, err="compatibility not checked")
    restored, _ = both.same(["rollback", "churn", "--reason", "slow", "--force"])
    assert "stable  version 1" in restored.out


def record_load_failure_in_both(model: str, version: str, *, served) -> None:
    import os

    from shipyard.serving.load_failures import record_load_failure

    record_load_failure(model, version, gateway="gw-1", reason="no such file")
    served_home = load_settings({**os.environ, "SHIPYARD_HOME": os.environ["SHIPYARD_HOME"].replace(
        "in-process", "served")})
    record_load_failure(model, version, gateway="gw-1", reason="no such file", settings=served_home)
