"""Live drift: the prediction-log writer feeds binned counts; /metrics exports one PSI per feature."""

import time

import numpy as np
import pytest
from prometheus_client import generate_latest

from shipyard.config import load_settings
from shipyard.monitoring.live import LiveDrift
from shipyard.monitoring.profile import build_profile
from shipyard.monitoring.references import save_profile
from shipyard.serving.metrics import GatewayMetrics
from shipyard.serving.prediction_log import PredictionLogWriter, PredictionRecord
from shipyard.spec.monitoring import MonitoringSpec

from .test_runs import _traffic


def _records(frame, version="1", batch=20):
    return [PredictionRecord(request_id=f"r{i}", timestamp=time.time(), model="churn", version=version, arm="stable",
                             protocol="v2", latency_ms=1.0,
                             features={c: frame[c].iloc[i:i + batch].tolist() for c in frame.columns},
                             outputs={"predict": np.zeros(len(frame.iloc[i:i + batch]), dtype=int)})
            for i in range(0, len(frame), batch)]


@pytest.fixture
def settings(shipyard_home):
    settings = load_settings()
    reference = _traffic(20_000, 0)
    profile = build_profile(reference, np.zeros(len(reference), dtype=int), task="classification")
    save_profile("churn", "1", profile, MonitoringSpec(min_rows=500), settings=settings)
    return settings


def test_psi_per_feature_separates_shifted_from_steady_traffic(settings):
    steady, shifted = LiveDrift(settings), LiveDrift(settings)
    for record in _records(_traffic(3_000, 1)):
        steady.observe([record])
    shifted.observe(_records(_traffic(3_000, 2, shift=0.8)))
    calm = {feature: value for _, _, feature, value, _ in steady.snapshot()}
    moved = {feature: value for _, _, feature, value, _ in shifted.snapshot()}
    assert set(calm) == {"tenure", "monthly", "plan"} and max(calm.values()) < 0.05
    assert moved["monthly"] > 0.25 and moved["tenure"] > 0.1 and moved["plan"] < 0.05


def test_too_few_rows_or_no_profile_exports_nothing(settings):
    live = LiveDrift(settings)
    live.observe(_records(_traffic(400, 3)))  # below min_rows (500)
    live.observe(_records(_traffic(2_000, 3), version="7"))  # version 7 has no profile
    assert live.snapshot() == []


def test_old_buckets_expire(settings):
    live = LiveDrift(settings, window_s=0.4, buckets=2)
    live.observe(_records(_traffic(1_000, 4)))
    assert live.snapshot()
    time.sleep(0.5)
    assert live.snapshot() == []


def test_the_writer_feeds_it_and_metrics_export_it(settings, tmp_path):
    live = LiveDrift(settings)
    writer = PredictionLogWriter(tmp_path / "log", observers=[live.observe], flush_interval_s=0.05)
    writer.start()
    for record in _records(_traffic(2_000, 5, shift=0.8)):
        writer.offer(record)
    writer.flush()
    writer.close()
    metrics = GatewayMetrics()
    metrics.watch_live_drift(live)
    text = generate_latest(metrics.registry).decode()
    assert 'shipyard_feature_psi{feature="monthly",model="churn",version="1"}' in text
    assert 'shipyard_feature_drift_rows{model="churn",version="1"} 2000.0' in text


@pytest.mark.parametrize("reference_other", [0, 40])
def test_live_and_batch_psi_bin_unseen_categories_by_one_rule(shipyard_home, reference_other):
    """With and without an "other" bucket in the reference, the gateway's PSI is the drift report's PSI."""
    import pandas as pd

    from shipyard.monitoring.drift import categorical_drift

    settings = load_settings()
    spec = MonitoringSpec(min_rows=10)
    plan = {"kind": "categorical", "n": 400 + reference_other, "null_rate": 0.0, "categories": ["basic", "pro", "max"],
            "counts": [250, 100, 50], "other": reference_other}
    save_profile("churn", "1", {"features": {"plan": plan}}, spec, settings=settings)
    current = pd.Series(["basic"] * 120 + ["pro"] * 40 + ["max"] * 10 + ["enterprise"] * 30 + [None] * 5,
                        dtype=object)
    live = LiveDrift(settings)
    live.observe([PredictionRecord(request_id="r", timestamp=time.time(), model="churn", version="1", arm="stable",
                                   protocol="v2", latency_ms=1.0, features={"plan": current.tolist()},
                                   outputs={"predict": np.zeros(len(current), dtype=int)})])
    [(_, _, _, live_psi, _)] = live.snapshot()
    batch = categorical_drift(plan, current, spec)
    assert live_psi == pytest.approx(batch["psi"], rel=1e-9)


def test_counts_since_a_time_add_up_across_gateways_to_the_psi_of_all_the_traffic(settings):
    from shipyard.monitoring.live import feature_psi
    from shipyard.monitoring.references import load_profile

    traffic = _records(_traffic(3_000, 5, shift=0.8))
    gateways = [LiveDrift(settings), LiveDrift(settings)]
    for i, record in enumerate(traffic):
        gateways[i % 2].observe([record])
    whole = LiveDrift(settings)
    whole.observe(traffic)
    parts = [g.binned_since("churn", "1", time.time() - 60) for g in gateways]
    summed = {name: np.add(parts[0][name], parts[1][name]) for name in parts[0]}
    assert all(sum(counts) < 3_000 for part in parts for counts in part.values())
    assert {name: sum(counts) for name, counts in summed.items()} == {"tenure": 3_000, "monthly": 3_000, "plan": 3_000}
    features = load_profile("churn", "1", settings=settings)[0]["features"]
    expected = {feature: value for _, _, feature, value, _ in whole.snapshot()}
    assert {name: feature_psi(features[name], counts) for name, counts in summed.items()} == pytest.approx(expected)
    assert expected["monthly"] > 0.25
    assert gateways[0].binned_since("churn", "7", 0) == {}  # no profile: nothing to publish


def test_counts_since_leave_out_older_buckets(settings):
    live = LiveDrift(settings, window_s=0.6, buckets=3)
    live.observe(_records(_traffic(600, 6)))
    assert sum(live.binned_since("churn", "1", time.time() - 0.6)["monthly"]) == 600
    time.sleep(0.45)  # at least two buckets later
    assert sum(live.binned_since("churn", "1", time.time())["monthly"]) == 0


@pytest.mark.parametrize("values", [
    ["basic", "premium", None, "basic", "", "premium", "basic"],  # what requests carry: text and nulls
    ["a", 1, 1.0, None, float("nan"), True, "1"],  # anything else goes through pandas, as batch drift does
])
def test_live_counts_categories_as_batch_drift_does(values):
    import pandas as pd

    from shipyard.monitoring.live import _category_counts
    from shipyard.monitoring.profile import category_counts

    categories, counts = _category_counts(values)
    expected, _ = category_counts(pd.Series(values, dtype=object))
    assert dict(zip(categories, counts.tolist())) == dict(zip(expected.index, expected.to_numpy().tolist()))


def test_one_batch_counts_as_the_same_rows_one_by_one(settings):
    records = _records(_traffic(1_500, 5), batch=7)
    together, apart = LiveDrift(settings), LiveDrift(settings)
    together.observe(records)
    for record in records:
        apart.observe([record])
    now = time.time()
    assert together.binned_since("churn", "1", now - 60) == apart.binned_since("churn", "1", now - 60)
    assert sum(together.binned_since("churn", "1", now - 60)["plan"]) == 1_500
