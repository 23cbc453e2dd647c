"""Drift runs over a real prediction log (Parquet files written by the gateway's writer)."""

import time
from datetime import datetime, timedelta, timezone

import numpy as np
import pandas as pd
import pytest

from shipyard.config import load_settings
from shipyard.errors import DataError, NotEnoughDataError, NotFoundError, UsageError
from shipyard.monitoring.html import render_html
from shipyard.monitoring.profile import build_profile
from shipyard.monitoring.references import load_profile, save_profile
from shipyard.monitoring.runs import compute_drift, get_report, history, known_models
from shipyard.serving.prediction_log import PredictionLogWriter, PredictionRecord
from shipyard.spec.monitoring import MonitoringSpec


def _traffic(n, seed, shift=0.0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"tenure": rng.exponential(20 + 30 * shift, n).round(),
                         "monthly": rng.normal(60 + 25 * shift, 9, n),
                         "plan": rng.choice(["basic", "plus", "pro"], n)})


def _log(settings, frame, *, at, version="1", batch=50):
    writer = PredictionLogWriter(settings.prediction_log_root)
    writer.start()
    for start in range(0, len(frame), batch):
        rows = frame.iloc[start:start + batch]
        labels = np.where(rows.tenure < 10, 1, 0)
        writer.offer(PredictionRecord(
            request_id=f"r{at:.0f}-{start}", timestamp=at + start / len(frame), model="churn", version=version,
            arm="stable", protocol="mlflow", latency_ms=1.0,
            features={c: rows[c].tolist() for c in rows.columns}, outputs={"predict": labels}))
    writer.close()


@pytest.fixture
def churn(shipyard_home):
    settings = load_settings()
    reference = _traffic(50_000, 0)
    profile = build_profile(reference, np.where(reference.tenure < 10, 1, 0), task="classification")
    save_profile("churn", "1", profile, MonitoringSpec(min_rows=200), settings=settings)
    return settings


def test_a_shift_in_the_window_is_reported_and_stored(churn):
    now = time.time()
    _log(churn, _traffic(3_000, 1), at=now - 7200)  # two hours ago: outside a 1 h window
    _log(churn, _traffic(3_000, 2, shift=0.8), at=now - 600)
    run = compute_drift("churn", version="1", window_s=3600, settings=churn)
    assert run.rows == 3_000 and run.severity == "critical"
    assert set(run.report["drifted"]) == {"tenure", "monthly"}
    assert run.report["features"]["plan"]["severity"] == "ok"
    assert history("churn", settings=churn)[0].id == run.id
    assert get_report(run.id, settings=churn).report["rows"] == 3_000
    page = render_html(run.report)
    assert "Drift of churn version 1" in page and "<svg" in page and len(page) < 60_000
    earlier = compute_drift("churn", version="1", since=datetime.fromtimestamp(now - 7300, timezone.utc),
                            until=datetime.fromtimestamp(now - 3600, timezone.utc), settings=churn)
    assert earlier.rows == 3_000 and earlier.severity == "ok"


def test_a_corrupt_file_is_skipped_and_named(churn):
    now = time.time()
    _log(churn, _traffic(1_000, 3), at=now - 300)
    hour = datetime.fromtimestamp(now - 300, timezone.utc).strftime("%Y-%m-%dT%H")
    broken = churn.prediction_log_root / "model=churn" / f"hour={hour}" / "part-broken.parquet"
    broken.write_bytes(b"PAR1 not really parquet")
    run = compute_drift("churn", version="1", window_s=3600, settings=churn)
    assert run.rows == 1_000
    assert [s["file"] for s in run.report["skipped_files"]] == [str(broken)]


def test_bad_requests_get_clear_refusals(churn):
    with pytest.raises(NotEnoughDataError, match="0 prediction\\(s\\) logged for churn version 1"):
        compute_drift("churn", version="1", window_s=3600, settings=churn)
    _log(churn, _traffic(100, 4), at=time.time() - 60)
    with pytest.raises(NotEnoughDataError, match="at least 200 are needed") as too_few:
        compute_drift("churn", version="1", window_s=3600, settings=churn)
    assert isinstance(too_few.value, DataError) and too_few.value.exit_code == 12
    with pytest.raises(NotFoundError, match="has no reference profile"):
        compute_drift("churn", version="2", window_s=3600, settings=churn)
    with pytest.raises(UsageError, match="starts .* after it ends"):
        now = datetime.now(timezone.utc)
        compute_drift("churn", version="1", since=now, until=now - timedelta(hours=1), settings=churn)
    assert history("churn", settings=churn) == []


def test_a_model_that_does_not_exist_is_named_with_its_nearest_known_names(churn):
    assert known_models(settings=churn) == ["churn"]
    with pytest.raises(NotFoundError, match="there is no model 'chrun'") as unknown:
        compute_drift("chrun", settings=churn)
    assert unknown.value.hint == "did you mean 'churn'?" and "neither deployed" not in unknown.value.message
    with pytest.raises(NotFoundError, match="is neither deployed nor in production"):
        compute_drift("churn", settings=churn)


def test_profiles_are_content_addressed(churn):
    profile, spec, digest = load_profile("churn", "1", settings=churn)
    assert spec.min_rows == 200 and len(digest) == 64 and set(profile["features"]) == {"tenure", "monthly", "plan"}
    assert save_profile("churn", "1", profile, spec, settings=churn) == digest
