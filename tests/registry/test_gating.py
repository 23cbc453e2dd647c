"""Gates after registration, end to end: staging, champion/challenger rejection, refusals."""

import json
import sys
import textwrap
from pathlib import Path

import pytest

from shipyard.cli import main as shipyard
from shipyard.errors import GateFailedError, RefusedError
from shipyard.governance.audit import read_events
from shipyard.registry import lifecycle

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow

SPEC = textwrap.dedent("""\
    name: gated
    data:
      source: {type: csv, path: churn.csv}
      target: churned
    split: {method: stratified, holdout: 0.3, seed: 2}
    features:
      - columns: [age, tenure_months, monthly_charges, support_calls]
        transforms: [{kind: impute}, {kind: scale}]
      - columns: [plan, contract]
        transforms: [{kind: impute, strategy: most_frequent}, {kind: one_hot}]
    model:
      flavor: lightgbm
      estimator: LGBMClassifier
      params: {PARAMS}
    evaluation: {metrics: [roc_auc, log_loss], slices: [plan], explain: true}
    promotion:
      gates:
        thresholds: ["roc_auc >= 0.6"]
        champion: {metric: roc_auc, min_delta: 0.0}
        slices: {metric: roc_auc, max_regression: 0.2, min_rows: 50}
        performance: {p99_ms_batch1: 500, max_size_mb: 50, max_ratio_to_champion: 10, max_seconds: 1}
        schema: {}
""")
GOOD = "{n_estimators: 120, learning_rate: 0.05}"
WORSE = "{n_estimators: 2, num_leaves: 2, learning_rate: 0.01}"


@pytest.fixture
def project(tmp_path, shipyard_home):
    sys.path.insert(0, str(ROOT / "examples" / "churn"))
    from generate import generate_churn

    generate_churn(n_rows=3000, seed=4).to_csv(tmp_path / "churn.csv", index=False)
    return tmp_path


def run_with(project, params, capsys, *, code=0):
    capsys.readouterr()
    (project / "pipeline.yaml").write_text(SPEC.replace("{PARAMS}", params))
    exited = shipyard(["run", str(project / "pipeline.yaml"), "--json"])
    result = json.loads(capsys.readouterr().out)
    assert exited == code, result["error"]
    return result


def test_a_worse_challenger_is_rejected_by_the_champion_gate(project, capsys):
    first = run_with(project, GOOD, capsys)
    assert first["steps"][-1]["name"] == "gate"
    assert lifecycle.get_state("gated", 1).state == "staging"
    assert shipyard(["models", "promote", "gated", "1", "--to", "production"]) == 0

    run_with(project, WORSE, capsys, code=GateFailedError.exit_code)
    state = lifecycle.get_state("gated", 2)
    assert state.state == "rejected"
    assert "did not beat champion v1 on roc_auc: " in state.reason
    failed = [e for e in read_events(model="gated") if e.action == "gate_failed"][0]
    champion = next(r for r in failed.details["results"] if r["gate"] == "champion")
    assert champion["passed"] is False
    assert champion["measured"]["candidate"] < champion["measured"]["champion"]
    assert champion["details"]["rows"] == 900  # both scored on the candidate's 30% holdout
    timed = next(r for r in failed.details["results"] if r["details"].get("budget") == "max_ratio_to_champion")
    assert timed["passed"] and timed["details"]["champion_version"] == "1" and timed["details"]["champion_ms"] > 0
    assert timed["name"].startswith("p99 at batch 1 ") and "× champion v1's, within the allowed 10×" in timed["name"]

    capsys.readouterr()
    assert shipyard(["models", "compare", "gated", "1", "2", "--json"]) == 0
    compared = json.loads(capsys.readouterr().out)
    assert compared["state"] == ["production", "rejected"]
    assert compared["metrics"]["roc_auc"][0] > compared["metrics"]["roc_auc"][1]
    assert compared["params"]["model.n_estimators"] == ["120", "2"]
    assert compared["data"]["shipyard.data.holdout_digest"][0] == compared["data"]["shipyard.data.holdout_digest"][1]
    assert shipyard(["gate", "gated", "2"]) == GateFailedError.exit_code
    captured = capsys.readouterr()
    assert "[FAIL] champion     did not beat champion v1 on roc_auc" in captured.out
    assert "error: gate failed: gated version 2 failed champion" in captured.err
    assert shipyard(["gate", "gated", "1"]) == RefusedError.exit_code != GateFailedError.exit_code
    assert "is production; only candidate or staging versions are gated" in capsys.readouterr().err


def _the_linked_shap_values_are_stored(importance_section: str) -> None:
    import io
    import re

    import pandas as pd

    from shipyard.config import load_settings
    from shipyard.pipeline.artifacts import open_artifact_store, sha256_bytes

    digest = re.search(r"\| SHAP values \| \S+ \(Parquet, (\d+) rows, sha256 ([0-9a-f]{64})\) \|",
                       importance_section)
    assert digest, importance_section
    data = open_artifact_store(load_settings()).get(digest.group(2))
    assert sha256_bytes(data) == digest.group(2)
    values = pd.read_parquet(io.BytesIO(data))
    assert len(values) == int(digest.group(1)) and "slice[plan]" in values.columns and "shap[age]" in values.columns


def test_on_demand_gate_and_missing_holdout(project, capsys):
    run_with(project, GOOD, capsys)
    capsys.readouterr()
    assert shipyard(["gate", "gated", "1", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["passed"] and {r["gate"] for r in report["results"]} >= {"threshold", "champion", "schema",
                                                                          "performance"}
    assert shipyard(["models", "verify", "gated", "1"]) == 0
    assert "model card (Markdown and HTML) matches its recorded digests" in capsys.readouterr().out
    card = [r for r in report["results"] if r["gate"] == "card"][0]
    assert card["passed"]
    timed = next(r for r in report["results"] if r["details"].get("budget") == "max_ratio_to_champion")
    assert timed["passed"] and timed["reason"] == "no version is in production yet: nothing to compare with"
    import mlflow

    from shipyard.registry.cards import card_record

    record = card_record("gated", "1")
    text = mlflow.artifacts.load_text(f"runs:/{record.mlflow_run_id}/model_card/model_card.md")
    assert "## Promotion gates" in text and "meets the threshold ≥ 0.6" in text
    importance = text.split("## Feature importance (mean |SHAP|)")[1].split("## ")[0]  # LightGBM: by its trees
    assert "| explainer | shap.TreeExplainer on " in importance and " holdout rows |" in importance
    per_slice = text.split("## Top features per slice (mean |SHAP|)")[1].split("## ")[0]
    assert per_slice.count("| plan=") >= 2
    _the_linked_shap_values_are_stored(importance)
    assert "p99_ms_batch1 " in text and "within the 500 ms budget" in text and "90% CI" in text  # spread on the card

    from shipyard.config import load_settings
    from shipyard.store import runs as store

    run = store.list_runs(pipeline="gated")[0]
    holdout = next(s for s in store.get_run(run.id).steps if s.name == "split").outputs["holdout"]["digest"]
    path = load_settings().artifact_root / "sha256" / holdout[:2] / holdout
    path.unlink()
    assert shipyard(["gate", "gated", "1"]) == 6
    assert "holdout data of gated version 1 is missing" in capsys.readouterr().err
    assert lifecycle.get_state("gated", 1).state == "staging"


def test_rollback_that_would_break_serving_is_refused_unless_forced(project, capsys):
    run_with(project, GOOD, capsys)
    assert shipyard(["models", "promote", "gated", "1", "--to", "production"]) == 0
    narrower = (SPEC.replace("monthly_charges, support_calls]", "monthly_charges]")
                .replace("    champion: {metric: roc_auc, min_delta: 0.0}\n", "")
                .replace("    slices: {metric: roc_auc, max_regression: 0.2, min_rows: 50}\n", "")
                .replace("    schema: {}\n", ""))
    capsys.readouterr()
    (project / "pipeline.yaml").write_text(narrower.replace("{PARAMS}", GOOD))
    assert shipyard(["run", str(project / "pipeline.yaml")]) == 0
    assert "not deployed (the spec has no deployment: section); to serve it: shipyard deploy gated 2" in \
        capsys.readouterr().out
    assert lifecycle.get_state("gated", 2).state == "staging"
    assert shipyard(["models", "promote", "gated", "2", "--to", "production"]) == 0
    capsys.readouterr()

    assert shipyard(["models", "rollback", "gated", "--reason", "latency"]) == 6
    err = capsys.readouterr().err
    assert "would break serving" in err and "missing column support_calls" in err
    assert lifecycle.production_version("gated") == "2"

    assert shipyard(["models", "rollback", "gated", "--reason", "latency; callers restored", "--force"]) == 0
    assert lifecycle.production_version("gated") == "1"
    event = [e for e in read_events(model="gated") if e.action == "rollback_promoted"][-1]
    assert event.details["forced"] is True and event.details["compatibility"]["missing"] == ["support_calls"]
    assert event.reason == "latency; callers restored"


REGRESSION_SPEC = textwrap.dedent("""\
    name: prices
    data:
      source: {type: csv, path: prices.csv}
      target: price
    split: {method: random, holdout: 0.3, seed: 2}
    features:
      - columns: [area, rooms]
        transforms: [{kind: scale}]
      - columns: [region]
        transforms: [{kind: one_hot}]
    model: {flavor: sklearn, estimator: Ridge, params: {PARAMS}}
    evaluation: {slices: [region]}
    promotion:
      gates:
        thresholds: ["rmse <= 1000"]
        champion: {metric: rmse}
        slices: {metric: rmse, max_regression: 1.0, min_rows: 20}
""")


def test_a_candidate_with_worse_rmse_is_rejected_by_the_champion_gate(tmp_path, shipyard_home, capsys):
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(3)
    n = 600
    region = rng.choice(["north", "south", "east"], size=n)
    frame = pd.DataFrame({"area": rng.uniform(30, 200, size=n), "rooms": rng.integers(1, 6, size=n),
                          "region": region})
    frame["price"] = (2 * frame["area"] + 15 * frame["rooms"] + np.where(region == "north", 40, 0)
                      + rng.normal(scale=10, size=n))
    frame.to_csv(tmp_path / "prices.csv", index=False)

    def run(params, expected=0):
        capsys.readouterr()
        (tmp_path / "pipeline.yaml").write_text(REGRESSION_SPEC.replace("{PARAMS}", params))
        code = shipyard(["run", str(tmp_path / "pipeline.yaml"), "--json"])
        assert code == expected, capsys.readouterr()

    run("{alpha: 1.0}")
    assert lifecycle.get_state("prices", 1).state == "staging"
    assert shipyard(["models", "promote", "prices", "1", "--to", "production"]) == 0

    run("{alpha: 300.0}", expected=GateFailedError.exit_code)
    state = lifecycle.get_state("prices", 2)
    assert state.state == "rejected"
    assert "did not beat champion v1 on rmse: " in state.reason
    failed = [e for e in read_events(model="prices") if e.action == "gate_failed"][0]
    results = failed.details["results"]
    champion = next(r for r in results if r["gate"] == "champion")
    assert champion["measured"]["candidate"] > champion["measured"]["champion"]  # higher rmse: worse
    assert champion["details"]["direction"] == "minimize" and champion["measured"]["improvement"] < 0
    theirs = f"{champion['measured']['champion']:.2f}"
    assert champion["name"].endswith(f" vs {theirs}, needs ≤ {theirs}")
    regressed = [r for r in results if r["gate"] == "slice" and not r["passed"]]
    assert regressed and all(r["measured"]["candidate"] > r["measured"]["champion"] for r in regressed)
    assert "regressed on rmse" in regressed[0]["name"]

    capsys.readouterr()
    assert shipyard(["models", "compare", "prices", "1", "2", "--json"]) == 0
    compared = json.loads(capsys.readouterr().out)
    assert compared["directions"]["rmse"] == "minimize" and compared["directions"]["r2"] == "maximize"
    assert compared["better"]["rmse"] == "1" and compared["better"]["r2"] == "1"
    assert shipyard(["models", "compare", "prices", "1", "2"]) == 0
    table = capsys.readouterr().out
    assert "metrics: rmse ↓" in table and "↓ lower is better" in table
    assert "✓" in next(line for line in table.splitlines() if "metrics: rmse ↓" in line)


def test_a_gate_on_a_changed_card_records_a_failed_card_gate(project, capsys):
    from mlflow.tracking import MlflowClient

    from shipyard.config import load_settings
    from shipyard.registry.cards import card_record
    from shipyard.tracking.setup import configure_mlflow

    run_with(project, GOOD, capsys)
    configure_mlflow(load_settings())
    record = card_record("gated", "1")
    folder = Path(MlflowClient().get_run(record.mlflow_run_id).info.artifact_uri.replace("file://", ""))
    card = folder / "model_card" / "model_card.md"
    card.write_text(card.read_text().replace("gated", "trusted"))
    capsys.readouterr()
    assert shipyard(["gate", "gated", "1"]) == GateFailedError.exit_code
    captured = capsys.readouterr()
    assert "[FAIL] card" in captured.out and "card tampered: " in captured.out
    assert "gated version 1: rejected" in captured.out
    state = lifecycle.get_state("gated", 1)
    assert state.state == "rejected" and "card tampered" in state.reason
    failed = [e for e in read_events(model="gated") if e.action == "gate_failed"][-1]
    assert [r["gate"] for r in failed.details["results"]] == ["card"]
    assert failed.details["results"][0]["details"]["tampered"] is True
