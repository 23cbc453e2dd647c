"""Every example pipeline runs end to end through the CLI, then re-runs from cache."""

import json
import shutil
import sys
from pathlib import Path

import pytest

from shipyard.cli import main as shipyard
from shipyard.errors import GateFailedError

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def _copy_example(name: str, tmp_path: Path) -> Path:
    target = tmp_path / name
    shutil.copytree(ROOT / "examples" / name, target, ignore=shutil.ignore_patterns("data", "__pycache__"))
    return target


def _json_run(args, capsys):
    code = shipyard(["run", *args, "--json"])
    out = capsys.readouterr().out
    return code, json.loads(out)


def test_churn_example_trains_registers_and_caches(tmp_path, shipyard_home, capsys, monkeypatch):
    folder = _copy_example("churn", tmp_path)
    monkeypatch.syspath_prepend(str(folder))
    from generate import generate_churn

    (folder / "data").mkdir()
    generate_churn(n_rows=6000, seed=1).to_csv(folder / "data" / "churn.csv", index=False)
    code, first = _json_run([str(folder / "pipeline.yaml")], capsys)
    assert code == 0, first["error"]
    assert [s["name"] for s in first["steps"]] == ["ingest", "validate", "split", "features", "sweep", "train",
                                                  "evaluate", "register", "gate"]
    assert first["metrics"]["overall"]["roc_auc"] > 0.7
    assert set(first["metrics"]["slices"]) == {"plan", "contract"}
    registration = first["registration"]
    assert registration["model_name"] == "churn" and str(registration["model_version"]) == "1"
    from shipyard.monitoring.references import load_profile

    profile, _, profile_digest = load_profile("churn", "1")
    assert registration["card_facts"]["reference_profile"] == profile_digest  # the model card names the profile
    assert {"age", "plan", "monthly_charges"} <= set(profile["features"]) and profile["prediction"]["kind"] == \
        "categorical"
    sweep = first["steps"][4]
    assert sweep["details"]["trials"] == 6
    assert first["steps"][-1]["details"]["outcome"] == "churn v1 → staging"
    assert first["steps"][-1]["details"]["deployment"] == "completed (deployment revision 1)"
    from shipyard.serving.deployments import get_deployment

    assert get_deployment("churn").stable_version == "1"  # the first version that passes its gates goes live

    code, second = _json_run([str(folder / "pipeline.yaml")], capsys)
    assert code == 0
    assert second["cache_hits"] == len(second["steps"])
    assert second["registration"]["model_version"] == registration["model_version"]

    # New bytes in the data file: everything downstream of ingest runs again.
    frame = generate_churn(n_rows=6000, seed=2)
    frame.to_csv(folder / "data" / "churn.csv", index=False)
    code, third = _json_run([str(folder / "pipeline.yaml")], capsys)
    assert code == GateFailedError.exit_code  # registered, but rejected: not a success
    assert third["status"] == "succeeded" and third["cache_hits"] == 0
    assert str(third["registration"]["model_version"]) == "2"
    assert third["steps"][-1]["details"]["outcome"].startswith(
        "churn v2 → rejected (did not beat champion v1 on roc_auc: ")
    deployment = get_deployment("churn")  # a rejected version starts no rollout
    assert {a.role: a.version for a in deployment.arms} == {"stable": "1"} and deployment.revision == 1

    assert shipyard(["lineage", "churn", "1", "--json"]) == 0
    lineage = json.loads(capsys.readouterr().out)
    assert lineage["pipeline_run"]["id"] == first["run_id"]
    assert lineage["split"]["train_digest"] == registration["data_digests"]["train"]
    assert lineage["validation"]["passed"] is not None

    assert shipyard(["runs", "show", first["run_id"][:6], "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["status"] == "succeeded" and len(shown["steps"]) == 9


def test_breast_cancer_example(tmp_path, shipyard_home, capsys):
    folder = _copy_example("breast_cancer", tmp_path)
    code = __import__("subprocess").run(
        [sys.executable, str(folder / "export.py"), "--out", str(folder / "data" / "breast_cancer.csv")]).returncode
    assert code == 0
    code, result = _json_run([str(folder / "pipeline.yaml")], capsys)
    assert code == 0, result["error"]
    assert result["metrics"]["overall"]["roc_auc"] > 0.95
    assert result["registration"]["model_name"] == "breast_cancer"


@pytest.mark.timeout(900)
def test_demo_closes_the_loop(tmp_path):
    """`make demo`'s script, in a copy of the example: train, serve, drift, alert, retrain, roll out, exit."""
    import os
    import subprocess

    from shipyard.config import load_settings
    from shipyard.governance.audit import read_events
    from shipyard.monitoring.alerts import list_alerts
    from shipyard.monitoring.runs import history
    from shipyard.registry.lifecycle import get_state
    from shipyard.serving.deployments import get_deployment
    from shipyard.store.db import reset_engines

    example = tmp_path / "churn"
    shutil.copytree(ROOT / "examples" / "churn", example, ignore=shutil.ignore_patterns("data", "__pycache__"))
    home = tmp_path / "home"
    env = {**os.environ, "SHIPYARD_HOME": str(home)}
    env.pop("SHIPYARD_DATABASE_URL", None)
    env.pop("MLFLOW_TRACKING_URI", None)
    done = subprocess.run([sys.executable, str(example / "demo.py")], env=env, capture_output=True, text=True,
                          timeout=840, cwd=tmp_path)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = done.stdout
    assert "gateway answered MLflow /invocations from version 1 (stable arm)" in out
    assert "drift of churn version 1: critical" in out and "HTML drift report:" in out
    assert "The platform API (shipyard server; here on http://127.0.0.1:" in out
    assert "GET /api/v1/models/churn: team growth, 2 versions, production v2, stable arm v2, drift critical" in out
    assert "GET /api/v1/models/churn/versions: v1 archived, v2 production" in out
    assert "Keep the model serving (Ctrl-C stops it): shipyard serve churn --port 8080" in out
    assert "shipyard server --port 8000 --no-auth" in out and "http://127.0.0.1:8000/deployments/churn" in out
    assert out.strip().splitlines()[-1] == "Dashboard: http://127.0.0.1:8000/"

    settings = load_settings({"SHIPYARD_HOME": str(home)})
    reset_engines()
    try:
        [report] = history("churn", settings=settings)
        features = report.report["features"]
        assert {"monthly_charges", "plan", "region"} <= set(report.report["drifted"])
        assert all(features[n]["severity"] == "ok" for n in ("age", "tenure_months", "contract"))
        [alert] = list_alerts("churn", settings=settings)
        assert alert.status == "delivered" or "port 8765 is taken" in out
        actions = [e.action for e in read_events(model="churn", settings=settings)]
        assert "retrain_triggered" in actions and "retrain_finished" in actions
        finished = [e for e in read_events(model="churn", settings=settings) if e.action == "retrain_finished"][-1]
        assert finished.details["report_id"] == report.id and finished.details["new_version"] == "2"
        assert get_deployment("churn", settings=settings).stable_version == "2"
        assert get_state("churn", "2", settings=settings).state == "production"
    finally:
        reset_engines()
