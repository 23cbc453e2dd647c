"""Versions a gateway could not load: recorded by the follower, shown by `shipyard traffic show`, cleared again."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone

import httpx
import pytest

from shipyard.cli import main as shipyard
from shipyard.serving.follower import replica_name
from shipyard.serving.gateway import Gateway
from shipyard.serving.load_failures import (
    STALE_AFTER_S,
    clear_load_failures,
    load_failures,
    record_load_failure,
)
from shipyard.serving.server import free_port
from shipyard.serving.traffic import deploy, set_traffic
from shipyard.store.db import session_scope
from shipyard.store.models import VersionLoadFailure
from lifecycle_moves import move

pytestmark = pytest.mark.timeout(300)


def test_failures_are_refreshed_per_gateway_cleared_and_go_stale(shipyard_home):
    record_load_failure("churn", "4", gateway="gw-a", reason="digest mismatch")
    record_load_failure("churn", "4", gateway="gw-a", reason="digest mismatch again")
    record_load_failure("churn", "4", gateway="gw-b", reason="warm-up failed")
    record_load_failure("fraud", "2", gateway="gw-a", reason="no signature")
    failures = load_failures("churn")
    assert [(f.gateway, f.attempts, f.reason) for f in failures] == [
        ("gw-a", 2, "digest mismatch again"), ("gw-b", 1, "warm-up failed")]
    clear_load_failures(gateway="gw-a", model="churn", version="4")
    assert [(f.model, f.gateway) for f in load_failures()] == [("churn", "gw-b"), ("fraud", "gw-a")]
    with session_scope() as session:  # gw-b stopped refreshing its row: it is gone
        row = session.get(VersionLoadFailure, ("churn", "4", "gw-b"))
        row.last_failed_at = datetime.now(timezone.utc) - timedelta(seconds=STALE_AFTER_S + 1)
    assert [f.model for f in load_failures()] == ["fraud"]
    clear_load_failures(gateway="gw-a")
    assert load_failures() == []


@pytest.fixture(scope="module")
def failing_canary(fleet):
    """Version 1 stable; version 4 (fails its warm-up, though it passed its gates) as a 30% canary."""
    move("synth", "4", "staging", actor="test", settings=fleet)
    deploy("synth", "1", actor="test", settings=fleet)
    set_traffic("synth", {"canary": ("4", 0.3)}, actor="test", settings=fleet)
    return fleet


def test_traffic_show_names_a_canary_that_did_not_load_until_the_gateway_stops(failing_canary, capsys):
    gateway = Gateway()
    gateway.follow(settings=failing_canary)
    assert set(gateway.routes["synth"].arms()) == {"stable"}
    capsys.readouterr()
    assert shipyard(["traffic", "show", "synth"]) == 0
    out = capsys.readouterr().out
    assert "canary  version 4     30% of traffic  NOT LOADED" in out
    assert f"not loaded on {replica_name()} (1 attempts" in out
    assert "its share is served by the stable arm" in out and "warm-up" in out
    assert "stable  version 1     70% of traffic\n" in out
    assert shipyard(["traffic", "show", "--json"]) == 0
    failure, = json.loads(capsys.readouterr().out)[0]["load_failures"]
    assert failure["version"] == "4" and failure["gateway"] == replica_name() and "warm-up" in failure["reason"]

    gateway.stop()
    assert load_failures("synth", settings=failing_canary) == []
    assert shipyard(["traffic", "show", "synth"]) == 0
    assert "NOT LOADED" not in capsys.readouterr().out


def _serve(settings, port):
    env = {**os.environ, "SHIPYARD_HOME": str(settings.home)}
    for name in ("SHIPYARD_DATABASE_URL", "MLFLOW_TRACKING_URI"):
        env.pop(name, None)
    return subprocess.Popen([sys.executable, "-m", "shipyard", "serve", "--port", str(port), "--no-log-predictions"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_a_serving_gateway_reports_its_failed_canary_to_traffic_show(failing_canary, capsys):
    port = free_port()
    process = _serve(failing_canary, port)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            assert process.poll() is None, process.stderr.read()
            try:
                if httpx.get(f"http://127.0.0.1:{port}/v2/health/ready", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        capsys.readouterr()
        assert shipyard(["traffic", "show", "synth"]) == 0
        out = capsys.readouterr().out
        assert "NOT LOADED" in out and "on gateway@" in out and f":{process.pid} (" in out
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
    stdout = process.stdout.read()
    assert "serving synth (stable v1 on ONNX Runtime)" in stdout  # LightGBM over numbers and strings
    assert "warning: synth version 4 failed to load:" in stdout and "warm-up" in stdout
    assert "synth is served by version 1 meanwhile" in stdout
    assert load_failures("synth", settings=failing_canary) == [], "a stopped gateway's failures are cleared"


def test_serve_exits_non_zero_naming_the_stable_version_that_failed(failing_canary):
    deploy("synth", "4", actor="test", settings=failing_canary)  # blue-green: the broken version becomes stable
    process = _serve(failing_canary, free_port())
    out, err = process.communicate(timeout=120)
    assert process.returncode == 6, (out, err)
    assert "nothing is deployed yet" not in out
    assert "error: no deployed version loads: nothing can be served: synth version 4 failed to load:" in err
    assert "warm-up" in err and "synth is not served (the stable version failed)" in err
    assert "hint: deploy a version that loads" in err
    assert load_failures("synth", settings=failing_canary) == []
