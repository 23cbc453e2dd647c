"""Drift reports, history and alerts through the API, over a real prediction log of 'churny' version 1."""

from __future__ import annotations

import time

import numpy as np

from server.conftest import assert_problem


def _log_traffic(settings, *, rows: int, shift: float) -> None:
    from shipyard.serving.prediction_log import PredictionLogWriter, PredictionRecord
    from tracked_run import synthetic_frame

    frame = synthetic_frame(n=rows, seed=7)
    frame["x1"] = frame["x1"] + shift
    writer = PredictionLogWriter(settings.prediction_log_root)
    writer.start()
    now = time.time() - 60
    for start in range(0, rows, 50):
        part = frame.iloc[start:start + 50]
        writer.offer(PredictionRecord(
            request_id=f"r{start}", timestamp=now + start / rows, model="churny", version="1", arm="stable",
            protocol="mlflow", latency_ms=1.0, features={c: part[c].tolist() for c in ("x1", "x2", "color")},
            outputs={"predict": np.where(part["x1"] > 0, 1, 0)}))
    writer.close()


def test_no_traffic_is_not_enough_data_and_unknown_names_are_404(client):
    assert_problem(client.post("/api/v1/models/churny/drift", json={"version": "1", "window_s": 60}), 422,
                   title="not enough data")
    assert_problem(client.get("/api/v1/models/churnie/drift"), 404, detail="no model 'churnie'")
    assert_problem(client.get("/api/v1/models/churnie/alerts"), 404)
    assert_problem(client.get("/api/v1/drift/nosuchreport"), 404)
    assert_problem(client.post("/api/v1/models/churny/drift", json={"window_s": -5}), 422)


def test_a_shift_is_judged_stored_and_listed(client, platform):
    _log_traffic(platform["settings"], rows=1200, shift=3.0)
    computed = client.post("/api/v1/models/churny/drift", json={"version": "1", "window_s": 3600})
    assert computed.status_code == 201, computed.text
    report = computed.json()
    assert report["severity"] == "critical" and "x1" in report["drifted"] and report["rows"] == 1200
    assert client.get(f"/api/v1/drift/{report['id']}").json()["report"]["features"]["x1"]["severity"] == "critical"
    history = client.get("/api/v1/models/churny/drift", params={"severity": "critical"}).json()
    assert history["total"] == 1 and history["items"][0]["id"] == report["id"]
    assert client.get("/api/v1/models/churny/drift", params={"severity": "ok"}).json()["total"] == 0
    assert_problem(client.get("/api/v1/models/churny/drift", params={"sort": "rows"}), 400, detail="created_at")
    found = client.get("/api/v1/models", params={"drift": "critical"}).json()["items"]
    assert [e["name"] for e in found] == ["churny"] and found[0]["drift_severity"] == "critical"
    assert client.get("/api/v1/models/churny/alerts").json() == {"items": [], "total": 0, "offset": 0,
                                                                 "limit": 50, "next_offset": None}
