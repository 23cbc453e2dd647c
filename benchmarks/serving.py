"""Gateway throughput and latency against `mlflow models serve`, driven by wrk on loopback.

    python benchmarks/serving.py [--duration 10] [--durability buffered,spool,fsync]

Registers the breast-cancer example (30 features, StandardScaler + LogisticRegression),
serves version 1 with both servers, and sends a one-row `dataframe_split` payload at
1, 16 and 64 connections. shipyard runs once per prediction-log durability (default:
buffered and spool), so the price of spooling every prediction before its answer shows
side by side. Needs wrk (Debian package `wrk`).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "breast_cancer"
CONNECTIONS = (1, 16, 64)
LUA = """wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = [==[%s]==]
"""


def _wait(url: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise SystemExit(f"server at {url} did not come up")


def _wrk(url: str, script: Path, connections: int, duration: int) -> dict[str, float]:
    out = subprocess.run(["wrk", "-t", str(min(connections, 2)), "-c", str(connections), "-d", f"{duration}s",
                          "--latency", "-s", str(script), url], capture_output=True, text=True, check=True).stdout

    def millis(label: str) -> float:
        value, unit = re.search(rf"^\s*{label}\s+([\d.]+)(us|ms|s)\s*$", out, re.M).groups()
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rps": rps, "p50": millis("50%"), "p99": millis("99%"), "non2xx": int(errors.group(1)) if errors else 0}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--durability", default="buffered,spool",
                        help="comma-separated prediction-log durabilities to run shipyard with")
    args = parser.parse_args()
    durabilities = [d.strip() for d in args.durability.split(",") if d.strip()]
    if not durabilities or set(durabilities) - {"buffered", "spool", "fsync"}:
        raise SystemExit("--durability takes buffered, spool and/or fsync, comma-separated")
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install wrk")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        shutil.copy(EXAMPLE / "pipeline.yaml", work / "pipeline.yaml")
        subprocess.run([sys.executable, str(EXAMPLE / "export.py"), "--out", str(work / "data" / "breast_cancer.csv")],
                       check=True, stdout=subprocess.DEVNULL)
        env = {**os.environ, "SHIPYARD_HOME": str(work / "home")}
        env.pop("SHIPYARD_DATABASE_URL", None)
        env["MLFLOW_TRACKING_URI"] = f"sqlite:///{work / 'home' / 'mlflow.db'}"
        bin_dir = Path(sys.executable).parent
        env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"  # mlflow starts `uvicorn` from PATH
        shipyard = str(bin_dir / "shipyard")
        for command in (["run", str(work / "pipeline.yaml")], ["models", "promote", "breast_cancer", "1", "--to",
                                                               "staging"], ["deploy", "breast_cancer", "1"]):
            subprocess.run([shipyard, *command], env=env, check=True, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
        import pandas as pd

        row = pd.read_csv(work / "data" / "breast_cancer.csv").drop(columns=["malignant"]).head(1)
        body = json.dumps({"dataframe_split": {"columns": list(row.columns), "data": row.values.tolist()}})
        script = work / "post.lua"
        script.write_text(LUA % body)
        servers = {
            "mlflow models serve": ([str(bin_dir / "mlflow"), "models", "serve", "-m", "models:/breast_cancer/1",
                                     "--env-manager", "local", "-p", "5011", "-h", "127.0.0.1"],
                                    "http://127.0.0.1:5011/ping", "http://127.0.0.1:5011/invocations"),
            **{f"shipyard serve ({durability})": (
                [shipyard, "serve", "breast_cancer", "--port", str(port), "--log-durability", durability],
                f"http://127.0.0.1:{port}/v2/health/ready",
                f"http://127.0.0.1:{port}/models/breast_cancer/invocations")
               for port, durability in enumerate(durabilities, start=5012)},
        }
        results: dict[str, dict[int, dict[str, float]]] = {}
        for name, (command, ready, url) in servers.items():
            output = (work / f"{re.sub(r'[^a-z]+', '-', name)}.log").open("w")
            proc = subprocess.Popen(command, env={**env, "MLFLOW_ALLOW_PICKLE_DESERIALIZATION": "true"},
                                    stdout=output, stderr=subprocess.STDOUT, start_new_session=True)
            try:
                _wait(ready)
                check = httpx.post(url, content=body, headers={"Content-Type": "application/json"})
                assert check.status_code == 200, check.text
                results[name] = {c: _wrk(url, script, c, args.duration) for c in CONNECTIONS}
            finally:
                os.killpg(proc.pid, 15)
                proc.wait(timeout=30)
                output.close()
        drained = {name: [line for line in (work / f"{re.sub(r'[^a-z]+', '-', name)}.log").read_text().splitlines()
                          if "prediction log" in line] for name in servers if name.startswith("shipyard")}
    print(f"one-row dataframe_split to /invocations, {args.duration}s per level, wrk on loopback; shipyard serves "
          "the deployment (routing, prediction log and metrics on)")
    print(f"{'connections':>12} | {'server':<27} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'non-2xx':>8}")
    for c in CONNECTIONS:
        for name in servers:
            r = results[name][c]
            print(f"{c:>12} | {name:<27} {r['rps']:>9.0f} {r['p50']:>8.2f} {r['p99']:>8.2f} {r['non2xx']:>8}")
        mlflow_rps = max(results["mlflow models serve"][c]["rps"], 1e-9)
        ratios = ", ".join(f"{d} {results[f'shipyard serve ({d})'][c]['rps'] / mlflow_rps:.1f}x" for d in durabilities)
        print(f"{'':>12} | shipyard/mlflow req/s: {ratios}")
    for name, lines in drained.items():
        print(f"{name}: " + (lines[-1] if lines else "printed no prediction-log summary"))


if __name__ == "__main__":
    main()
