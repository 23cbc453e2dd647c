"""A gateway following the store on loopback: every routing mode, automatic rollback, hot swap under load.

The tests tell one story on one registry (see the ``fleet`` fixture), so they run in file order.
"""

import json
import re
import threading
import time
from collections import Counter

import httpx
import pytest

from shipyard.governance.audit import read_events
from shipyard.registry import lifecycle
from shipyard.serving import rollout as rollouts
from shipyard.serving.app import create_app
from shipyard.serving.gateway import Gateway
from shipyard.serving.prediction_log import PredictionLogWriter, read_predictions
from shipyard.serving.traffic import deploy, rollback, set_traffic
from shipyard.spec.deployment import DeploymentSpec
from waiting import eventually

from .conftest import LiveServer


def _row(color="red", x1=0.3):
    return {"dataframe_records": [{"x1": x1, "x2": -0.1, "color": color}]}


@pytest.fixture
def gateway(fleet, tmp_path):
    """A live gateway following the deployment of 'synth' closely (polls every 0.1 s)."""
    if lifecycle.production_version("synth", settings=fleet) == "1":
        deploy("synth", "1", actor="test", settings=fleet)
    log = PredictionLogWriter(tmp_path / "predictions", flush_interval_s=0.1)
    gateway = Gateway(prediction_log=log)
    gateway.follow(settings=fleet, poll_interval_s=0.1, tick_s=0.1)
    with LiveServer(create_app(gateway)) as server, httpx.Client(base_url=server.url, timeout=10) as client:
        server.gateway, server.client, server.log = gateway, client, log
        yield server


def routed(server, revision):
    return eventually(lambda: server.gateway.routes["synth"].revision >= revision, 60, 0.02)


def test_canary_takes_its_share_and_says_so_in_headers(gateway, fleet):
    state = set_traffic("synth", {"canary": ("2", 0.3)}, actor="test", settings=fleet)
    assert routed(gateway, state.revision)
    seen = Counter()
    for _ in range(400):
        response = gateway.client.post("/models/synth/invocations", json=_row())
        assert response.status_code == 200
        seen[(response.headers["x-shipyard-arm"], response.headers["x-shipyard-model-version"])] += 1
    assert set(seen) == {("stable", "1"), ("canary", "2")}
    assert 0.2 < seen[("canary", "2")] / 400 < 0.4
    set_traffic("synth", {"canary": None}, actor="test", settings=fleet)


def test_a_b_is_sticky_per_user(gateway, fleet):
    state = set_traffic("synth", {"ab": ("2", 0.5)}, routing_key="header:x-user-id", actor="test", settings=fleet)
    assert routed(gateway, state.revision)
    arms = {}
    for user in (f"user-{i}" for i in range(40)):
        answers = {gateway.client.post("/v2/models/synth/infer", headers={"x-user-id": user}, json={
            "inputs": [{"name": "x1", "shape": [1], "datatype": "FP64", "data": [0.1]},
                       {"name": "x2", "shape": [1], "datatype": "FP64", "data": [0.2]},
                       {"name": "color", "shape": [1], "datatype": "BYTES", "data": ["blue"]}]}
        ).headers["x-shipyard-arm"] for _ in range(3)}
        assert len(answers) == 1, f"{user} moved between arms: {answers}"
        arms[user] = answers.pop()
    assert set(arms.values()) == {"stable", "ab"}
    set_traffic("synth", {"ab": None}, actor="test", settings=fleet)


def test_shadow_is_mirrored_off_the_request_path_and_logged(gateway, fleet):
    state = set_traffic("synth", {"shadow": ("3", 1.0)}, actor="test", settings=fleet)
    assert routed(gateway, state.revision)
    ids = []
    for color in ["red"] * 10 + ["purple"] * 10:  # version 3 fails on a colour it never saw
        response = gateway.client.post("/models/synth/invocations", json=_row(color),
                                       headers={"x-request-id": f"r-{len(ids)}"})
        assert response.status_code == 200 and response.headers["x-shipyard-arm"] == "stable"
        assert response.headers["x-shipyard-model-version"] == "1"
        ids.append(response.headers["x-request-id"])

    def shadow_rows_logged() -> int:  # the mirrored calls end off the request path, maybe after a flush
        gateway.log.flush()
        return len(read_predictions(gateway.log.root, "synth").query("arm == 'shadow'"))

    assert eventually(lambda: shadow_rows_logged() == 10, 60, 0.02)
    frame = read_predictions(gateway.log.root, "synth")
    shadow = frame[frame.arm == "shadow"]
    assert set(shadow.version) == {"3"} and set(shadow.request_id) == set(ids[:10])
    assert set(frame[frame.arm == "stable"].request_id) == set(ids)
    metrics = gateway.client.get("/metrics").text
    assert 'shipyard_request_errors_total{arm="shadow",code="500",model="synth",protocol="mlflow",version="3"} 10.0' \
        in metrics
    set_traffic("synth", {"shadow": None}, actor="test", settings=fleet)


def test_a_version_that_fails_its_warm_up_never_gets_traffic(gateway, fleet):
    lifecycle.transition("synth", "4", "staging", actor="test", settings=fleet)
    state = set_traffic("synth", {"canary": ("4", 1.0)}, actor="test", settings=fleet)
    assert eventually(lambda: gateway.gateway.follower.seen.get("synth") == state.revision, 60, 0.02)
    for _ in range(20):
        response = gateway.client.post("/models/synth/invocations", json=_row())
        assert response.status_code == 200 and response.headers["x-shipyard-model-version"] == "1"
    assert ("synth", "4") in gateway.gateway.follower.failed
    failures = [e for e in read_events(model="synth", settings=fleet) if e.action == "load_failed"]
    assert failures and failures[-1].version == "4" and "warm-up" in failures[-1].reason
    assert 'shipyard_version_load_failures_total{model="synth",version="4"} 1.0' in gateway.client.get("/metrics").text
    set_traffic("synth", {"canary": None}, actor="test", settings=fleet)


def test_a_failing_canary_is_rolled_back_within_five_seconds(gateway, fleet):
    plan = DeploymentSpec.model_validate({"canary": {"steps": [50, 100], "min_dwell_s": 600, "min_requests": 50},
                                          "slo": {"max_error_rate": 0.05, "min_requests": 10}})
    state = rollouts.start_rollout("synth", "3", plan, actor="test", settings=fleet)
    assert routed(gateway, state.revision)
    canary_failures, measurable_at, statuses = 0, None, Counter()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        response = gateway.client.post("/models/synth/invocations", json=_row("purple"))
        statuses[response.status_code] += 1
        if response.status_code == 500:
            assert response.headers.get("content-type") == "application/json"
            assert "version 3 (canary arm) failed to predict" in response.json()["error"]
            canary_failures += 1
            if canary_failures == 10:
                measurable_at = time.monotonic()
        if measurable_at and "canary" not in gateway.gateway.routes["synth"].arms():
            break
    assert measurable_at is not None, statuses
    taken_out_after = time.monotonic() - measurable_at
    assert taken_out_after < 5, f"the canary kept traffic for {taken_out_after:.1f} s after the breach"
    for _ in range(20):
        assert gateway.client.post("/models/synth/invocations", json=_row("purple")).status_code == 200
    assert lifecycle.get_state("synth", "3", settings=fleet).state == "rolled_back"
    event = [e for e in read_events(model="synth", settings=fleet) if e.action == "rollout_rolled_back"][-1]
    measured = event.details["measured"]["trial"]
    assert measured["requests"] >= 10 and measured["error_rate"] > 0.05 and "error rate" in event.reason
    assert 'shipyard_rollout_rollbacks_total{model="synth"} 1.0' in gateway.client.get("/metrics").text


POISON = [
    ("/models/synth/invocations", {"dataframe_records": [{"x1": 10**400, "x2": 0.1, "color": "red"}]}),
    ("/models/synth/invocations", {"dataframe_split": {"columns": 7, "data": [[0.1, 0.2, "red"]]}}),
    ("/models/synth/invocations", {"inputs": {"x1": [float("inf")], "x2": [0.1], "color": ["red"]}}),
    ("/v2/models/synth/infer", {"inputs": [{"name": "x1", "shape": [1], "datatype": "FP64", "data": [10**400]},
                                           {"name": "x2", "shape": [1], "datatype": "FP64", "data": [0.2]},
                                           {"name": "color", "shape": [1], "datatype": "BYTES", "data": ["red"]}]}),
    ("/v2/models/synth/infer", {"inputs": [{"name": "x1", "shape": [1], "datatype": "FP64", "data": [0.1]}],
                                "outputs": ["predict"]}),
]


def test_invalid_requests_never_count_against_a_canary(gateway, fleet):
    plan = DeploymentSpec.model_validate({"canary": {"steps": [70, 100], "min_dwell_s": 600, "min_requests": 50},
                                          "slo": {"max_error_rate": 0.05, "min_requests": 10}})
    state = rollouts.start_rollout("synth", "2", plan, actor="test", settings=fleet)
    assert routed(gateway, state.revision)
    since, statuses = time.time(), Counter()
    for i in range(300):
        path, body = POISON[i % len(POISON)]
        response = gateway.client.post(path, content=json.dumps(body), headers={"content-type": "application/json"})
        statuses[response.status_code] += 1
    assert set(statuses) <= {422}, statuses
    for _ in range(20):
        assert gateway.client.post("/models/synth/invocations", json=_row()).status_code == 200
    time.sleep(1)  # several controller ticks
    canary = gateway.gateway.stats.window("synth", "2", "canary", since)
    assert canary.errors == 0 and canary.requests < 20
    assert gateway.gateway.routes["synth"].canary.version == "2"
    assert lifecycle.get_state("synth", "2", settings=fleet).state == "staging"
    metrics = gateway.client.get("/metrics").text
    assert re.search(r'shipyard_request_errors_total\{arm="canary",code="422",model="synth",protocol="(mlflow|v2)",'
                     r'version="2"\} \d+', metrics)


def test_a_healthy_rollout_advances_to_stable(gateway, fleet):
    plan = DeploymentSpec.model_validate({"shadow": {"duration_s": 0.3, "min_requests": 5},
                                          "canary": {"steps": [50, 100], "min_dwell_s": 0.3, "min_requests": 10},
                                          "slo": {"max_error_rate": 0.01, "min_requests": 10}})
    rollouts.start_rollout("synth", "2", plan, actor="test", settings=fleet)
    phases = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert gateway.client.post("/models/synth/invocations", json=_row()).status_code == 200
        route = gateway.gateway.routes["synth"]
        if not phases or phases[-1] != route.phase:
            phases.append(route.phase)
        if route.phase == "completed" and route.stable.version == "2":
            break
    assert phases[-1] == "completed", phases
    assert "shadow" in phases and "canary" in phases
    assert lifecycle.get_state("synth", "2", settings=fleet).state == "production"
    assert lifecycle.get_state("synth", "1", settings=fleet).state == "archived"
    actions = [e.action for e in read_events(model="synth", settings=fleet) if e.action.startswith("rollout_")]
    assert actions[-4:] == ["rollout_started", "rollout_advanced", "rollout_advanced", "rollout_completed"]


def test_hot_swap_under_load_loses_no_request(gateway, fleet):
    assert gateway.gateway.routes["synth"].stable.version == "2"
    assert ("synth", "1") not in gateway.gateway.loaded  # the swap has to load version 1 while serving
    results, stop = Counter(), threading.Event()

    def hammer():
        with httpx.Client(base_url=gateway.url, timeout=10) as client:
            while not stop.is_set():
                response = client.post("/models/synth/invocations", json=_row())
                results[(response.status_code, response.headers.get("x-shipyard-model-version"))] += 1

    workers = [threading.Thread(target=hammer) for _ in range(8)]
    for worker in workers:
        worker.start()
    time.sleep(0.5)
    state = rollback("synth", actor="test", reason="hot swap under load", settings=fleet)
    assert state.stable_version == "1"
    assert routed(gateway, state.revision)
    time.sleep(0.5)
    stop.set()
    for worker in workers:
        worker.join()
    assert {status for status, _ in results} == {200}, results
    assert results[(200, "2")] > 0 and results[(200, "1")] > 0
