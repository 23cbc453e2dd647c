"""The watch's rows on SQLite and PostgreSQL: one holder per model's watch, and the gateways' fresh windows."""

import subprocess
import sys
import threading
from datetime import timedelta

from sqlalchemy import update

from shipyard.config import load_settings
from shipyard.serving import fleet_store
from shipyard.serving.fleet_window import FleetWindow
from shipyard.store.db import session_scope
from shipyard.store.models import GatewayWindow, StableWatch, utcnow

ELSEWHERE = "another-host.example:4242:0badcafe"


def _dead_local_owner():
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    import socket

    return f"{socket.gethostname()}:{process.pid}:deadbeef"


def test_one_gateway_holds_a_models_watch_until_its_lease_lapses(database_url):
    settings = load_settings()
    assert fleet_store.claim_watch("m", ELSEWHERE, lease_s=30, settings=settings) is not None
    assert fleet_store.claim_watch("m", "here:1:aa", lease_s=30, settings=settings) is None
    assert fleet_store.claim_watch("m", ELSEWHERE, lease_s=30, settings=settings) is not None  # renewed
    assert fleet_store.remember("m", ELSEWHERE, version="3", baseline={"requests": 5, "labels": {"1": 5}},
                                settings=settings)
    assert not fleet_store.remember("m", "here:1:aa", version="4", settings=settings)
    with session_scope(settings) as s:
        s.execute(update(StableWatch).values(lease_expires_at=utcnow() - timedelta(seconds=1)))
    memory = fleet_store.claim_watch("m", "here:1:aa", lease_s=30, settings=settings)
    assert memory is not None and memory.version == "3" and memory.baseline["labels"] == {"1": 5}
    assert fleet_store.watch_holder("m", settings=settings).owner == "here:1:aa"
    fleet_store.release_watch("m", "here:1:aa", settings=settings)
    assert fleet_store.claim_watch("m", ELSEWHERE, lease_s=30, settings=settings) is not None


def test_a_dead_holder_on_this_host_loses_the_watch_at_once(database_url):
    settings = load_settings()
    dead = _dead_local_owner()
    assert fleet_store.claim_watch("m", dead, lease_s=3600, settings=settings) is not None
    assert fleet_store.claim_watch("m", "here:1:aa", lease_s=30, settings=settings) is not None


def test_gateways_racing_for_a_new_watch_get_one_holder(database_url):
    settings = load_settings()
    won, start = [], threading.Barrier(6)

    def race(owner):
        start.wait()
        if fleet_store.claim_watch("m", owner, lease_s=30, settings=settings) is not None:
            won.append(owner)

    threads = [threading.Thread(target=race, args=(f"racer.example:{i}:00",)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(won) == 1 and fleet_store.watch_holder("m", settings=settings).owner == won[0]


def test_only_fresh_windows_of_the_watched_version_count(database_url):
    settings = load_settings()
    fleet_store.publish("m", "a", "3", 60, FleetWindow(requests=10, errors=1), settings=settings)
    fleet_store.publish("m", "a", "3", 60, FleetWindow(requests=12, errors=2), settings=settings)
    fleet_store.publish("m", "b", "3", 60, FleetWindow(requests=7), settings=settings)
    fleet_store.publish("m", "c", "2", 60, FleetWindow(requests=50), settings=settings)
    fleet_store.publish("other", "a", "3", 60, FleetWindow(requests=99), settings=settings)
    with session_scope(settings) as s:
        s.execute(update(GatewayWindow).where(GatewayWindow.gateway == "b")
                  .values(published_at=utcnow() - timedelta(seconds=30)))
    windows = fleet_store.fresh_windows("m", "3", fresh_s=5, settings=settings)
    assert windows == {"a": FleetWindow(requests=12, errors=2)}
    fleet_store.forget_gateway("a", settings=settings)
    assert fleet_store.fresh_windows("m", "3", fresh_s=60, settings=settings) == {"b": FleetWindow(requests=7)}
