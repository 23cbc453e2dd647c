"""A deploy killed with SIGKILL at its most delicate moments leaves production and traffic in step,
on SQLite and PostgreSQL; MLflow's mirror, the one part outside the transaction, is repaired by reconcile."""

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

import shipyard
from shipyard.config import load_settings
from shipyard.governance.audit import verify_chain
from shipyard.registry import lifecycle
from shipyard.serving.deployments import deployment_problems, find_deployment
from shipyard.serving.traffic import deploy
from shipyard.tracking.setup import configure_mlflow
from lifecycle_moves import move
from signed_model import signed_model_folder

SOURCE_ROOT = str(Path(shipyard.__file__).resolve().parents[1])


@pytest.fixture
def deployed(database_url, tmp_path):
    """'churn' version 1 in production and deployed, version 2 in staging."""
    configure_mlflow(load_settings())
    client = MlflowClient()
    client.create_registered_model("churn")
    for _ in range(2):
        version = client.create_model_version("churn", source=signed_model_folder(tmp_path / "model"))
        lifecycle.register_candidate("churn", version.version, actor="pipeline")
    for version, path in (("1", ("staging", "production")), ("2", ("staging",))):
        for state in path:
            move("churn", version, state)
    deploy("churn", 1, actor="alice")
    return client


def _start_deploy(version: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": SOURCE_ROOT, "SHIPYARD_ACTOR": "ops"}
    return subprocess.Popen([sys.executable, "-m", "shipyard", "deploy", "churn", version], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _wait_for(condition, process: subprocess.Popen, what: str, timeout_s: float = 180) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if process.poll() is not None:
            pytest.fail(f"the deploy ended (exit {process.returncode}) before {what}: "
                        f"{process.stderr.read().decode()[-2000:]}")
        assert time.monotonic() < deadline, f"the deploy never reached {what}"
        time.sleep(0.05)


def _kill(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGKILL)
    assert process.wait(timeout=30) == -signal.SIGKILL


def _in_step() -> tuple[str | None, str | None]:
    assert deployment_problems("churn") == []
    assert verify_chain().ok
    return lifecycle.production_version("churn"), find_deployment("churn").stable_version


def test_killed_after_commit_leaves_production_and_traffic_together_and_mlflow_repairable(deployed):
    """MLflow's store is write-locked by the test: the deploy commits, then freezes mirroring, and is killed."""
    revision = find_deployment("churn").revision
    mlflow_db = sqlite3.connect(make_url(load_settings().mlflow_tracking_uri).database, isolation_level=None,
                                timeout=30)
    mlflow_db.execute("BEGIN IMMEDIATE")
    process = _start_deploy("2")
    try:
        _wait_for(lambda: lifecycle.get_state("churn", "2").state != "staging"
                  or find_deployment("churn").revision != revision, process, "its first commit")
        _kill(process)
    finally:
        process.kill()
        mlflow_db.execute("ROLLBACK")
        mlflow_db.close()
    assert _in_step() == ("2", "2")
    assert lifecycle.get_state("churn", "1").state == "archived"
    assert str(deployed.get_registered_model("churn").aliases["champion"]) == "1"  # the mirror never ran
    repaired = {(r.version, r.state) for r in lifecycle.reconcile()}
    assert repaired == {("1", "archived"), ("2", "production")}
    assert str(deployed.get_registered_model("churn").aliases["champion"]) == "2"
    assert deployed.get_model_version("churn", "1").tags["shipyard.state"] == "archived"


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_killed_while_waiting_for_the_deployment_lock_changes_nothing(deployed, database_url):
    """The test holds the deployment's row lock, so the deploy freezes inside its transaction and is killed."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as holder:
            holder.execute(text("SELECT revision FROM deployments WHERE model = 'churn' FOR UPDATE"))
            process = _start_deploy("2")
            try:
                _wait_for(lambda: _waiting_on_a_lock(engine) or lifecycle.get_state("churn", "2").state != "staging",
                          process, "the deployment's lock")
                _kill(process)
            finally:
                process.kill()
                holder.rollback()
    finally:
        engine.dispose()
    assert _in_step() == ("1", "1")
    assert lifecycle.get_state("churn", "2").state == "staging"
    assert lifecycle.reconcile() == []
    assert deploy("churn", 2, actor="alice").stable_version == "2" and _in_step() == ("2", "2")


def _waiting_on_a_lock(engine) -> bool:
    with engine.connect() as connection:
        return bool(connection.execute(text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()")).scalar())
