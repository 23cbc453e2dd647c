"""The gateway's request path in two source trees, side by side: e.g. before and after a change.

    git worktree add --detach /tmp/before COMMIT
    python benchmarks/serving_ab.py --before /tmp/before [--seconds 10 --rounds 3]

Each tree trains the breast_cancer example in a SHIPYARD_HOME of its own and serves it with
`shipyard serve breast_cancer:1`; the current tree also serves it with the durable spool
(`--log-durability spool`). wrk then sends one-row `dataframe_split` requests to each in
turn, round by round, at 1 and 16 connections; the ratio is the median of the per-round ratios.
"""
import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

PY = sys.executable
SIDES = {"before": "", "after": str(Path(__file__).resolve().parents[1])}
SPOOL_PORT = 18083
ROOT = Path(tempfile.mkdtemp(prefix="shipyard-serving-ab-"))
PORTS = {"before": 18081, "after": 18082}


def env(side):
    e = dict(os.environ, PYTHONPATH=f"{SIDES[side]}/src", SHIPYARD_HOME=str(ROOT / side / "home"))
    for k in ("MLFLOW_TRACKING_URI", "SHIPYARD_DATABASE_URL"):
        e.pop(k, None)
    return e


def prepare(side):
    folder = ROOT / side / "bc"
    shutil.copytree(f"{SIDES[side]}/examples/breast_cancer", folder, dirs_exist_ok=True)
    subprocess.run([PY, "export.py", "--out", "data/breast_cancer.csv"], cwd=folder, env=env(side), check=True)
    subprocess.run([PY, "-m", "shipyard", "run", "pipeline.yaml"], cwd=folder, env=env(side),
                   stdout=subprocess.DEVNULL)
    return subprocess.Popen([PY, "-m", "shipyard", "serve", "breast_cancer:1", "--port", str(PORTS[side])],
                            cwd=folder, env=env(side), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def body():
    import pandas as pd
    frame = pd.read_csv(ROOT / "after" / "bc" / "data" / "breast_cancer.csv").drop(columns=["malignant"]).head(1)
    return json.dumps({"dataframe_split": {"columns": list(frame.columns), "data": frame.values.tolist()}})


def wrk(port, conns, seconds, lua):
    out = subprocess.run(["wrk", "-t", str(min(conns, 2)), "-c", str(conns), "-d", f"{seconds}s", "--latency",
                          "-s", lua, f"http://127.0.0.1:{port}/models/breast_cancer/invocations"], capture_output=True, text=True).stdout
    rps = float(next(l for l in out.splitlines() if l.startswith("Requests/sec")).split()[1])
    non2xx = next((l for l in out.splitlines() if "Non-2xx" in l), "")
    p99 = next(l for l in out.splitlines() if l.strip().startswith("99%")).split()[1]
    return rps, p99, non2xx


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--before", required=True, help="the other source tree (a worktree of an earlier commit)")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    SIDES["before"] = str(Path(args.before).resolve())
    servers = {side: prepare(side) for side in SIDES}
    servers["after+spool"] = subprocess.Popen(
        [PY, "-m", "shipyard", "serve", "breast_cancer:1", "--port", str(SPOOL_PORT), "--log-durability", "spool"],
        cwd=ROOT / "after" / "bc", env=env("after"), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    PORTS["after+spool"] = SPOOL_PORT
    try:
        for side, port in PORTS.items():
            for _ in range(240):
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/health/ready", timeout=1)
                    break
                except Exception:
                    time.sleep(0.5)
            else:
                sys.exit(f"{side} gateway did not become ready")
        lua = ROOT / "post.lua"
        lua.write_text('wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\nwrk.body = '
                       + json.dumps(body()) + "\n")
        for side, port in PORTS.items():
            request = urllib.request.Request(f"http://127.0.0.1:{port}/models/breast_cancer/invocations", data=body().encode(),
                                             headers={"Content-Type": "application/json"})
            try:
                urllib.request.urlopen(request, timeout=10).read()
            except urllib.error.HTTPError as exc:
                sys.exit(f"{side} answers {exc.code}: {exc.read()[:400]!r}")
        seconds, rounds = args.seconds, args.rounds
        for conns in (1, 16):
            results = {side: [] for side in PORTS}
            for _ in range(rounds):
                for side in PORTS:
                    results[side].append(wrk(PORTS[side], conns, seconds, str(lua)))
            for side, rows in results.items():
                print(f"{conns:>3} conns {side:<7} req/s {[round(r[0]) for r in rows]} median "
                      f"{statistics.median(r[0] for r in rows):.0f}  p99 {[r[1] for r in rows]} {rows[0][2]}")
            for side in ("after", "after+spool"):
                ratio = statistics.median(a[0] / b[0] for a, b in zip(results[side], results["before"]))
                print(f"{conns:>3} conns {side}/before req/s, median of rounds: {ratio:.3f}")
    finally:
        for server in servers.values():
            server.send_signal(signal.SIGTERM)
        for server in servers.values():
            try:
                server.wait(20)
            except subprocess.TimeoutExpired:
                server.kill()
        shutil.rmtree(ROOT, ignore_errors=True)
