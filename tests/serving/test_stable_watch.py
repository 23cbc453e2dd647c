"""A stable version with no earlier version to return to is paged for, once per breach, never left silent.

Version 1 of 'synth' is its first production version. Its deployment is held to a p99 latency
no model can meet, so every judged window breaches, and the rollback the watch tries is refused.
"""

import dataclasses
import time

import httpx
import pytest
from sqlalchemy import delete

from shipyard.governance.audit import read_events
from shipyard.monitoring.live import LiveDrift
from shipyard.monitoring.profile import build_profile
from shipyard.monitoring.references import save_profile
from shipyard.serving.app import create_app
from shipyard.serving.deployments import Change, change
from shipyard.serving.gateway import Gateway
from shipyard.serving.prediction_log import PredictionLogWriter
from shipyard.serving.stable_watch import watched_plan
from shipyard.serving.traffic import deploy
from shipyard.spec.deployment import DeploymentSpec
from shipyard.spec.monitoring import MonitoringSpec
from shipyard.store.db import session_scope
from shipyard.store.models import GatewayWindow, StableWatch

from monitoring.webhook import Receiver
from tracked_run import FEATURES, split, synthetic_frame
from waiting import eventually

from .conftest import LiveServer

IMPOSSIBLE = {"slo": {"max_p99_latency_ms": 0.001, "min_requests": 20, "window": 30}}


def _hold_to(plan, settings):
    """The deployment's stable version keeps its arms and takes ``plan``'s service levels, as after a rollout."""
    return change("synth", lambda before: Change(
        arms=list(before.arms), routing_key=before.routing_key, action="deployed", version=before.stable_version,
        rollout={"version": before.stable_version, "plan": DeploymentSpec.model_validate(plan).model_dump(mode="json"),
                 "phase": "completed", "history": []}), actor="test", settings=settings)


@pytest.fixture
def served(fleet, tmp_path):
    def start(live_inputs=False, **settings):
        """A gateway following the store; with ``live_inputs``, logging predictions and counting their inputs."""
        gateway = Gateway()
        if live_inputs:
            gateway.live_drift = LiveDrift(fleet)
            gateway.prediction_log = PredictionLogWriter(tmp_path / f"predictions-{len(started)}",
                                                         flush_interval_s=0.05, observers=[gateway.live_drift.observe])
        gateway.follow(settings=dataclasses.replace(fleet, slo_watch_interval_s=0.2, **settings), poll_interval_s=0.1,
                       tick_s=0.1)
        server = LiveServer(create_app(gateway)).__enter__()
        started.append(server)
        server.gateway, server.client = gateway, httpx.Client(base_url=server.url, timeout=10)
        return server

    started = []
    with session_scope(fleet) as session:  # each test's watch starts afresh: no lease, baseline or page remembered
        session.execute(delete(StableWatch).where(StableWatch.model == "synth"))
        session.execute(delete(GatewayWindow).where(GatewayWindow.model == "synth"))
    deploy("synth", "1", actor="test", settings=fleet)
    yield start
    for server in started:
        server.client.close()
        server.__exit__(None, None, None)


def _slow(server, count=30, x1=0.3):
    for _ in range(count):
        response = server.client.post("/models/synth/invocations",
                                      json={"dataframe_records": [{"x1": x1, "x2": -0.1, "color": "red"}]})
        assert response.status_code == 200 and response.headers["x-shipyard-model-version"] == "1"


def _memory(fleet):
    with session_scope(fleet) as session:
        row = session.get(StableWatch, "synth")
        return (row.baseline, row.paged_at) if row is not None else (None, None)


def _events(fleet, action):
    return [e for e in read_events(model="synth", settings=fleet) if e.action == action]


def test_a_deployment_without_a_rollout_plan_is_shown_unwatched(served, fleet):
    server = served()
    assert eventually(lambda: 'shipyard_slo_watch_state{model="synth",state="unwatched"} 1.0'
                 in server.client.get("/metrics").text, 5)


def test_a_breach_with_nothing_to_roll_back_to_pages_once(served, fleet):
    with Receiver() as pager:
        server = served(page_url=pager.url, page_format="alertmanager")
        _hold_to(IMPOSSIBLE, fleet)
        assert eventually(lambda: 'state="not_enough_data"} 1.0' in server.client.get("/metrics").text, 5)
        _slow(server)
        assert eventually(lambda: pager.received, 10), "nobody was paged"
        time.sleep(1.5)  # several more ticks of the same breach
        assert len(pager.received) == 1
        [alert] = pager.received[0]
        assert alert["labels"]["alertname"] == "ShipyardStableVersionBreach"
        assert alert["labels"]["severity"] == "critical" and alert["labels"]["model"] == "synth"
        assert "p99 latency" in alert["annotations"]["description"]
        assert "no earlier production version" in alert["annotations"]["description"]
    [paged] = _events(fleet, "slo_paged")
    assert paged.version == "1" and paged.details["delivered"] is True and paged.actor == "slo-watch"
    assert paged.details["measured"]["fleet"]["requests"] >= 20
    assert not _events(fleet, "slo_rolled_back")
    metrics = server.client.get("/metrics").text
    assert 'shipyard_slo_watch_state{model="synth",state="breached"} 1.0' in metrics
    assert 'shipyard_slo_watch_pages_total{model="synth",outcome="delivered"} 1.0' in metrics
    assert 'shipyard_slo_watch_leader{model="synth"} 1.0' in metrics


def test_a_page_that_cannot_be_delivered_is_audited_and_counted(served, fleet):
    before = len(_events(fleet, "slo_paged"))
    server = served()  # no SHIPYARD_PAGE_URL
    _hold_to(IMPOSSIBLE, fleet)
    _slow(server)
    assert eventually(lambda: len(_events(fleet, "slo_paged")) > before, 10)
    time.sleep(1)
    failed = _events(fleet, "slo_paged")[before:]
    assert len(failed) == 1, "a failed page is tried again after a minute, not at every tick"
    assert failed[0].details["delivered"] is False and "SHIPYARD_PAGE_URL" in failed[0].details["error"]
    assert 'shipyard_slo_watch_pages_total{model="synth",outcome="failed"} 1.0' in server.client.get("/metrics").text


def test_only_a_deployment_with_a_plan_and_no_rollout_running_is_watched(fleet):
    state = _hold_to(IMPOSSIBLE, fleet)
    assert watched_plan(state).slo.max_p99_latency_ms == 0.001
    assert watched_plan(dataclasses.replace(state, rollout={**state.rollout, "phase": "canary"})) is None
    assert watched_plan(dataclasses.replace(state, rollout=None)) is None


def test_the_end_of_a_paged_breach_is_sent_as_resolved_and_audited(served, fleet):
    with Receiver() as pager:
        server = served(page_url=pager.url, page_format="alertmanager")
        _hold_to(IMPOSSIBLE, fleet)
        _slow(server)
        assert eventually(lambda: pager.received, 10), "nobody was paged"
        assert eventually(lambda: _memory(fleet)[1] is not None, 5), "the page was not remembered"
        _hold_to({"slo": {"min_requests": 20, "window": 30}}, fleet)  # the same traffic now meets the plan
        assert eventually(lambda: len(pager.received) == 2, 10), "the end of the breach was not sent"
        time.sleep(1)  # several more ticks within the service levels
        assert len(pager.received) == 2
    [firing], [resolved] = pager.received
    assert resolved["labels"] == firing["labels"]  # Alertmanager resolves the alert it was sent
    assert resolved["startsAt"] <= resolved["endsAt"] < firing["endsAt"]
    assert "back within its service levels" in resolved["annotations"]["summary"]
    [event] = _events(fleet, "slo_resolved")
    assert event.version == "1" and event.actor == "slo-watch" and event.details["delivered"] is True
    assert event.details["measured"]["fleet"]["requests"] >= 20
    assert _memory(fleet)[1] is None, "the next breach pages again"
    assert 'shipyard_slo_watch_pages_total{model="synth",outcome="resolved"} 1.0' in server.client.get("/metrics").text


def test_live_inputs_far_from_the_reference_breach_across_gateways_with_each_feature_psi_audited(served, fleet):
    train, _ = split(synthetic_frame())
    save_profile("synth", "1", build_profile(train[FEATURES]), MonitoringSpec(), settings=fleet)
    before = len(_events(fleet, "slo_paged"))
    first, second = served(live_inputs=True), served(live_inputs=True)
    _hold_to({"slo": {"max_psi": 1.0, "min_requests": 20, "window": 30}}, fleet)
    _slow(first, count=15, x1=8.0)  # far above any x1 in training, but too few values to judge
    time.sleep(1)  # several watch ticks
    assert len(_events(fleet, "slo_paged")) == before
    _slow(second, count=15, x1=8.0)  # the fleet's 30 values are enough
    assert eventually(lambda: len(_events(fleet, "slo_paged")) > before, 15), "the drifted inputs were not judged"
    paged = _events(fleet, "slo_paged")[before]
    psi = paged.details["measured"]["psi"]
    assert set(psi) == {"x1", "x2", "color"} and all(f["rows"] > 15 for f in psi.values())
    assert len(paged.details["measured"]["gateways"]) == 2
    assert psi["x1"]["psi"] > 1.0 and "input drift: PSI of x1" in paged.reason
    leader = next(s for s in (first, second) if s.gateway.watch.status["synth"].leader)
    assert 'shipyard_slo_watch_fleet_psi{feature="x1",model="synth",version="1"}' in leader.client.get("/metrics").text


def test_prediction_shift_is_judged_against_the_first_day_of_traffic(served, fleet):
    before = len(_events(fleet, "slo_paged"))
    server = served(stable_baseline_s=4.0)
    _hold_to({"slo": {"max_prediction_shift": 0.1, "min_requests": 20, "window": 1}}, fleet)
    assert eventually(lambda: 'state="not_enough_data"} 1.0' in server.client.get("/metrics").text, 5)
    _slow(server, count=25, x1=-3.0)
    assert eventually(lambda: _memory(fleet)[0] is not None, 5), "the first traffic did not start the baseline"
    time.sleep(1.5)  # past the first window: the next traffic is still the first day's
    _slow(server, count=25, x1=3.0)
    assert eventually(lambda: (_memory(fleet)[0] or {}).get("complete"), 10), "the first day did not end"
    baseline = _memory(fleet)[0]
    assert set(baseline["labels"]) == {"0", "1"}, "both halves of the first day are in the baseline"
    assert len(_events(fleet, "slo_paged")) == before, "nothing is judged against a baseline still being taken"
    _slow(server, count=25, x1=3.0)
    assert eventually(lambda: len(_events(fleet, "slo_paged")) > before, 10), "a window unlike day one was not judged"
    assert "prediction shift" in _events(fleet, "slo_paged")[-1].reason
    assert _memory(fleet)[0] == baseline, "the baseline stays what the first day was"
