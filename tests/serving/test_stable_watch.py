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
from shipyard.serving.app import create_app
from shipyard.serving.deployments import Change, change
from shipyard.serving.gateway import Gateway
from shipyard.serving.stable_watch import watched_plan
from shipyard.serving.traffic import deploy
from shipyard.spec.deployment import DeploymentSpec
from shipyard.store.db import session_scope
from shipyard.store.models import GatewayWindow, StableWatch

from monitoring.webhook import Receiver

from .conftest import LiveServer

IMPOSSIBLE = {"slo": {"max_p99_latency_ms": 0.001, "min_requests": 20, "window": 30}}


def _wait(predicate, timeout, interval=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False


def _hold_to(plan, settings):
    """The deployment's stable version keeps its arms and takes ``plan``'s service levels, as after a rollout."""
    return change("synth", lambda before: Change(
        arms=list(before.arms), routing_key=before.routing_key, action="deployed", version=before.stable_version,
        rollout={"version": before.stable_version, "plan": DeploymentSpec.model_validate(plan).model_dump(mode="json"),
                 "phase": "completed", "history": []}), actor="test", settings=settings)


@pytest.fixture
def served(fleet):
    def start(**settings):
        gateway = Gateway()
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


def _slow(server, count=30):
    for _ in range(count):
        response = server.client.post("/models/synth/invocations",
                                      json={"dataframe_records": [{"x1": 0.3, "x2": -0.1, "color": "red"}]})
        assert response.status_code == 200 and response.headers["x-shipyard-model-version"] == "1"


def _events(fleet, action):
    return [e for e in read_events(model="synth", settings=fleet) if e.action == action]


def test_a_deployment_without_a_rollout_plan_is_shown_unwatched(served, fleet):
    server = served()
    assert _wait(lambda: 'shipyard_slo_watch_state{model="synth",state="unwatched"} 1.0'
                 in server.client.get("/metrics").text, 5)


def test_a_breach_with_nothing_to_roll_back_to_pages_once(served, fleet):
    with Receiver() as pager:
        server = served(page_url=pager.url, page_format="alertmanager")
        _hold_to(IMPOSSIBLE, fleet)
        assert _wait(lambda: 'state="not_enough_data"} 1.0' in server.client.get("/metrics").text, 5)
        _slow(server)
        assert _wait(lambda: pager.received, 10), "nobody was paged"
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
    assert _wait(lambda: len(_events(fleet, "slo_paged")) > before, 10)
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
