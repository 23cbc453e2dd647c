"""Each gate kind on measured values: pass, fail, and the reason it gives."""

import numpy as np
import pandas as pd
import pytest

from shipyard.registry import gates as g
from shipyard.spec.promotion import ChampionGate, GatesSpec, PerformanceBudget, SliceGuard


def scored(overall, slices=None, n=500):
    return {"overall": overall, "slices": slices or {}, "n": n}


def test_threshold_rules():
    results = g.threshold_gates(["roc_auc >= 0.8", "log_loss <= 0.3", "f1 > 0.5"],
                                {"roc_auc": 0.85, "log_loss": 0.41, "f1": None})
    assert [r.passed for r in results] == [True, False, False]
    assert results[1].measured == 0.41 and results[1].threshold == 0.3
    assert "log_loss = 0.4100 fails <= 0.3" in results[1].reason
    assert "'f1' was not computed" in results[2].reason


def test_bad_threshold_rule_is_a_spec_error():
    with pytest.raises(ValueError, match="is not a threshold rule"):
        GatesSpec(thresholds=["auc is high"])


@pytest.mark.parametrize("candidate, champion, gate, passed", [
    (0.86, 0.85, ChampionGate(metric="roc_auc"), True),
    (0.84, 0.85, ChampionGate(metric="roc_auc"), False),
    (0.86, 0.85, ChampionGate(metric="roc_auc", min_delta=0.02), False),
    (0.90, 0.85, ChampionGate(metric="roc_auc", min_delta=0.05, relative=True), True),
    (10.0, 12.0, ChampionGate(metric="rmse", direction="minimize", min_delta=1.0), True),
    (11.5, 12.0, ChampionGate(metric="rmse", direction="minimize", min_delta=1.0), False),
])
def test_champion_challenger_margins(candidate, champion, gate, passed):
    result = g.champion_gate(gate, scored({gate.metric: candidate}), scored({gate.metric: champion}), "3")
    assert result.passed is passed
    assert result.measured["champion"] == champion
    assert "same 500 holdout rows" in result.reason


def test_champion_gate_without_a_champion_passes():
    result = g.champion_gate(ChampionGate(metric="roc_auc"), scored({"roc_auc": 0.6}), None, None)
    assert result.passed and "nothing to beat" in result.reason


def test_slice_guard_flags_only_regressing_slices_with_enough_rows():
    ours = scored({}, {"plan": {"basic": {"roc_auc": 0.70, "n": 200}, "premium": {"roc_auc": 0.90, "n": 200},
                                "tiny": {"roc_auc": 0.10, "n": 5}}})
    theirs = scored({}, {"plan": {"basic": {"roc_auc": 0.80, "n": 200}, "premium": {"roc_auc": 0.89, "n": 200},
                                  "tiny": {"roc_auc": 0.90, "n": 5}}})
    results = g.slice_gates(SliceGuard(metric="roc_auc", max_regression=0.05), ours, theirs)
    assert {r.name: r.passed for r in results} == {"plan=basic roc_auc": False, "plan=premium roc_auc": True}
    assert "regression +0.1000" in next(r for r in results if not r.passed).reason


def test_schema_contract_diff_names_every_column():
    contract = {"age": "long", "plan": "string", "charges": "double"}
    candidate = {"age": "double", "plan": "string", "region": "string"}
    result = g.schema_gate(candidate, contract, "production v1 signature")
    assert not result.passed
    assert result.measured == {"removed": ["charges"], "added": ["region"], "retyped": ["age"]}
    assert "- charges (double): removed" in result.reason and "~ age: long → double" in result.reason
    assert g.schema_gate(contract, dict(contract), "x").passed


def test_performance_budget_measures_a_real_model():
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=300), "b": rng.normal(size=300)})
    model = LogisticRegression().fit(frame, (frame["a"] > 0).astype(int))
    budget = PerformanceBudget(p99_ms_batch1=1000, p99_ms_batch100=1000, max_size_mb=0.000001, repeats=20)
    results = {r.name: r for r in g.performance_gates(budget, model, frame, size_bytes=5000, load_memory=None)}
    assert results["p99_ms_batch1"].passed and 0 < results["p99_ms_batch1"].measured < 1000
    assert not results["max_size_mb"].passed and results["max_size_mb"].measured == 0.005
