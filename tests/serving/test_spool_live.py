"""`shipyard serve` killed with SIGKILL under load: what the prediction log keeps in each durability."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import httpx
import pytest

from shipyard.serving.app import create_app
from shipyard.serving.gateway import Gateway
from shipyard.serving.loaded import load_for_serving
from shipyard.serving.prediction_log import read_predictions
from shipyard.serving.server import free_port
from shipyard.serving.spool import SpooledPredictionLog

from .conftest import LiveServer

pytestmark = pytest.mark.timeout(300)
FLUSH_S = 1.0


def _start(settings, port, *extra):
    env = {**os.environ, "SHIPYARD_HOME": str(settings.home)}
    for name in ("SHIPYARD_DATABASE_URL", "MLFLOW_TRACKING_URI", "SHIPYARD_PREDICTION_LOG_DURABILITY"):
        env.pop(name, None)
    env["SHIPYARD_PREDICTION_LOG_FLUSH_S"] = str(FLUSH_S)
    return subprocess.Popen([sys.executable, "-m", "shipyard", "serve", "synth:1", "--port", str(port), *extra],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _ready(url, process, timeout=120):
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


def _load_then_kill(url, process, prefix, *, clients=4, before_kill_s=3.0, at_least=0):
    """Send requests from ``clients`` threads, SIGKILL the gateway mid-load (after ``before_kill_s`` and once
    ``at_least`` requests were answered, however loaded the machine); the answered ids and their times."""
    answered: dict[str, float] = {}
    stop = threading.Event()

    def client(n):
        with httpx.Client(base_url=url, timeout=5) as http:
            i = 0
            while not stop.is_set():
                request_id = f"{prefix}-{n}-{i}"
                i += 1
                try:
                    response = http.post("/models/synth/invocations", headers={"x-request-id": request_id},
                                         json={"dataframe_records": [{"x1": i / 100, "x2": 0.0, "color": "red"}]})
                except httpx.TransportError:
                    return
                if response.status_code == 200:
                    answered[request_id] = time.monotonic()

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    time.sleep(before_kill_s)
    deadline = time.monotonic() + 120
    while len(answered) < at_least and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    killed_at = time.monotonic()
    process.wait(timeout=30)
    stop.set()
    for thread in threads:
        thread.join(timeout=10)
    return answered, killed_at


def _logged(settings, prefix):
    frame = read_predictions(settings.prediction_log_root, "synth")
    return frame[frame.request_id.str.startswith(f"{prefix}-")]


def test_spool_durability_loses_nothing_and_duplicates_nothing_across_a_kill(tracked):
    settings = tracked["settings"]
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process = _start(settings, port, "--log-durability", "spool")
    _ready(url, process)
    answered, _ = _load_then_kill(url, process, "durable", at_least=150)
    assert len(answered) > 100
    assert list(settings.prediction_spool_root.glob("*.jsonl")), "the killed gateway left its spool behind"

    restarted = _start(settings, port, "--log-durability", "spool")
    _ready(url, restarted)
    restarted.send_signal(signal.SIGTERM)
    assert restarted.wait(timeout=60) == 0
    out = restarted.stdout.read()
    assert "prediction spool: wrote" in out and "a stopped gateway had spooled" in out, out

    logged = _logged(settings, "durable")
    assert not logged.duplicated(["request_id", "row"]).any(), "a prediction was logged twice"
    missing = set(answered) - set(logged.request_id)
    assert not missing, f"{len(missing)} answered predictions are not in the log"
    # at most the requests in flight at the kill were spooled without their answer reaching the client
    assert len(set(logged.request_id) - set(answered)) <= 4
    assert not list(settings.prediction_spool_root.iterdir()), "the spool is empty after a clean stop"


def test_buffered_durability_loses_at_most_the_flush_interval_on_a_kill(tracked):
    settings = tracked["settings"]
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process = _start(settings, port)
    _ready(url, process)
    answered, killed_at = _load_then_kill(url, process, "buffered", before_kill_s=4.0)
    logged = set(_logged(settings, "buffered").request_id)
    lost = {request_id: killed_at - at for request_id, at in answered.items() if request_id not in logged}
    assert logged, "nothing was written before the kill"
    # the documented bound: the flush interval, plus the file being written when the process died
    assert max(lost.values(), default=0) <= FLUSH_S + 0.5, sorted(lost.values())[-5:]


def test_a_prediction_that_cannot_reach_the_durable_log_is_not_answered(tracked, tmp_path):
    loaded = load_for_serving("synth", "1", settings=tracked["settings"], compile=False)
    spool = SpooledPredictionLog(tmp_path / "log", tmp_path / "spool", flush_interval_s=3600)
    (tmp_path / "spool").mkdir()
    os.symlink("/dev/full", tmp_path / "spool" / f"{spool.owner}.00000001.jsonl")  # no space left on the spool
    gateway = Gateway.pinned([loaded], prediction_log=spool)
    with LiveServer(create_app(gateway)) as server:
        response = httpx.post(f"{server.url}/models/synth/invocations", timeout=10,
                              json={"dataframe_records": [{"x1": 0.1, "x2": 0.2, "color": "red"}]})
    assert response.status_code == 503
    assert "could not be written to the durable prediction log" in response.json()["error"]
