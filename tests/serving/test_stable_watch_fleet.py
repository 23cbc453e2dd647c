"""Two real `shipyard serve` processes on one PostgreSQL store watch a stable version together.

Version 3 of 'synth' becomes stable through a rollout whose plan asks for an error rate under 20%
judged on at least 100 requests. It fails on a colour it never saw, so purple requests make it
degrade; each gateway is sent fewer than 100 requests, so only the fleet's sum can be judged.
The tests tell one story, so they run in file order.
"""

import os
import signal
import subprocess
import sys
import time

import httpx
import pytest

from shipyard.governance.audit import read_events
from shipyard.registry import lifecycle
from shipyard.serving import rollout as rollouts
from shipyard.serving.deployments import find_deployment
from shipyard.serving.fleet_store import watch_holder
from shipyard.serving.server import free_port
from shipyard.serving.traffic import deploy
from shipyard.spec.deployment import DeploymentSpec

from waiting import eventually

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(1200)]

MIN_REQUESTS = 100
PLAN = {"canary": {"steps": [100], "min_dwell_s": 0, "min_requests": MIN_REQUESTS},
        "slo": {"max_error_rate": 0.2, "min_requests": MIN_REQUESTS, "window": 60}}


@pytest.fixture(scope="module")
def mlflow_home(tmp_path_factory, new_postgres_database):
    """This module's registry lives in a fresh PostgreSQL database (MLflow stays on SQLite under the home)."""
    from shipyard.config import load_settings
    from shipyard.store.db import reset_engines

    home = tmp_path_factory.mktemp("home")
    patch = pytest.MonkeyPatch()
    patch.setenv("SHIPYARD_HOME", str(home))
    patch.setenv("SHIPYARD_DATABASE_URL", new_postgres_database("shipyard_stable_watch"))
    patch.delenv("MLFLOW_TRACKING_URI", raising=False)
    reset_engines()
    yield load_settings()
    patch.undo()
    reset_engines()


def _start(settings, port):
    env = {**os.environ, "SHIPYARD_HOME": str(settings.home), "SHIPYARD_DATABASE_URL": settings.database_url,
           "SHIPYARD_SLO_WATCH_INTERVAL_S": "0.5", "SHIPYARD_SLO_WATCH_LEASE_S": "5",
           "PYTHONUNBUFFERED": "1"}
    output = settings.home / f"gateway-{port}.log"
    with output.open("w") as sink:
        process = subprocess.Popen([sys.executable, "-m", "shipyard", "serve", "synth", "--port", str(port),
                                    "--no-log-predictions", "--no-compile", "--poll-interval", "0.2"],
                                   env=env, stdout=sink, stderr=subprocess.STDOUT)
    process.output = output
    return process


def _ready(url, process, timeout=300):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, process.output.read_text()
        try:
            if httpx.get(f"{url}/v2/health/ready", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{url} did not become ready: {process.output.read_text()}")


def _send(url, color, count):
    answers = []
    with httpx.Client(base_url=url, timeout=10) as client:
        for _ in range(count):
            response = client.post("/models/synth/invocations",
                                   json={"dataframe_records": [{"x1": 0.3, "x2": -0.1, "color": color}]})
            answers.append((response.status_code, response.headers.get("x-shipyard-model-version")))
    return answers


def _metric(url, line):
    return line in httpx.get(f"{url}/metrics", timeout=5).text


@pytest.fixture(scope="module")
def gateways(fleet):
    """Version 3 rolled out to stable (1 before it in production), then two gateways following the store."""
    deploy("synth", "1", actor="test", settings=fleet)
    state = rollouts.start_rollout("synth", "3", DeploymentSpec.model_validate(PLAN), actor="test", settings=fleet)
    state = rollouts.advance("synth", state, {"by": "test"}, settings=fleet)
    assert state.stable_version == "3" and state.rollout["phase"] == "completed"
    ports = [free_port(), free_port()]
    processes = {f"http://127.0.0.1:{port}": _start(fleet, port) for port in ports}
    try:
        for url, process in processes.items():
            _ready(url, process)
        yield processes
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.kill()
                process.wait()


def _leader(gateways, settings):
    holder = watch_holder("synth", settings=settings)
    if holder is None or holder.owner is None:
        return None
    return next((url for url, p in gateways.items() if p.pid == holder.pid and p.poll() is None), None)


def test_a_breach_only_the_fleet_sees_rolls_back_once_within_two_minutes(gateways, fleet):
    (first, second) = list(gateways)
    assert eventually(lambda: _leader(gateways, fleet) is not None, 30), "no gateway took the stable watch"
    for url in (first, second):
        assert set(_send(url, "red", 25)) == {(200, "3")}
    assert {code for code, _ in _send(first, "purple", 35)} == {500}
    # 60 requests, 58% failed, on the first gateway alone: under the 100 needed to judge
    leader = _leader(gateways, fleet)
    assert eventually(lambda: _metric(leader, 'shipyard_slo_watch_state{model="synth",state="not_enough_data"} 1.0'), 10)
    time.sleep(2)  # four watch intervals
    assert find_deployment("synth", settings=fleet).stable_version == "3"
    assert not [e for e in read_events(model="synth", settings=fleet) if e.action == "slo_rolled_back"]

    assert {code for code, _ in _send(second, "purple", 35)} == {500}
    breached_at = time.time()  # from here the fleet's window holds 120 requests, 70 failed
    assert eventually(lambda: find_deployment("synth", settings=fleet).stable_version == "1", 120), \
        "the breaching stable version was not rolled back within 2 minutes"
    rollbacks = [e for e in read_events(model="synth", settings=fleet) if e.action == "slo_rolled_back"]
    assert len(rollbacks) == 1
    event = rollbacks[0]
    assert event.time.timestamp() - breached_at <= 120
    assert event.version == "1" and event.details["from_version"] == "3" and "error rate" in event.reason
    measured = event.details["measured"]
    per_gateway = [w["requests"] for w in measured["gateways"].values()]
    assert len(per_gateway) == 2 and all(n < MIN_REQUESTS for n in per_gateway), measured
    assert measured["fleet"]["requests"] == sum(per_gateway) >= MIN_REQUESTS
    assert measured["fleet"]["error_rate"] > 0.2
    assert lifecycle.get_state("synth", "3", settings=fleet).state == "rolled_back"
    assert lifecycle.get_state("synth", "1", settings=fleet).state == "production"
    for url in (first, second):  # both gateways serve version 1, which answers purple requests
        assert eventually(lambda: _send(url, "purple", 1) == [(200, "1")], 10)
    time.sleep(2)
    assert len([e for e in read_events(model="synth", settings=fleet) if e.action == "slo_rolled_back"]) == 1
    counted = [url for url in gateways if _metric(url, 'shipyard_slo_watch_rollbacks_total{model="synth"} 1.0')]
    assert len(counted) == 1, "the gateway that rolled back counts it, and only that one"


def test_a_gateway_killed_while_holding_the_watch_hands_it_to_the_other(gateways, fleet):
    leader = _leader(gateways, fleet)
    assert leader is not None
    survivor = next(url for url in gateways if url != leader)
    assert _metric(leader, 'shipyard_slo_watch_leader{model="synth"} 1.0')
    assert _metric(survivor, 'shipyard_slo_watch_state{model="synth",state="elsewhere"} 1.0')
    gateways[leader].send_signal(signal.SIGKILL)
    killed_at = time.monotonic()
    gateways[leader].wait()
    assert eventually(lambda: _leader(gateways, fleet) == survivor, 30), "the surviving gateway did not take the watch"
    assert time.monotonic() - killed_at < 10
    assert eventually(lambda: _metric(survivor, 'shipyard_slo_watch_leader{model="synth"} 1.0'), 5)
    assert set(_send(survivor, "red", 10)) == {(200, "1")}
    assert eventually(lambda: _metric(survivor, 'shipyard_slo_watch_fleet_gateways{model="synth",version="1"} 1.0'), 10)
