"""deploy/alertmanager: Alertmanager's own checker accepts the config, its routes send each severity and team
to the right receivers, no secret is inline, and a drift alert posted by shipyard reaches its receiver
through a real Alertmanager (the shipped route tree, receivers swapped for loopback webhooks) within the
5-minute SLO of its window closing."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import threading
import time
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import numpy as np
import pytest
import yaml

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
CONFIG = DEPLOY / "alertmanager" / "alertmanager.yml"
RULES = DEPLOY / "prometheus" / "alerts.yml"
SLO_S = 300
SECRET_FIELDS = {"routing_key", "service_key", "api_key", "api_url", "auth_password", "auth_secret",
                 "smtp_auth_password", "smtp_auth_secret", "slack_api_url", "opsgenie_api_key", "pagerduty_url"}


def _tool(name: str) -> str:
    """The path of an Alertmanager/Prometheus binary (Debian's prometheus-alertmanager and prometheus
    packages, which .ci/run installs); skipped where missing unless SHIPYARD_REQUIRE_AMTOOL=1."""
    path = shutil.which(name)
    if path is None:
        reason = f"{name} is not installed (apt-get install prometheus-alertmanager prometheus)"
        if os.environ.get("SHIPYARD_REQUIRE_AMTOOL") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    return path


def _config() -> dict:
    return yaml.safe_load(CONFIG.read_text())


def test_amtool_accepts_the_config():
    """(promtool checks the rules in test_prometheus_rules.py)"""
    checked = subprocess.run([_tool("amtool"), "check-config", str(CONFIG)], capture_output=True, text=True)
    assert checked.returncode == 0 and "SUCCESS" in checked.stdout, checked.stdout + checked.stderr


def test_amtool_refuses_a_misspelled_field():
    """The check is strict, so the acceptance above means something."""
    broken = CONFIG.read_text().replace("routing_key_file:", "routing_keyfile:")
    checked = subprocess.run([_tool("amtool"), "check-config", "/dev/stdin"], input=broken, capture_output=True,
                             text=True)
    assert checked.returncode != 0 and "routing_keyfile" in checked.stdout + checked.stderr


@pytest.mark.parametrize("labels, receivers", [
    ({"severity": "critical", "team": "growth"}, "pagerduty,slack"),
    ({"severity": "critical", "team": "platform"}, "opsgenie-platform,slack"),
    ({"severity": "critical", "team": "unowned"}, "opsgenie-platform,slack"),
    ({"severity": "critical"}, "opsgenie-platform,slack"),
    ({"severity": "warning", "team": "growth"}, "slack"),
    ({"severity": "warning", "team": "platform"}, "slack"),
    ({"severity": "info", "team": "growth"}, "email"),
    ({"team": "growth"}, "email"),
])
def test_routes_by_severity_and_team(labels, receivers):
    pairs = [f"{k}={v}" for k, v in {"alertname": "ShipyardDriftSeverity", "model": "churn", **labels}.items()]
    routed = subprocess.run([_tool("amtool"), "config", "routes", "test", f"--config.file={CONFIG}", *pairs],
                            capture_output=True, text=True)
    assert routed.returncode == 0, routed.stderr
    assert routed.stdout.strip() == receivers


def test_every_secret_is_read_from_a_file():
    config = _config()

    def walk(node, where):
        if isinstance(node, dict):
            for key, value in node.items():
                assert key not in SECRET_FIELDS, f"{where}.{key} holds a secret inline; use {key}_file"
                walk(value, f"{where}.{key}")
        elif isinstance(node, list):
            for i, item in enumerate(node):
                walk(item, f"{where}[{i}]")

    walk(config, "config")
    files = [v for k, v in config["global"].items() if k.endswith("_file")]
    files += [c["routing_key_file"] for r in config["receivers"] for c in r.get("pagerduty_configs", [])]
    assert len(files) == 4 and all(f.startswith("/etc/alertmanager/secrets/") for f in files)
    kinds = {kind for r in config["receivers"] for kind in r if kind.endswith("_configs")}
    assert kinds == {"pagerduty_configs", "opsgenie_configs", "slack_configs", "email_configs"}


def test_every_gateway_alert_carries_severity_and_team():
    rules = [rule for group in yaml.safe_load(RULES.read_text())["groups"] for rule in group["rules"]]
    assert rules and all(rule["labels"]["severity"] in ("critical", "warning") for rule in rules)
    assert all(rule["labels"]["team"] == "platform" for rule in rules)


class _Receivers:
    """One loopback HTTP server standing in for every receiver: records when each path got what."""

    def __init__(self):
        self.received: list[tuple[float, str, dict]] = []
        received = self.received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["content-length"])))
                received.append((time.time(), self.path.strip("/"), body))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def alertmanager(tmp_path):
    """A real Alertmanager with the shipped route tree and inhibitions; each receiver a loopback webhook."""
    binary = _tool("prometheus-alertmanager")
    receivers = _Receivers()
    config = _config()
    config["global"] = {k: v for k, v in config["global"].items() if not k.endswith("_file")}
    config["receivers"] = [{"name": r["name"], "webhook_configs": [{"url": f"{receivers.url}/{r['name']}"}]}
                           for r in config["receivers"]]
    (tmp_path / "am.yml").write_text(yaml.safe_dump(config))
    port = _free_port()
    process = subprocess.Popen([binary, f"--config.file={tmp_path / 'am.yml'}", f"--storage.path={tmp_path / 'am'}",
                                f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address="],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                if httpx.get(f"{url}/-/ready", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert process.poll() is None, process.stderr.read().decode()
            time.sleep(0.1)
        yield url, receivers, config
    finally:
        process.terminate()
        process.wait(timeout=10)
        receivers.close()


def test_a_drift_alert_reaches_its_receiver_within_the_slo_of_its_window_closing(shipyard_home, alertmanager):
    from monitoring.test_runs import _log, _traffic

    from shipyard.config import load_settings
    from shipyard.governance.directory import record_owner
    from shipyard.monitoring.alerts import notify
    from shipyard.monitoring.profile import build_profile
    from shipyard.monitoring.references import save_profile
    from shipyard.monitoring.runs import compute_drift
    from shipyard.spec.monitoring import MonitoringSpec
    from shipyard.store.db import session_scope

    url, receivers, config = alertmanager
    settings = load_settings()
    reference = _traffic(5_000, 0)
    profile = build_profile(reference, np.where(reference.tenure < 10, 1, 0), task="classification")
    save_profile("churn", "1", profile, MonitoringSpec(min_rows=200), settings=settings)
    with session_scope(settings) as session:
        record_owner("churn", "growth", session=session)
    spec = MonitoringSpec.model_validate({"webhooks": [{"url": f"{url}/api/v2/alerts", "format": "alertmanager"}]})

    window_s = 3.0
    opened = time.time()
    _log(settings, _traffic(1_000, 5, shift=0.8), at=opened)  # drifted traffic inside the window
    closes = opened + window_s
    time.sleep(max(0.0, closes - time.time()))
    run = compute_drift("churn", version="1", since=datetime.fromtimestamp(opened, timezone.utc),
                        until=datetime.fromtimestamp(closes, timezone.utc), settings=settings)
    assert run.severity == "critical"
    [sent] = notify(run, "ok", spec, settings=settings)
    assert sent.status == "delivered"

    deadline = time.time() + 90
    while time.time() < deadline and {"pagerduty", "slack"} - {path for _, path, _ in receivers.received}:
        time.sleep(0.2)
    arrivals = {path: (at, body) for at, path, body in receivers.received}
    assert set(arrivals) == {"pagerduty", "slack"}, receivers.received
    at, body = arrivals["pagerduty"]
    latency = at - closes
    group_wait = next(r["group_wait"] for r in config["route"]["routes"] if r["receiver"] == "pagerduty")
    print(f"drift window closed -> PagerDuty receiver: {latency:.1f} s (group_wait {group_wait}, SLO {SLO_S} s)")
    assert 10 <= latency < SLO_S  # Alertmanager held it for the route's group_wait (10s), then paged
    [alert] = body["alerts"]
    assert alert["status"] == "firing"
    assert {k: alert["labels"][k] for k in ("alertname", "severity", "team", "model", "version")} == {
        "alertname": "ShipyardDriftSeverity", "severity": "critical", "team": "growth", "model": "churn",
        "version": "1"}
    assert alert["annotations"]["report_id"] == run.id
