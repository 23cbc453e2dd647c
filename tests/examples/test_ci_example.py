"""The CI example really gates a version, and its workflow calls it."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def test_workflow_runs_the_gate_script():
    workflow = yaml.safe_load((ROOT / "examples" / "ci" / "github-actions.yml").read_text())
    commands = [step.get("run", "") for step in workflow["jobs"]["gate"]["steps"]]
    assert "examples/ci/gate.sh examples/churn/pipeline.yaml" in commands


@pytest.mark.timeout(900)
def test_gate_script_passes_then_fails_a_gate(tmp_path, shipyard_home):
    sys.path.insert(0, str(ROOT / "examples" / "churn"))
    from generate import generate_churn

    text = (ROOT / "examples" / "churn" / "pipeline.yaml").read_text()  # a shorter sweep: the gates are the point
    text = text.replace("n_trials: 6", "n_trials: 2").replace("cv_folds: 3", "cv_folds: 2")
    (tmp_path / "pipeline.yaml").write_text(text)
    (tmp_path / "data").mkdir()
    generate_churn(n_rows=4000, seed=9).to_csv(tmp_path / "data" / "churn.csv", index=False)
    env = {**os.environ, "SHIPYARD_HOME": str(shipyard_home),
           "SHIPYARD": str(Path(sys.executable).parent / "shipyard")}
    script = str(ROOT / "examples" / "ci" / "gate.sh")
    passed = subprocess.run([script, str(tmp_path / "pipeline.yaml")], env=env, capture_output=True, text=True,
                            timeout=420)
    assert passed.returncode == 0, passed.stderr + passed.stdout
    assert "churn version 1: staging" in passed.stdout

    spec = (tmp_path / "pipeline.yaml").read_text().replace('"roc_auc >= 0.75"', '"roc_auc >= 0.99"')
    (tmp_path / "pipeline.yaml").write_text(spec)
    failed = subprocess.run([script, str(tmp_path / "pipeline.yaml")], env=env, capture_output=True, text=True,
                            timeout=420)
    assert failed.returncode != 0
    assert "roc_auc >= 0.99" in failed.stdout + failed.stderr
