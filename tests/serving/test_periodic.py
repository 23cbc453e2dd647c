"""A gateway whose PostgreSQL store goes away logs one warning, backs off, counts the failed attempts in
its metrics and logs one line when the store is back."""

from __future__ import annotations

import logging
import time

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from shipyard.config import load_settings
from shipyard.serving.follower import DeploymentFollower
from shipyard.serving.gateway import Gateway
from shipyard.serving.periodic import MAX_BACKOFF_S, Periodic
from shipyard.serving.deployments import revisions

pytestmark = pytest.mark.postgres


def _set_reachable(admin_url: str, database: str, reachable: bool) -> None:
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS {str(reachable).lower()}'))
            if not reachable:
                connection.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                        "WHERE datname = :name AND pid <> pg_backend_pid()"), {"name": database})
    finally:
        admin.dispose()


def _sample(gateway: Gateway, name: str, loop: str) -> float:
    return gateway.metrics.registry.get_sample_value(name, {"loop": loop}) or 0.0


def _wait_for(condition, what: str, within_s: float = 30) -> None:
    deadline = time.monotonic() + within_s
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def test_a_lost_store_is_one_warning_a_count_and_one_line_on_recovery(
        postgres_server_url, new_postgres_database, tmp_path, monkeypatch, caplog):
    url = new_postgres_database()
    database = make_url(url).database
    monkeypatch.setenv("SHIPYARD_DATABASE_URL", url)
    monkeypatch.setenv("SHIPYARD_HOME", str(tmp_path / "home"))
    settings = load_settings()
    revisions(None, settings=settings)  # the schema exists before the outage
    gateway = Gateway()
    follower = DeploymentFollower(gateway, settings=settings, poll_interval_s=0.02)
    caplog.set_level(logging.WARNING, logger="shipyard.serving.periodic")
    follower.start()
    try:
        _set_reachable(postgres_server_url, database, False)
        _wait_for(lambda: follower._loop.failed_attempts >= 4, "the follower never noticed the store was gone")
        outage = [r for r in caplog.records if r.name == "shipyard.serving.periodic"]
        assert len(outage) == 1, [r.getMessage() for r in outage]
        assert outage[0].exc_info is None, "an unreachable store is a warning, not a traceback"
        assert "deployment-follower: could not read deployments" in outage[0].getMessage()
        assert "the metadata database" in outage[0].getMessage()
        assert _sample(gateway, "shipyard_background_loop_failures_total", "deployment-follower") >= 4
        assert _sample(gateway, "shipyard_background_loop_failing", "deployment-follower") == 1
        _set_reachable(postgres_server_url, database, True)
        _wait_for(lambda: follower._loop.failed_attempts == 0, "the follower never recovered", MAX_BACKOFF_S + 30)
    finally:
        _set_reachable(postgres_server_url, database, True)
        follower.stop()
    lines = [r.getMessage() for r in caplog.records if r.name == "shipyard.serving.periodic"]
    assert len(lines) == 2 and "deployment-follower: working again after" in lines[1], lines
    assert _sample(gateway, "shipyard_background_loop_failing", "deployment-follower") == 0


def test_failed_attempts_back_off_to_a_cap():
    loop = Periodic("probe", 0.25, lambda: None, "never")
    waits = []
    for failed in range(8):
        loop.failed_attempts = failed
        waits.append(loop.next_wait_s())
    assert waits[:4] == [0.25, 0.5, 1.0, 2.0]
    assert waits[-1] == MAX_BACKOFF_S and waits == sorted(waits)
