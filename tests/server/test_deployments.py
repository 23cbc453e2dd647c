"""``/api/v1/deployments``: deploy, show, set traffic, roll back, rollout state (versions 1 and 2)."""

from __future__ import annotations

from server.conftest import assert_problem


def _arms(body: dict) -> dict:
    return {a["role"]: (a["version"], a["weight"], a["share"]) for a in body["arms"]}


def test_deploy_split_and_roll_back(client):
    assert_problem(client.get("/api/v1/deployments/churny"), 404, detail="not deployed")
    assert_problem(client.post("/api/v1/deployments/churny", json={"version": "2", "strategy": "canary"}), 409,
                   detail="no stable version deployed")
    stable = client.post("/api/v1/deployments/churny", json={"version": "1", "reason": "first"})
    assert stable.status_code == 200, stable.text
    assert _arms(stable.json()) == {"stable": ("1", 0.0, 1.0)} and stable.json()["updated_by"] == "tester"
    assert client.get("/api/v1/models/churny/versions/1").json()["state"] == "production"
    canary = client.post("/api/v1/deployments/churny", json={"version": "2", "strategy": "canary", "percent": 10})
    assert _arms(canary.json())["canary"] == ("2", 0.1, 0.1)
    changed = client.put("/api/v1/deployments/churny/traffic", json={"canary": {"version": "2", "percent": 25},
                                                                   "shadow": {"version": "2"}})
    assert _arms(changed.json()) == {"stable": ("1", 0.0, 0.75), "canary": ("2", 0.25, 0.25),
                                     "shadow": ("2", 1.0, None)} or _arms(changed.json())["canary"][1] == 0.25
    removed = client.put("/api/v1/deployments/churny/traffic", json={"shadow": None})
    assert "shadow" not in _arms(removed.json()) and "canary" in _arms(removed.json())
    listed = client.get("/api/v1/deployments").json()
    deployed = [d["model"] for d in listed["items"]]  # other modules' tests may have deployed models of their own
    assert "churny" in deployed and listed["total"] == len(deployed) == len(set(deployed))
    assert client.get("/api/v1/deployments/churny/rollout").json() == {"model": "churny", "active": False,
                                                                       "rollout": None}
    back = client.post("/api/v1/deployments/churny/rollback", json={"reason": "p99 doubled"})
    assert _arms(back.json()) == {"stable": ("1", 0.0, 1.0)}
    assert client.get("/api/v1/models/churny/versions/2").json()["state"] == "rolled_back"


def test_deployment_mistakes_are_client_errors(client):
    assert_problem(client.post("/api/v1/deployments/churny", json={"version": "99"}), 404)
    assert_problem(client.post("/api/v1/deployments/churny", json={"version": "1", "percent": 150}), 422)
    assert_problem(client.post("/api/v1/deployments/churny", json={"version": "1", "strategy": "teleport"}), 422)
    assert_problem(client.post("/api/v1/deployments/churny", json={"version": "1", "strategy": "ab",
                                                                   "routing_key": "cookie"}), 422,
                   detail="routing_key")
    assert_problem(client.post("/api/v1/deployments/churny", json={"version": "1", "strategy": "rollout",
                                                                   "plan": {"canary": {"steps": "lots"}}}), 422)
    assert_problem(client.put("/api/v1/deployments/churny/traffic", json={"reason": "x"}), 422,
                   detail="nothing to change")
    assert_problem(client.put("/api/v1/deployments/churny/traffic", json={"stable": None}), 422)
    assert_problem(client.post("/api/v1/deployments/churny/rollback", json={}), 422)
    assert_problem(client.post("/api/v1/deployments/churny/rollback", json={"reason": "x", "force": "maybe"}), 422,
                   detail="force")
    assert_problem(client.get("/api/v1/deployments/nobody/rollout"), 404)


def test_fleet_figures_add_up_the_fresh_windows_per_arm(client, platform):
    from datetime import timedelta

    import numpy as np
    from sqlalchemy import update

    from shipyard.serving.fleet_store import forget_gateway, publish
    from shipyard.serving.fleet_window import FleetWindow, latency_counts
    from shipyard.store.db import session_scope
    from shipyard.store.models import GatewayWindow, utcnow

    settings = platform["settings"]
    if client.get("/api/v1/deployments/churny").status_code == 404:
        client.post("/api/v1/deployments/churny", json={"version": "1", "reason": "first"}).raise_for_status()
    stable = client.get("/api/v1/deployments/churny").json()["arms"][0]["version"]
    fast, slow = np.full(99, 0.010), np.full(1, 0.500)
    windows = {"gw-a": FleetWindow(requests=100, errors=2, latencies=latency_counts(np.concatenate([fast, slow]))),
               "gw-b": FleetWindow(requests=50, errors=1, latencies=latency_counts(np.full(49, 0.010))),
               "gw-stale": FleetWindow(requests=1000, errors=1000, latencies=latency_counts(np.full(5, 9.0)))}
    for gateway, window in windows.items():
        publish("churny", gateway, stable, 60.0, window, settings=settings)
    publish("churny", "gw-old", "99", 60.0, FleetWindow(requests=7, errors=0), settings=settings)
    with session_scope(settings) as session:
        session.execute(update(GatewayWindow).where(GatewayWindow.gateway == "gw-stale")
                        .values(published_at=utcnow() - timedelta(hours=1)))
    try:
        body = client.get("/api/v1/deployments/churny/fleet").json()
    finally:
        for gateway in (*windows, "gw-old"):  # the platform is shared: no other test's watch may read these
            forget_gateway(gateway, settings=settings)
    assert body["model"] == "churny" and body["fresh_s"] == 3 * settings.slo_watch_interval_s + 1
    first, gone = body["arms"]
    assert (first["arm"], first["version"], first["gateways"]) == ("stable", stable, 2)
    assert (first["requests"], first["errors"]) == (150, 3) and first["error_rate"] == 3 / 150
    assert 10.0 <= first["p99_ms"] <= 11.0  # 1 slow of 148 timed requests: under 1%
    assert (gone["arm"], gone["version"], gone["requests"], gone["error_rate"], gone["p99_ms"]) == (
        None, "99", 7, 0.0, None)
    assert_problem(client.get("/api/v1/deployments/nobody/fleet"), 404, detail="not deployed")
