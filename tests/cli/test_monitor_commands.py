"""`shipyard monitor …` on a real store and prediction log."""

import json
import time

import numpy as np
import pandas as pd
import pytest

from shipyard.cli import main as shipyard
from shipyard.config import load_settings
from shipyard.monitoring.profile import build_profile
from shipyard.monitoring.references import save_profile
from shipyard.serving.prediction_log import PredictionLogWriter, PredictionRecord
from shipyard.spec.monitoring import MonitoringSpec


def _frame(n, seed, shift=0.0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"spend": rng.normal(50 + 30 * shift, 10, n), "tier": rng.choice(["a", "b"], n)})


@pytest.fixture
def logged(shipyard_home):
    settings = load_settings()
    reference = _frame(10_000, 0)
    save_profile("shop", "3", build_profile(reference, np.zeros(len(reference), dtype=int), task="classification"),
                 MonitoringSpec(min_rows=100), settings=settings)
    writer = PredictionLogWriter(settings.prediction_log_root)
    writer.start()
    current = _frame(1_500, 1, shift=1.0)
    for i in range(0, len(current), 50):
        rows = current.iloc[i:i + 50]
        writer.offer(PredictionRecord(request_id=f"r{i}", timestamp=time.time() - 30, model="shop", version="3",
                                      arm="stable", protocol="mlflow", latency_ms=1.0,
                                      features={c: rows[c].tolist() for c in rows.columns},
                                      outputs={"predict": np.zeros(len(rows), dtype=int)}))
    writer.close()
    return settings


def test_monitor_prints_stores_and_writes_html(logged, tmp_path, capsys):
    page = tmp_path / "drift.html"
    assert shipyard(["monitor", "shop", "--version", "3", "--window", "1h", "--html", str(page)]) == 0
    out = capsys.readouterr().out
    assert "drift of shop version 3: critical" in out and "spend" in out and str(page) in out
    assert "<svg" in page.read_text()
    assert shipyard(["monitor", "shop", "--version", "3", "--json", "--fail-on", "critical"]) == 11
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    assert report["drifted"] == ["spend"] and "drift detected: drift severity of shop version 3 is critical" in \
        captured.err
    assert shipyard(["monitor", "history", "shop"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2 and all("critical" in line and "spend" in line for line in lines)
    report_id = lines[0].split()[2]
    assert shipyard(["monitor", "show", report_id]) == 0
    assert f"report {report_id}" in capsys.readouterr().out


def test_monitor_refuses_clearly(logged, capsys):
    for argv, code, needle in [
        (["monitor", "shop", "--version", "3", "--since", "2020-01-01T00:00", "--until", "2020-01-01T01:00"], 12,
         "not enough data: 0 prediction(s) logged for shop version 3"),
        (["monitor", "shop", "--version", "3", "--since", "2020-01-01T00:00", "--until", "2020-01-01T01:00",
          "--fail-on", "warning"], 12, "at least 100 are needed"),
        (["monitor", "shop", "--version", "4"], 8, "has no reference profile"),
        (["monitor", "shop"], 8, "neither deployed nor in production"),
        (["monitor", "shpo"], 8, "there is no model 'shpo'\n  hint: did you mean 'shop'?"),
        (["monitor", "shpo", "--version", "3"], 8, "there is no model 'shpo'"),
        (["monitor", "inventory"], 8, "hint: known models: shop"),
        (["monitor", "shop", "--window", "soon"], 2, "not a duration"),
        (["monitor", "shop", "--since", "yesterday"], 2, "not a time"),
        (["monitor", "shop", "--fail-on", "panic"], 2, "usage error: --fail-on panic: use warning or critical"),
        (["monitor", "show", "nope"], 8, "no drift report 'nope'"),
        (["monitor", "history"], 2, "shipyard monitor history MODEL"),
    ]:
        assert shipyard(argv) == code, argv
        assert needle in capsys.readouterr().err, argv
