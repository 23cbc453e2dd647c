"""Real `shipyard serve` processes: two replicas on one PostgreSQL store converge; SIGTERM drains the log."""

import os
import signal
import subprocess
import sys
import time

import httpx
import pytest

from shipyard.serving.prediction_log import read_predictions
from shipyard.serving.server import free_port
from shipyard.serving.traffic import deploy

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def mlflow_home(tmp_path_factory, new_postgres_database):
    """This module's registry lives in a fresh PostgreSQL database (MLflow stays on SQLite under the home)."""
    from shipyard.config import load_settings
    from shipyard.store.db import reset_engines

    home = tmp_path_factory.mktemp("home")
    patch = pytest.MonkeyPatch()
    patch.setenv("SHIPYARD_HOME", str(home))
    patch.setenv("SHIPYARD_DATABASE_URL", new_postgres_database("shipyard_replicas"))
    patch.delenv("MLFLOW_TRACKING_URI", raising=False)
    reset_engines()
    yield load_settings()
    patch.undo()
    reset_engines()


def _start(settings, port, *extra):
    env = {**os.environ, "SHIPYARD_HOME": str(settings.home), "SHIPYARD_DATABASE_URL": settings.database_url}
    return subprocess.Popen([sys.executable, "-m", "shipyard", "serve", "synth", "--port", str(port), *extra],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _ready(url, process, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stdout.read()
        try:
            if httpx.get(f"{url}/v2/health/ready", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{url} did not become ready")


def _version(url):
    return httpx.post(f"{url}/models/synth/invocations", timeout=5,
                      json={"dataframe_records": [{"x1": 0.1, "x2": 0.2, "color": "red"}]}
                      ).headers["x-shipyard-model-version"]


@pytest.fixture(scope="module")
def replicas(fleet):
    deploy("synth", "1", actor="test", settings=fleet)
    ports = [free_port(), free_port()]
    processes = [_start(fleet, port, "--log-flush-interval", "600") for port in ports]
    urls = [f"http://127.0.0.1:{port}" for port in ports]
    try:
        for url, process in zip(urls, processes):
            _ready(url, process)
        yield list(zip(urls, processes))
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()


def test_two_replicas_converge_on_a_deployment_change_within_two_seconds(replicas, fleet):
    assert [_version(url) for url, _ in replicas] == ["1", "1"]
    changed_at = time.monotonic()
    deploy("synth", "2", actor="test", settings=fleet)
    converged = {}
    while len(converged) < 2 and time.monotonic() - changed_at < 10:
        for url, _ in replicas:
            if url not in converged and _version(url) == "2":
                converged[url] = time.monotonic() - changed_at
        time.sleep(0.02)
    assert len(converged) == 2, f"only {converged} switched to version 2"
    assert max(converged.values()) < 2.0, converged


def test_sigterm_drains_the_prediction_log(replicas, fleet):
    url, process = replicas[0]
    with httpx.Client(base_url=url, timeout=5) as client:
        for i in range(300):
            response = client.post("/models/synth/invocations", headers={"x-request-id": f"drain-{i}"},
                                   json={"dataframe_records": [{"x1": i / 100, "x2": 0.0, "color": "blue"}] * 2})
            assert response.status_code == 200
    assert read_predictions(fleet.prediction_log_root, "synth").empty  # still buffered: flushes every 600 s
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0
    frame = read_predictions(fleet.prediction_log_root, "synth")
    drained = frame[frame.request_id.str.startswith("drain-")]
    assert len(drained) == 600 and drained.request_id.nunique() == 300
    assert set(drained.feature_color) == {"blue"}
