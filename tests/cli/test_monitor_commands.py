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
from twin_stores import twins  # noqa: F401  (fixture)


def _frame(n, seed, shift=0.0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"spend": rng.normal(50 + 30 * shift, 10, n), "tier": rng.choice(["a", "b"], n)})


@pytest.fixture
def logged(shipyard_home):
    settings = load_settings()
    log_traffic(settings)
    return settings


def log_traffic(settings):
    """A reference profile for shop version 3 and 1,500 predictions logged for it, shifted: critical drift."""
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


def test_monitor_prints_stores_and_writes_html(logged, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")  # the printed path in one piece, however long the temporary folder's name
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


def test_the_monitor_commands_say_the_same_in_process_and_through_a_server(twins, tmp_path):
    both = twins(lambda: log_traffic(load_settings()))
    both.same(["monitor", "history", "shop"])
    computed, _ = both.same(["monitor", "shop", "--version", "3", "--window", "1h"])
    assert "drift of shop version 3: critical" in computed.out and "spend" in computed.out
    pages = [tmp_path / "in-process.html", tmp_path / "served.html"]
    local, remote = both.same(["monitor", "shop", "--version", "3", "--json", "--fail-on", "critical", "--html",
                               str(pages[0])], remote_argv=["monitor", "shop", "--version", "3", "--json",
                                                            "--fail-on", "critical", "--html", str(pages[1])],
                              code=11, err="drift severity of shop version 3 is critical")
    assert json.loads(local.out)["drifted"] == ["spend"] and all("<svg" in p.read_text() for p in pages)
    history, remote_history = both.same(["monitor", "history", "shop"])
    assert len(history.out.splitlines()) == 2
    both.same(["monitor", "history", "shop", "--json", "--limit", "1"])
    ids = [outcome.out.split()[2] for outcome in (history, remote_history)]
    shown, _ = both.same(["monitor", "show", ids[0]], remote_argv=["monitor", "show", ids[1]])
    assert f"report {ids[0]}" in shown.out
    both.same(["monitor", "show", ids[0], "--json"], remote_argv=["monitor", "show", ids[1], "--json"])
    for argv, code, needle in [
        (["monitor", "shop", "--version", "3", "--since", "2020-01-01T00:00", "--until", "2020-01-01T01:00"], 12,
         "not enough data: 0 prediction(s) logged for shop version 3"),
        (["monitor", "shop", "--version", "4"], 8, "has no reference profile"),
        (["monitor", "shop"], 8, "neither deployed nor in production"),
        (["monitor", "shpo"], 8, "there is no model 'shpo'\n  hint: did you mean 'shop'?"),
        (["monitor", "history", "shpo"], 8, "there is no model 'shpo'"),
        (["monitor", "show", "nope"], 8, "no drift report 'nope'"),
        (["monitor", "shop", "--window", "soon"], 2, "not a duration"),
        (["monitor", "history", "shop", "--limit", "0"], 2, "--limit"),
    ]:
        both.same(argv, code=code, err=needle)


def test_watching_runs_in_process_even_with_a_server_named(logged, monkeypatch, capsys):
    monkeypatch.setenv("SHIPYARD_URL", "http://127.0.0.1:9")  # nothing listens there: no request is made
    assert shipyard(["monitor", "shop", "--watch", "--iterations", "1", "--every", "1s"]) == 0
    captured = capsys.readouterr()
    assert "shop: not judged: " in captured.out and "neither deployed nor in production" in captured.out
    assert "note: --watch runs in this process against this machine's store" in captured.err
