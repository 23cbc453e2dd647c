"""`shipyard server`'s model catalog against an MLflow tracking server's REST API, on PostgreSQL, with wrk.

    python benchmarks/api.py [--models 100] [--versions 50] [--connections 1,16]
                             [--duration 10] [--rounds 3] [--results FILE]

Two throwaway databases are created on the PostgreSQL server (`SHIPYARD_BENCH_POSTGRES_URL`,
default the local `test` server) and dropped at the end: one for `mlflow server` (its backend
store, four workers as it starts by default) and one for shipyard's metadata store. The
registry is written once through shipyard's registry functions and MLflow's client (see
`api_data.py`), shipyard's MLflow being that same store, so both sides hold the same models,
versions and tags. Then `shipyard server` (uvicorn, bearer tokens required, a viewer's token
sent) and `mlflow server` answer, each wrk run taking its turn (per round, per connection
level, each query once):

- catalog search: shipyard `GET /api/v1/models?team=fraud&tag=tier=2&column=col_1` against
  MLflow `GET /api/2.0/mlflow/registered-models/search?filter=tags.team = 'fraud' AND tags.tier = '2'`
  (MLflow knows no input columns; both answer the same models);
- a model's versions: shipyard `GET /api/v1/models/m42/versions?limit=50` against MLflow
  `GET /api/2.0/mlflow/model-versions/search?filter=name='m42'` (all 50 versions each).

Goal: shipyard's p99 at most half of MLflow's on each query.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import httpx

from api_data import ModelFacts, populate
from harness import Row, measured, not_measured, save_rows
from http_load import Start, free_port, servers, wrk

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
TOKEN_LUA = 'wrk.headers["Authorization"] = "Bearer %s"\n'
P99_GOAL = 2.0  # MLflow's p99 over shipyard's
WARM_UP_S = 2  # unmeasured, per query and server, at the highest level, before the first round
WRK_TIMEOUT_S = 60  # a slow answer is a latency to report, not a socket timeout (wrk's default is 2 s)


@dataclass(frozen=True)
class Query:
    """One question asked of both servers: shipyard's URL path and MLflow's, and what each answer holds."""

    what: str
    shipyard: str
    mlflow: str


def queries(models: int) -> list[Query]:
    team, tier, column = "fraud", "2", "col_1"
    model = ModelFacts(min(42, models - 1)).name
    return [
        Query(f"catalog search (team + tag + column; MLflow: team + tag), {models} models",
              "/api/v1/models?" + urlencode({"team": team, "tag": f"tier={tier}", "column": column, "limit": 50}),
              "/api/2.0/mlflow/registered-models/search?" + urlencode(
                  {"filter": f"tags.team = '{team}' AND tags.tier = '{tier}'", "max_results": 50})),
        Query(f"list one model's versions ({model})",
              f"/api/v1/models/{model}/versions?" + urlencode({"limit": 50}),
              "/api/2.0/mlflow/model-versions/search?" + urlencode({"filter": f"name='{model}'",
                                                                     "max_results": 50})),
    ]


def answered(query: Query, shipyard_base: str, mlflow_base: str, token: str) -> None:
    """Both servers answer the query with the same models or versions; raises when they do not."""
    ours = httpx.get(shipyard_base + query.shipyard, headers={"Authorization": f"Bearer {token}"}, timeout=60)
    theirs = httpx.get(mlflow_base + query.mlflow, timeout=60)
    for side, answer in (("shipyard", ours), ("mlflow", theirs)):
        if answer.status_code != 200:
            raise RuntimeError(f"{side} answered {answer.status_code} to {query.what}: {answer.text[:300]}")
    body = theirs.json()
    if "versions" in query.shipyard:
        mine = sorted(int(v["version"]) for v in ours.json()["items"])
        other = sorted(int(v["version"]) for v in body.get("model_versions", []))
    else:
        mine = sorted(e["name"] for e in ours.json()["items"])
        other = sorted(m["name"] for m in body.get("registered_models", []))
    if not mine or mine != other:
        raise RuntimeError(f"{query.what}: shipyard answered {mine}, MLflow {other}; the sides must hold the same data")


@contextlib.contextmanager
def throwaway_databases(server_url: str, *names: str) -> Iterator[list[str]]:
    """Fresh databases on the PostgreSQL server, dropped (with their connections) on the way out."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    created = []
    try:
        for name in names:
            with admin.connect() as connection:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
            created.append(name)
        yield [make_url(server_url).set(database=n).render_as_string(hide_password=False) for n in created]
    finally:
        with admin.connect() as connection:
            for name in created:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def postgres_unreachable(server_url: str) -> str | None:
    """Why the PostgreSQL server cannot hold the benchmark's databases, or None when it can."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import SQLAlchemyError

    engine = create_engine(server_url, connect_args={"connect_timeout": 5})
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        shown = make_url(server_url).render_as_string(hide_password=True)
        return (f"PostgreSQL at {shown} did not answer ({type(getattr(exc, 'orig', None) or exc).__name__}); "
                "set SHIPYARD_BENCH_POSTGRES_URL")
    finally:
        engine.dispose()
    return None


def reader_token(settings) -> str:
    """A viewer's API token, as an admin gives one to a dashboard user."""
    from shipyard.governance.directory import add_member, create_team
    from shipyard.governance.tokens import create_token

    create_team("api-bench", settings=settings)
    add_member("api-bench", "reader", "viewer", settings=settings)
    return create_token("api-bench", identity="reader", settings=settings).secret


def bench(args: argparse.Namespace) -> list[Row]:
    stamp = uuid.uuid4().hex[:10]
    began = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as running:
        work = Path(tmp)
        store_url, mlflow_url = running.enter_context(throwaway_databases(
            args.postgres, f"shipyard_api_bench_{stamp}", f"mlflow_api_bench_{stamp}"))
        ports = {"shipyard": free_port(), "mlflow": free_port()}
        shipyard_base, mlflow_base = (f"http://127.0.0.1:{ports[k]}" for k in ("shipyard", "mlflow"))
        env = {**os.environ, "SHIPYARD_HOME": str(work / "home"), "SHIPYARD_DATABASE_URL": store_url,
               "MLFLOW_TRACKING_URI": mlflow_base,
               "PYTHONPATH": os.pathsep.join(filter(None, [str(SRC), os.environ.get("PYTHONPATH")]))}
        env.pop("MLFLOW_REGISTRY_URI", None)
        running.enter_context(servers(
            Start([sys.executable, "-m", "mlflow", "server", "--backend-store-uri", mlflow_url,
                   "--artifacts-destination", str(work / "mlartifacts"), "--host", "127.0.0.1", "--port",
                   str(ports["mlflow"])], f"{mlflow_base}/health", work / "mlflow.log", env),
            Start([sys.executable, "-m", "shipyard", "server", "--port", str(ports["shipyard"])],
                  f"{shipyard_base}/api/v1/health", work / "shipyard.log", env)))
        print(f"mlflow server and shipyard server ready ({time.perf_counter() - began:.0f} s)", flush=True)
        # written through MLflow's client straight into the store the server reads: an HTTP round trip per
        # version would make populating the registry take most of the benchmark's time
        os.environ.update({"SHIPYARD_HOME": env["SHIPYARD_HOME"], "SHIPYARD_DATABASE_URL": store_url,
                           "MLFLOW_TRACKING_URI": mlflow_url})
        from shipyard.config import load_settings
        from shipyard.store.db import reset_engines

        reset_engines()
        settings = load_settings()
        print(f"registering {args.models} models × {args.versions} versions in MLflow and shipyard", flush=True)
        populate(args.models, args.versions, settings)
        token = reader_token(settings)
        reset_engines()
        (work / "token.lua").write_text(TOKEN_LUA % token)
        (work / "plain.lua").write_text("")
        asked = queries(args.models)
        for query in asked:
            answered(query, shipyard_base, mlflow_base, token)
        sides = {query.what: (("shipyard", shipyard_base + query.shipyard, "token.lua"),
                              ("mlflow", mlflow_base + query.mlflow, "plain.lua")) for query in asked}
        for side in (side for pair in sides.values() for side in pair):  # every worker process has answered
            wrk(side[1], work / side[2], max(args.connections), WARM_UP_S, timeout=WRK_TIMEOUT_S)
        results: dict[tuple[str, str, int], list[dict[str, float]]] = {}
        for _ in range(args.rounds):
            for c in args.connections:
                for query in asked:
                    for side, url, script in sides[query.what]:
                        results.setdefault((query.what, side, c), []).append(
                            wrk(url, work / script, c, args.duration, timeout=WRK_TIMEOUT_S))
    return report(args, asked, results)


def report(args: argparse.Namespace, asked: list[Query], results) -> list[Row]:
    from importlib.metadata import version

    peer = f"mlflow server {version('mlflow')} (REST, PostgreSQL)"
    print(f"\n{args.models} models × {args.versions} versions on PostgreSQL; {args.duration} s per wrk run, "
          f"{args.rounds} interleaved rounds")
    print(f"  {'connections':>11}  {'server':<10}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'failed':>9}  query (medians)")
    rows = []
    for c in args.connections:
        for query in asked:
            for side in ("shipyard", "mlflow"):
                runs = results[(query.what, side, c)]
                print(f"  {c:>11}  {side:<10}" + "".join(f"{statistics.median(r[k] for r in runs):>9.2f}"
                                                         for k in ("rps", "p50", "p99"))
                      + f"{sum(r['non2xx'] + r['socket_errors'] for r in runs):>9}  {query.what}")
            rows += compared(query, c, results[(query.what, "shipyard", c)], results[(query.what, "mlflow", c)],
                             peer, args.duration)
    print(f"\np99 goal: shipyard's p99 at most 1/{P99_GOAL:g} of MLflow's (ratio ≥ {P99_GOAL:g}×)")
    for row in rows:
        if "p99" in row.what:
            verdict = "—      " if row.ratio is None else "met    " if row.ratio >= P99_GOAL else "NOT MET"
            shown = "  —   " if row.ratio is None else f"{row.ratio:5.1f}×"
            print(f"  {verdict}  {shown}  {row.what}")
    return rows


def compared(query: Query, connections: int, ours: list[dict], theirs: list[dict], peer: str,
             duration: int) -> list[Row]:
    """Throughput, p50 and p99 rows of one query at one level; a side that completed no request in some run
    has no latency to compare."""
    failed = sum(r["non2xx"] + r["socket_errors"] for r in ours + theirs)
    note = f"{failed} non-2xx answers or socket errors" if failed else ""
    what = f"API {query.what}, {connections} connection{'s' if connections > 1 else ''}"
    rows = []
    for key, unit, better_high in (("rps", "req/s", True), ("p50", "ms", False), ("p99", "ms", False)):
        label = {"rps": "throughput", "p50": "p50", "p99": f"p99 (goal: ≥ {P99_GOAL:g}×)"}[key]
        mine, other = [r[key] for r in ours], [r[key] for r in theirs]
        silent = [side for side, runs in (("shipyard", ours), ("MLflow", theirs))
                  if any(not r["requests"] for r in runs)]
        if key != "rps" and silent:
            shown = f"{statistics.median(mine):,.2f} {unit}" if "shipyard" not in silent else "—"
            rows.append(not_measured(f"{what}: {label}", peer, shown, f"{' and '.join(silent)} completed no request "
                                     f"within a {duration} s run"))
            continue
        row = measured(f"{what}: {label}", peer, unit, mine, other, higher_is_better=better_high,
                       digits=0 if key == "rps" else 2)
        rows.append(Row(**{**row.__dict__, "note": note}))
    return rows


def main() -> list[Row]:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", type=int, default=100)
    parser.add_argument("--versions", type=int, default=50)
    parser.add_argument("--connections", default="1,16")
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--postgres", default=os.environ.get("SHIPYARD_BENCH_POSTGRES_URL") or DEFAULT_POSTGRES_URL,
                        help="a PostgreSQL server's URL, to create the throwaway databases on")
    parser.add_argument("--results", type=Path)
    args = parser.parse_args()
    args.connections = [int(c) for c in args.connections.split(",")]
    if args.models < 2 or args.versions < 1:
        raise SystemExit("--models must be at least 2 and --versions at least 1")
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install wrk")
    unreachable = postgres_unreachable(args.postgres)
    if unreachable:
        print(f"not measured: {unreachable}")
        rows = [not_measured("API catalog search and version listing", "mlflow server", "not measured", unreachable)]
    else:
        rows = bench(args)
    if args.results:
        save_rows(args.results, rows)
    return rows


if __name__ == "__main__":
    main()
