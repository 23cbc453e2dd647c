"""``shipyard server``: a real uvicorn process on loopback, over the embedded stores under SHIPYARD_HOME."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import httpx

from shipyard.cli import main
from shipyard.serving.server import free_port


def test_no_auth_is_refused_off_loopback(capsys):
    assert main(["server", "--no-auth", "--host", "0.0.0.0"]) == 2
    assert "allowed only on loopback" in capsys.readouterr().err


def test_the_server_answers_over_http(tmp_path):
    port = free_port()
    env = {**os.environ, "SHIPYARD_HOME": str(tmp_path / "home")}
    env.pop("SHIPYARD_DATABASE_URL", None)
    env.pop("MLFLOW_TRACKING_URI", None)
    process = subprocess.Popen([sys.executable, "-m", "shipyard", "server", "--no-auth", "--port", str(port)],
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            assert process.poll() is None, process.stdout.read()
            try:
                health = httpx.get(f"{base}/api/v1/health", timeout=2)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the server did not answer"
                time.sleep(0.2)
        assert health.json()["status"] == "ok"
        assert httpx.get(f"{base}/api/v1/models").json()["total"] == 0
        missing = httpx.get(f"{base}/api/v1/runs/nope")
        assert missing.status_code == 404 and missing.headers["content-type"] == "application/problem+json"
        assert (tmp_path / "home" / "shipyard.db").exists()
    finally:
        process.terminate()
        output = process.communicate(timeout=30)[0]
    assert f"http://127.0.0.1:{port}/api/v1" in output and "no authentication" in output
