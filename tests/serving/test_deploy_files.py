"""The shipped Prometheus rules and Grafana dashboard only use metrics the gateway exports."""

import json
import re
from pathlib import Path
from types import SimpleNamespace

import httpx
import yaml

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
METRIC = re.compile(r"\b(shipyard_[a-z_]+?)(?:_bucket|_sum|_count)?\b")


def _metric_names(text: str) -> set[str]:
    return set(METRIC.findall(text))


def test_alert_rules_and_dashboard_reference_exported_metrics(live_gateway, tmp_path):
    from shipyard.serving.app import create_app
    from shipyard.serving.gateway import Gateway
    from shipyard.serving.prediction_log import PredictionLogWriter

    from .conftest import LiveServer

    from shipyard.monitoring.live import LiveDrift

    gateway = Gateway.pinned([live_gateway.loaded], prediction_log=PredictionLogWriter(tmp_path / "log"))
    gateway.metrics.watch_live_drift(LiveDrift(live_gateway.settings))
    # the stable-version watch of a gateway that follows deployments, holding one model's watch
    gateway.metrics.watch_stable_versions(SimpleNamespace(status={"synth": SimpleNamespace(
        state="ok", leader=True, version="1", gateways=2, fleet={"requests": 120, "error_rate": 0.0, "p99_ms": 4.0},
        psi={"x1": 0.02})}))
    with LiveServer(create_app(gateway)) as server:
        httpx.post(f"{server.url}/models/synth/invocations",
                   json={"inputs": {"x1": [1.0], "x2": [0.0], "color": ["red"]}})
        httpx.post(f"{server.url}/models/synth/invocations", json={"inputs": {"x1": [1.0]}})
        exported = _metric_names(httpx.get(f"{server.url}/metrics").text)

    rules = yaml.safe_load((DEPLOY / "prometheus" / "alerts.yml").read_text())
    exprs = [rule["expr"] for group in rules["groups"] for rule in group["rules"]]
    assert len(exprs) >= 4
    dashboard = json.loads((DEPLOY / "grafana" / "shipyard-gateway.json").read_text())
    exprs += [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    used = set().union(*(_metric_names(e) for e in exprs))
    assert used and used <= exported, f"not exported: {sorted(used - exported)}"
