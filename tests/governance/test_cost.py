"""Cost from what the metadata store and the prediction log recorded, attributed to team and model."""

import time
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from cost_records import record_run
from shipyard.config import load_settings
from shipyard.errors import UsageError
from shipyard.governance.cost import (NO_TEAM, cost_report, parse_span, report, require_prices, serving_costs,
                                      step_costs)
from shipyard.governance.directory import record_owner
from shipyard.governance.prices import GIB, parse_prices
from shipyard.serving.prediction_log import PredictionLogWriter, PredictionRecord
from shipyard.serving.usage import served_requests
from shipyard.store.db import session_scope

PRICES = parse_prices("cpu = 0.1\nmemory = 0.01\nrequests = 0.5\n[gpu]\ndefault = 3.0", source="test")


def window():
    now = datetime.now(timezone.utc)
    return now - timedelta(days=1), now + timedelta(minutes=1)


def test_a_step_costs_its_recorded_resources_for_its_measured_duration(shipyard_home):
    record_run("r1", model="churn", team="growth", steps={
        "ingest": (1.0, 0, 0, 360.0),
        "train": (4.0, 8 * GIB, 1, 1800.0),
        "sweep": (2.0, 2 * GIB, 0, 60.0, {"kind": "sweep", "details": {"trial_seconds": 7200.0}}),
        "features": (1.0, 0, 0, 5.0, {"state": "cached", "cache_hit": True}),
    })
    since, until = window()
    records, unpriced = step_costs(PRICES, since=since, until=until)
    assert unpriced == 0
    by_step = {r.step: r for r in records}
    assert set(by_step) == {"ingest", "train", "sweep"}, "a step served from the cache used nothing"
    assert by_step["ingest"].cost == pytest.approx(0.1 * 0.1)
    assert by_step["train"].cost == pytest.approx((4 * 0.1 + 8 * 0.01 + 3.0) * 0.5)
    assert by_step["sweep"].hours == pytest.approx(2.0), "a sweep holds one trial's resources per trial second"
    assert by_step["sweep"].cost == pytest.approx((2 * 0.1 + 2 * 0.01) * 2)
    assert {(r.team, r.model, r.run_id) for r in records} == {("growth", "churn", "r1")}


def test_a_run_recorded_without_resources_is_counted_not_priced_and_takes_its_team_from_the_owner(shipyard_home):
    record_run("old", model="churn", steps={"train": (1.0, 0, 0, 100.0)}, resources=False)
    record_run("new", model="fraud", steps={"train": (2.0, 0, 0, 3600.0)})
    with session_scope() as session:
        record_owner("fraud", "risk", session=session)
    since, until = window()
    records, unpriced = step_costs(PRICES, since=since, until=until)
    assert unpriced == 1
    assert [(r.run_id, r.team, r.cost) for r in records] == [("new", "risk", pytest.approx(0.2))]


def test_runs_outside_the_window_are_left_out(shipyard_home):
    record_run("r1", model="churn", team="growth", steps={"train": (1.0, 0, 0, 3600.0)})
    later = datetime.now(timezone.utc) + timedelta(hours=1)
    assert step_costs(PRICES, since=later, until=later + timedelta(days=1)) == ([], 0)


def test_serving_costs_the_requests_each_version_answered_per_day(shipyard_home):
    settings = load_settings()
    with session_scope() as session:
        record_owner("churn", "growth", session=session)
    writer = PredictionLogWriter(settings.prediction_log_root)
    writer.start()
    now = time.time()
    for i in range(30):
        for version, arm in (("1", "stable"), ("2", "shadow")) if i < 10 else (("1", "stable"),):
            writer.offer(PredictionRecord(request_id=f"q{i}", timestamp=now - i, model="churn", version=version,
                                          arm=arm, protocol="mlflow", latency_ms=1.0, features={"x": [1.0, 2.0]},
                                          outputs={"predict": np.array([0, 1])}))
    writer.offer(PredictionRecord(request_id="old", timestamp=now - 10 * 86400, model="churn", version="1",
                                  arm="stable", protocol="mlflow", latency_ms=1.0, features={"x": [1.0]},
                                  outputs={"predict": np.array([0])}))
    writer.close()
    since, until = window()
    served = served_requests(settings.prediction_log_root, since=since, until=until)
    assert sum(served["churn"].values()) == 40, "30 requests, 10 of them also answered by the shadow version"
    records = serving_costs(PRICES, served)
    assert sum(r.requests for r in records) == 40 and {r.team for r in records} == {"growth"}
    assert sum(r.cost for r in records) == pytest.approx(40 / 1000 * 0.5)
    assert served_requests(settings.home / "nothing-here", since=since, until=until) == {}


def test_a_report_adds_up_by_team_model_or_run_dearest_first_and_filters(shipyard_home):
    record_run("a", model="churn", team="growth", steps={"train": (1.0, 0, 0, 3600.0)})
    record_run("b", model="churn", team="growth", steps={"train": (3.0, 0, 0, 3600.0)})
    record_run("c", model="fraud", team="risk", steps={"train": (1.0, 0, 1, 3600.0)})
    record_run("d", model="orphan", steps={"train": (1.0, 0, 0, 36.0)})
    since, until = window()
    by_team = cost_report(PRICES, since=since, until=until, requests={"churn": {"2026-01-01": 2000}})
    assert [(line.key, round(line.cost, 4)) for line in by_team.lines] == [
        ("risk", 3.1), ("growth", 1.4), (NO_TEAM, 0.001)]
    assert by_team.total == pytest.approx(3.1 + 1.4 + 0.001)
    growth = by_team.lines[1]
    assert growth.requests == 2000 and growth.compute_hours == pytest.approx(2.0) and growth.records == 3
    by_run = cost_report(PRICES, since=since, until=until, by="run", team="growth", requests={"churn": {"d": 2000}})
    assert [line.key for line in by_run.lines] == ["serving:churn", "b", "a"]
    by_model = cost_report(PRICES, since=since, until=until, by="model", model="fraud", requests={})
    assert [(line.key, line.team) for line in by_model.lines] == [("fraud", "risk")]
    with pytest.raises(UsageError, match="cannot group cost by 'day'"):
        report([], PRICES, since=since, until=until, by="day")


def test_spans_and_a_missing_price_list_are_clear_usage_errors():
    assert parse_span("7d") == timedelta(days=7) and parse_span("90m") == timedelta(minutes=90)
    assert parse_span("2w") == timedelta(days=14) and parse_span(" 12h ") == timedelta(hours=12)
    for bad in ("", "7", "0d", "-1d", "7y", "week", "1.5h", "100000d"):
        with pytest.raises(UsageError, match="is not a time span"):
            parse_span(bad)
    with pytest.raises(UsageError, match="no price list is declared") as caught:
        require_prices(None)
    assert "SHIPYARD_PRICES" in caught.value.hint


def test_serving_costs_the_gateways_time_at_their_resource_request_and_per_1000_predictions(shipyard_home):
    prices = parse_prices("cpu = 0.1\nmemory = 0.01\nrequests = 0.5\n[gpu]\ndefault = 3.0\nT4 = 0.4", source="test")
    record_run("r1", model="churn", team="growth", steps={"train": (1.0, 0, 0, 3600.0)})
    day = datetime.now(timezone.utc).strftime("%Y-%m-%d")
    gateway_time = {"churn": {day: [(1800.0, {"cpu": 2.0, "memory": 4 * GIB}),
                                    (3600.0, {"cpu": 1.0, "gpu": 1.0, "gpu_type": "T4"})]},
                    "idle": {day: [(3600.0, {"cpu": 1.0})]}}
    records = serving_costs(prices, {"churn": {day: 4000}}, serving_time=gateway_time)
    by_model = {r.model: r for r in records}
    assert by_model["churn"].serving_hours == pytest.approx(1.5) and by_model["churn"].requests == 4000
    assert by_model["churn"].cost == pytest.approx(4000 / 1000 * 0.5 + (2 * 0.1 + 4 * 0.01) * 0.5 + (0.1 + 0.4) * 1)
    assert by_model["idle"].cost == pytest.approx(0.1) and by_model["idle"].requests == 0
    assert "1.5000 gateway-h" in by_model["churn"].usage
    since, until = window()
    lines = {line.key: line for line in cost_report(prices, since=since, until=until, by="model",
                                                    requests={"churn": {day: 4000}}, serving_time=gateway_time).lines}
    churn = lines["churn"]
    assert churn.cost == pytest.approx(0.1 + 2.62) and churn.compute_hours == pytest.approx(1.0)
    assert churn.serving_hours == pytest.approx(1.5) and churn.team == "growth"
    assert churn.per_1000_predictions == pytest.approx(2.62 / 4000 * 1000), "serving cost only, time included"
    assert lines["idle"].per_1000_predictions is None
