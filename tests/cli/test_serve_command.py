"""``shipyard serve`` as a process: the token requirement and the warning off loopback."""

import os
import signal
import subprocess
import sys
import time

import httpx

from shipyard.serving.server import free_port


def _serve(home, port, *options, env_extra=None):
    env = {**os.environ, "SHIPYARD_HOME": str(home), **(env_extra or {})}
    for name in ("SHIPYARD_DATABASE_URL", "MLFLOW_TRACKING_URI"):
        env.pop(name, None)
    return subprocess.Popen([sys.executable, "-m", "shipyard", "serve", "--port", str(port), "--no-log-predictions",
                             *options], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _until_live(process, port):
    deadline = time.monotonic() + 60
    while True:
        assert process.poll() is None, process.stderr.read()
        assert time.monotonic() < deadline, "the gateway did not start"
        try:
            if httpx.get(f"http://127.0.0.1:{port}/v2/health/live", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)


def _stop(process) -> str:
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=60) == 0
    return process.stdout.read()


def test_serving_off_loopback_without_a_token_requirement_warns(shipyard_home):
    port = free_port()
    process = _serve(shipyard_home, port, "--host", "0.0.0.0", "--require-token", "inference")
    try:
        _until_live(process, port)
        assert httpx.post(f"http://127.0.0.1:{port}/models/churn/invocations", json={}).status_code == 401
        assert httpx.get(f"http://127.0.0.1:{port}/metrics").status_code == 200
    finally:
        stdout = _stop(process)
    assert "tokens required for: inference" in stdout
    assert ("warning: 0.0.0.0 is reachable from other machines and metrics need no token: anyone who reaches "
            f"port {port} can use them; pass --require-token inference,metrics") in stdout


def test_the_requirement_comes_from_the_environment_and_loopback_needs_no_warning(shipyard_home):
    port = free_port()
    process = _serve(shipyard_home, port, env_extra={"SHIPYARD_GATEWAY_REQUIRE_TOKEN": "inference,metrics"})
    try:
        _until_live(process, port)
        assert httpx.get(f"http://127.0.0.1:{port}/metrics").status_code == 401
        assert httpx.post(f"http://127.0.0.1:{port}/v2/models/churn/infer", json={}).status_code == 401
    finally:
        stdout = _stop(process)
    assert "tokens required for: inference, metrics" in stdout and "warning" not in stdout
    process = _serve(shipyard_home, port := free_port(), "--host", "127.0.0.1")
    try:
        _until_live(process, port)
    finally:
        assert "warning" not in _stop(process)
