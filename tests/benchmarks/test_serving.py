import importlib.util
import json
import shutil
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"

# loaded under its own name: `serving` is also the test package tests/serving
_spec = importlib.util.spec_from_file_location("benchmark_serving", BENCHMARKS / "serving.py")
_serving = sys.modules["benchmark_serving"] = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_serving)
LUA, TOKEN_LUA, v2_body, wrk = _serving.LUA, _serving.TOKEN_LUA, _serving.v2_body, _serving.wrk


def test_the_v2_body_types_each_column_as_the_open_inference_protocol_does():
    body = json.loads(v2_body(["age", "plan", "charges"], [55, "premium", 83.5]))
    assert body["parameters"] == {"content_type": "pd"}
    assert [(i["name"], i["datatype"], i["shape"], i["data"]) for i in body["inputs"]] == [
        ("age", "INT64", [1], [55]), ("plan", "BYTES", [1], ["premium"]), ("charges", "FP64", [1], [83.5])]
    assert body["outputs"] == [{"name": "predict"}, {"name": "predict_proba"}]


class _Answer(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802
        self.rfile.read(int(self.headers["Content-Length"]))
        authorized = self.headers.get("Authorization") == "Bearer shy_abc"
        status = 200 if self.path == "/ok" or (self.path == "/token" and authorized) else 503
        self.send_response(status)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed (apt-get install wrk)")
def test_wrk_figures_come_from_a_real_run_and_count_failed_answers(tmp_path):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Answer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    script = tmp_path / "post.lua"
    script.write_text(LUA % json.dumps({"x": 1}))
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        ok = wrk(f"{base}/ok", script, 1, 1)
        failing = wrk(f"{base}/fail", script, 1, 1)
    finally:
        server.shutdown()
    assert ok["rps"] > 0 and 0 < ok["p50"] <= ok["p99"] and ok["non2xx"] == 0
    assert failing["non2xx"] > 0


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed (apt-get install wrk)")
def test_the_token_side_sends_its_token_with_every_request(tmp_path):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Answer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    bare, with_token = tmp_path / "bare.lua", tmp_path / "token.lua"
    bare.write_text(LUA % json.dumps({"x": 1}))
    with_token.write_text(LUA % json.dumps({"x": 1}) + TOKEN_LUA % "shy_abc")
    base = f"http://127.0.0.1:{server.server_address[1]}/token"
    try:
        refused, accepted = wrk(base, bare, 1, 1), wrk(base, with_token, 1, 1)
    finally:
        server.shutdown()
    assert refused["non2xx"] > 0 and accepted["rps"] > 0 and accepted["non2xx"] == 0


def test_the_benchmark_token_grants_inference(tmp_path, monkeypatch):
    import os

    from shipyard.governance.token_grants import read_grants
    from shipyard.governance.tokens import token_hash
    from shipyard.store.db import reset_engines

    home = tmp_path / "home"
    env = {**os.environ, "SHIPYARD_HOME": str(home)}
    env.pop("SHIPYARD_DATABASE_URL", None)
    secret = _serving.inference_token(env)
    monkeypatch.setenv("SHIPYARD_HOME", str(home))
    monkeypatch.delenv("SHIPYARD_DATABASE_URL", raising=False)
    reset_engines()
    try:
        grant = read_grants()[token_hash(secret)]
    finally:
        reset_engines()
    assert grant.identity == "svc:scorer" and grant.scopes == {"inference"} and not grant.revoked


def test_the_token_cost_is_judged_against_five_percent_at_sixteen_connections():
    token_cost = _serving.token_cost
    # ratio: the token side's throughput over the open side's (or the open side's latency over the token side's)
    assert token_cost(1 / 1.03, 16) == "the token costs +3.0%, goal ≤ 5%: met"
    assert token_cost(1 / 1.08, 16) == "the token costs +8.0%, goal ≤ 5%: not met"
    assert token_cost(1.02, 16).startswith("the token costs -2.0%") and token_cost(1.02, 16).endswith(": met")
    assert token_cost(1 / 1.08, 1) == "the token costs +8.0%"


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed (apt-get install wrk)")
def test_wrk_counts_requests_slower_than_its_timeout_as_socket_errors(tmp_path):
    class Slow(_Answer):
        def do_POST(self):  # noqa: N802
            import time

            time.sleep(3.0 if self.path == "/slow" else 0.6)
            self.path = "/ok"
            try:
                super().do_POST()
            except BrokenPipeError:
                pass  # wrk gave up waiting

    server = ThreadingHTTPServer(("127.0.0.1", 0), Slow)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    script = tmp_path / "post.lua"
    script.write_text(LUA % json.dumps({"x": 1}))
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        timed_out = wrk(f"{base}/slow", script, 1, 4, timeout=1)
        waited = wrk(f"{base}/ok", script, 1, 2, timeout=5)
    finally:
        server.shutdown()
    assert timed_out["socket_errors"] >= 1 and timed_out["requests"] == 0 and timed_out["p99"] != timed_out["p99"]
    assert waited["socket_errors"] == 0 and waited["requests"] >= 1 and waited["p50"] >= 550
