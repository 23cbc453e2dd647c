"""Every example pipeline runs end to end through the CLI, then re-runs from cache."""

import json
import shutil
import sys
from pathlib import Path

import pytest

from shipyard.cli import main as shipyard

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
    assert code == 0
    assert third["cache_hits"] == 0
    assert str(third["registration"]["model_version"]) == "2"
    assert third["steps"][-1]["details"]["outcome"] == "churn v2 → rejected (beats champion v1 on roc_auc)"
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
