"""The drift gate on real prediction logs (the gateway's writer) and real reference profiles."""

import json
import time

import numpy as np
import pandas as pd
import pytest

from shipyard.config import load_settings
from shipyard.monitoring.profile import build_profile
from shipyard.monitoring.references import save_profile
from shipyard.registry.gates_drift import drift_gate, table_lines
from shipyard.serving.prediction_log import PredictionLogWriter, PredictionRecord
from shipyard.spec.monitoring import MonitoringSpec
from shipyard.spec.promotion import DriftGate


def _traffic(n, seed, shift=0.0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"tenure": rng.exponential(20 + 30 * shift, n).round(),
                         "monthly": rng.normal(60 + 25 * shift, 9, n),
                         "calls": rng.poisson(2, n).astype(float),
                         "plan": rng.choice(["basic", "plus", "pro"], n)})


def log_traffic(settings, model, frame, *, at, arm="stable", version="1", batch=500):
    writer = PredictionLogWriter(settings.prediction_log_root)
    writer.start()
    for start in range(0, len(frame), batch):
        rows = frame.iloc[start:start + batch]
        writer.offer(PredictionRecord(
            request_id=f"{arm}-{at:.0f}-{start}", timestamp=at + start / len(frame), model=model, version=version,
            arm=arm, protocol="mlflow", latency_ms=1.0, features={c: rows[c].tolist() for c in rows.columns},
            outputs={"predict": np.zeros(len(rows), dtype="int64")}))
    writer.close()


@pytest.fixture
def candidate(shipyard_home):
    settings = load_settings()
    reference = _traffic(20_000, 0)
    profile = build_profile(reference, np.where(reference.tenure < 10, 1, 0), task="classification")
    save_profile("churn", "2", profile, MonitoringSpec(), settings=settings)
    return settings


def test_no_production_traffic_skips_the_gate_with_its_reason(candidate):
    result = drift_gate(DriftGate(), "churn", "2", settings=candidate)
    assert result.passed and result.details["skipped"] and result.details["rows"] == 0
    assert result.name == "skipped: no production traffic to compare with in the last 7 d"
    assert "no production traffic was logged for churn in the last 7 d (a first version has none yet)" \
        == result.reason
    log_traffic(candidate, "churn", _traffic(40, 1), at=time.time() - 60)
    few = drift_gate(DriftGate(), "churn", "2", settings=candidate)
    assert few.passed and few.details["skipped"] and "only 40 production prediction(s)" in few.reason


def test_traffic_like_the_training_data_passes(candidate):
    log_traffic(candidate, "churn", _traffic(3_000, 2), at=time.time() - 3600)
    result = drift_gate(DriftGate(), "churn", "2", settings=candidate)
    assert result.passed and not result.details["skipped"] and result.measured == 0.0
    assert result.details["rows"] == 3_000
    assert {row["feature"] for row in result.details["features"]} == {"tenure", "monthly", "calls", "plan"}
    assert result.name == "dataset drift 0.00 within the 0.2 threshold against 7 d of production traffic"


def test_drifted_traffic_fails_with_the_feature_table(candidate):
    now = time.time()
    log_traffic(candidate, "churn", _traffic(3_000, 3, shift=0.8), at=now - 2 * 86400)
    log_traffic(candidate, "churn", _traffic(3_000, 4), at=now - 9 * 86400)  # older than the window
    result = drift_gate(DriftGate(), "churn", "2", settings=candidate)
    assert not result.passed and result.measured == 0.5 and result.threshold == 0.2
    assert result.details["rows"] == 3_000
    table = {row["feature"]: row for row in result.details["features"]}
    assert table["tenure"]["severity"] == table["monthly"]["severity"] == "critical"
    assert table["plan"]["severity"] == table["calls"]["severity"] == "ok"
    assert table["monthly"]["psi"] > 0.25 and table["monthly"]["distance"] == "wasserstein"
    assert table["plan"]["distance"] == "jensen_shannon"
    assert [row["feature"] for row in result.details["features"]][:2] in (["tenure", "monthly"],
                                                                           ["monthly", "tenure"])
    assert result.name == "dataset drift 0.50 above the 0.2 threshold against 7 d of production traffic"
    assert "2 of 4 features drifted between the training data and 3000 production rows" in result.reason
    lines = dict(table_lines(result.to_dict()))
    assert lines["monthly"].startswith("critical, numeric, PSI ") and "wasserstein" in lines["monthly"]
    json.dumps(result.to_dict())  # stored as an audit event's details
    assert drift_gate(DriftGate(threshold=0.6), "churn", "2", settings=candidate).passed
    assert drift_gate(DriftGate(window="1d"), "churn", "2", settings=candidate).details["skipped"]


def test_mirrored_shadow_traffic_is_not_production_traffic(candidate):
    log_traffic(candidate, "churn", _traffic(3_000, 5, shift=0.8), at=time.time() - 60, arm="shadow")
    result = drift_gate(DriftGate(), "churn", "2", settings=candidate)
    assert result.passed and result.details["skipped"]


def test_a_version_without_a_reference_profile_fails(candidate):
    log_traffic(candidate, "churn", _traffic(3_000, 6), at=time.time() - 60)
    result = drift_gate(DriftGate(), "churn", "7", settings=candidate)
    assert not result.passed and "churn version 7 has no reference profile" in result.reason


PIPELINE = """\
name: watched
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
  flavor: sklearn
  estimator: LogisticRegression
  params: {C: PARAM, max_iter: 300}
evaluation: {metrics: [roc_auc]}
promotion:
  gates:
    thresholds: ["roc_auc >= 0.5"]
  drift: {threshold: 0.2, window: 7d}
"""


@pytest.mark.slow
def test_drifted_production_traffic_rejects_the_next_candidate(tmp_path, shipyard_home, capsys):
    import sys
    from pathlib import Path

    from shipyard.cli import main as shipyard
    from shipyard.errors import GateFailedError
    from shipyard.governance.audit import read_events
    from shipyard.registry import lifecycle
    from shipyard.registry.cards import read_card

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples" / "churn"))
    from generate import generate_churn

    generate_churn(n_rows=2000, seed=4).to_csv(tmp_path / "churn.csv", index=False)
    (tmp_path / "pipeline.yaml").write_text(PIPELINE.replace("PARAM", "1.0"))
    assert shipyard(["run", str(tmp_path / "pipeline.yaml")]) == 0
    first = [r for r in read_events(model="watched") if r.action == "gate_passed"][-1].details["results"]
    drift = next(r for r in first if r["gate"] == "drift")
    assert drift["passed"] and drift["details"]["skipped"]  # a first version: no traffic yet
    card = read_card("watched", "1")[1]
    assert "## Drift against production traffic\n\nno production traffic was logged for watched" in card
    assert shipyard(["deploy", "watched", "1"]) == 0

    live = generate_churn(n_rows=3000, seed=5, shift=1.0)
    inputs = ["age", "tenure_months", "monthly_charges", "support_calls", "plan", "contract"]
    log_traffic(load_settings(), "watched", live[inputs], at=time.time() - 3600)
    (tmp_path / "pipeline.yaml").write_text(PIPELINE.replace("PARAM", "0.5"))
    capsys.readouterr()
    assert shipyard(["run", str(tmp_path / "pipeline.yaml")]) == GateFailedError.exit_code
    state = lifecycle.get_state("watched", "2")
    assert state.state == "rejected" and "dataset drift" in state.reason and "above the 0.2 threshold" in state.reason
    failed = [e for e in read_events(model="watched") if e.action == "gate_failed"][-1]
    drift = next(r for r in failed.details["results"] if r["gate"] == "drift")
    assert not drift["passed"] and drift["measured"] > 0.2 and drift["details"]["rows"] == 3000
    table = {row["feature"]: row for row in drift["details"]["features"]}
    assert set(table) == {"age", "tenure_months", "monthly_charges", "support_calls", "plan", "contract"}
    assert table["monthly_charges"]["severity"] != "ok"
    card = read_card("watched", "2")[1]
    assert "| FAIL drift: dataset drift " in card and "## Drift against production traffic" in card
    assert "| monthly_charges | " in card
