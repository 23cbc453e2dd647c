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
            outputs={"predict": np.where(rows.tenure < 10, 1, 0)}))
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
