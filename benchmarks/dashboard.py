"""The dashboard's first meaningful paint and bundle size, beside MLflow's UI serving the same runs, in Chromium.

    python benchmarks/dashboard.py [--runs 10000] [--rounds 5] [--results FILE]

`--runs` pipeline runs are written once to a fresh SHIPYARD_HOME: each one a row of shipyard's metadata
store and an MLflow run (a parameter and a metric) in one experiment of the MLflow store under that
home. `shipyard server --no-auth` and `mlflow server` (the same MLflow store) then run on loopback, and
Debian's Chromium, headless through Playwright, opens each page in a fresh browser context (an empty
cache) round after round, the sides interleaved:

- the overview: shipyard `/` until its run counts are drawn, against MLflow's home page until the
  experiment is listed;
- the run list: shipyard `/runs` until the first run row is drawn, against MLflow's experiment runs page
  until its newest run is listed. The DOM's row count is reported: shipyard scrolls the list virtually,
  so it holds far fewer rows than runs (checked from 200 runs on).

Both stores are written in bulk (MLflow's through its own SQL store's models: its client makes one
run at a time, about a run a second on a busy two-core machine), so 10,000 runs take seconds.

The time is the page's own clock (`performance.now()`, from navigation start) at the first animation
frame in which the element is in the DOM. The bundle is every script and stylesheet the build holds,
gzipped (level 9), against MLflow's UI build in its wheel.
Goals: first meaningful paint ≤ 1 s on loopback; bundle ≤ 400 KB gzipped.
"""

from __future__ import annotations

import argparse
import gzip
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

from harness import Row, measured, render_text, save_rows
from http_load import Start, free_port, servers

ROOT = Path(__file__).resolve().parents[1]
STATIC = ROOT / "src" / "shipyard" / "server" / "static"
CHROMIUM = os.environ.get("SHIPYARD_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
PAINT_GOAL_MS = 1000
BUNDLE_GOAL_KB = 400
EXPERIMENT = "churn"


def gzipped_kb(folder: Path) -> float:
    files = [p for p in folder.rglob("*") if p.suffix in (".js", ".css") and p.is_file()]
    return sum(len(gzip.compress(p.read_bytes(), compresslevel=9)) for p in files) / 1024


def mlflow_ui_folder() -> Path:
    import mlflow

    return Path(mlflow.__file__).parent / "server" / "js" / "build"


def populate(runs: int, home: Path) -> tuple[str, str]:
    """``runs`` finished runs in shipyard's store and in MLflow (one experiment); the MLflow store's URI and
    the experiment's id.

    Both sides are written in bulk: shipyard's rows through its store's models, MLflow's through the models of
    MLflow's own SQL store (the rows its client would write, one run at a time, a run a second).
    """
    from datetime import datetime, timedelta, timezone

    from mlflow.entities import RunStatus, SourceType
    from mlflow.store.tracking.dbmodels.models import SqlLatestMetric, SqlMetric, SqlParam, SqlRun, SqlTag
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore
    from mlflow.utils.mlflow_tags import MLFLOW_RUN_NAME

    from shipyard.config import load_settings
    from shipyard.store.db import session_scope
    from shipyard.store.models import PipelineRun

    settings = load_settings({"SHIPYARD_HOME": str(home)})
    home.mkdir(parents=True, exist_ok=True)
    mlflow_store = SqlAlchemyStore(settings.mlflow_tracking_uri, str(home / "mlflow-artifacts"))
    experiment = mlflow_store.create_experiment(EXPERIMENT, artifact_location=str(home / "mlflow-artifacts"))
    start = datetime.now(timezone.utc) - timedelta(hours=runs / 60)
    ours, theirs = [], []
    for index in range(runs):
        created = start + timedelta(minutes=index)
        millis = int(created.timestamp() * 1000)
        run_id = uuid.uuid4().hex
        theirs += [SqlRun(run_uuid=run_id, name=f"run-{index:05d}", source_type=SourceType.to_string(SourceType.LOCAL),
                          source_name="", entry_point_name="", user_id="bench",
                          status=RunStatus.to_string(RunStatus.FINISHED), start_time=millis, end_time=millis + 30_000,
                          source_version="", lifecycle_stage="active", experiment_id=int(experiment),
                          artifact_uri=str(home / "mlflow-artifacts" / run_id / "artifacts")),
                   SqlTag(key=MLFLOW_RUN_NAME, value=f"run-{index:05d}", run_uuid=run_id),
                   SqlParam(key="num_leaves", value=str(8 + index % 40), run_uuid=run_id)]
        metric = {"key": "roc_auc", "value": 0.7 + (index % 100) / 1000, "timestamp": millis, "step": 0,
                  "is_nan": False, "run_uuid": run_id}
        theirs += [SqlMetric(**metric), SqlLatestMetric(**metric)]
        ours.append(PipelineRun(id=uuid.uuid4().hex, pipeline=EXPERIMENT, spec_path=None, spec_text="name: churn\n",
                                spec_digest="0" * 64, status="succeeded", created_at=created, started_at=created,
                                finished_at=created + timedelta(seconds=30), options={}, mlflow_run_id=run_id,
                                model_name=EXPERIMENT, model_version=str(index + 1), started_by="bench"))
        if len(ours) == 2000 or index == runs - 1:
            with session_scope(settings) as session:
                session.add_all(ours)
            with mlflow_store.ManagedSessionMaker() as session:
                session.add_all(theirs)
            ours, theirs = [], []
            print(f"  {index + 1} runs written", flush=True)
    mlflow_store.engine.dispose()
    return settings.mlflow_tracking_uri, experiment


def painted_ms(browser, url: str, ready_js: str, count_js: str | None = None, timeout_s: float = 30) -> tuple[float, int | None]:
    """Milliseconds from navigation start to the first animation frame where ``ready_js`` holds; and the count."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    from playwright.sync_api import TimeoutError as PageTimeout

    try:
        page.goto(url, wait_until="commit")
        try:
            handle = page.wait_for_function(f"() => ({ready_js}) ? performance.now() : false", polling="raf",
                                            timeout=timeout_s * 1000)
        except PageTimeout:
            shown = page.evaluate("document.body ? document.body.innerText.slice(0, 400) : ''")
            raise RuntimeError(f"{url} did not draw what it is timed by in {timeout_s} s; it shows: {shown!r}") from None
        elapsed = float(handle.json_value())
        count = int(page.evaluate(count_js)) if count_js else None
    finally:
        context.close()
    if errors:
        raise RuntimeError(f"{url}: the page threw {errors[0]}")
    return elapsed, count


def bench(args: argparse.Namespace) -> list[Row]:
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="shipyard-dashboard-bench-") as tmp:
        home = Path(tmp) / "home"
        began = time.perf_counter()
        tracking_uri, experiment = populate(args.runs, home)
        print(f"wrote {args.runs} runs to both stores in {time.perf_counter() - began:.0f} s", flush=True)
        ours, theirs = free_port(), free_port()
        env = {**os.environ, "SHIPYARD_HOME": str(home), "PYTHONPATH": str(ROOT / "src")}
        for name in ("SHIPYARD_DATABASE_URL", "MLFLOW_TRACKING_URI", "SHIPYARD_URL", "SHIPYARD_TOKEN"):
            env.pop(name, None)
        starts = [
            Start([sys.executable, "-m", "shipyard", "server", "--port", str(ours), "--no-auth"],
                  f"http://127.0.0.1:{ours}/api/v1/health", Path(tmp) / "shipyard.log", env),
            Start([sys.executable, "-m", "mlflow", "server", "--backend-store-uri", tracking_uri, "--host", "127.0.0.1",
                   "--port", str(theirs), "--workers", "1"], f"http://127.0.0.1:{theirs}/health", Path(tmp) / "mlflow.log",
                  env),
        ]
        newest = f"run-{args.runs - 1:05d}"
        pages = {
            "overview": (f"http://127.0.0.1:{ours}/",
                         "document.querySelector('section[aria-label=\"runs in the last week\"] strong')", None,
                         f"http://127.0.0.1:{theirs}/#/experiments",
                         f"document.body && document.body.innerText.includes('{EXPERIMENT}')", None),
            "run list": (f"http://127.0.0.1:{ours}/runs",
                         "document.querySelector('.virtual-row[aria-rowindex] code')",
                         "document.querySelectorAll('.virtual-row[aria-rowindex]').length",
                         f"http://127.0.0.1:{theirs}/#/experiments/{experiment}/runs",
                         f"document.body && document.body.innerText.includes('{newest}')",
                         "Array.from(document.querySelectorAll('[role=row], tr')).length"),
        }
        figures: dict[str, dict[str, list[float]]] = {name: {"shipyard": [], "mlflow": []} for name in pages}
        rows_in_dom: dict[str, list[int]] = {"shipyard": [], "mlflow": []}
        with servers(*starts), sync_playwright() as driver:
            browser = driver.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
            try:
                for name, (url, ready, count, peer_url, peer_ready, peer_count) in pages.items():
                    painted_ms(browser, url, ready, count)  # warm both servers once, unmeasured
                    painted_ms(browser, peer_url, peer_ready, peer_count)
                for round_number in range(args.rounds):
                    for name, (url, ready, count, peer_url, peer_ready, peer_count) in pages.items():
                        ms, held = painted_ms(browser, url, ready, count)
                        peer_ms, peer_held = painted_ms(browser, peer_url, peer_ready, peer_count)
                        figures[name]["shipyard"].append(ms)
                        figures[name]["mlflow"].append(peer_ms)
                        if held is not None:
                            rows_in_dom["shipyard"].append(held)
                            rows_in_dom["mlflow"].append(peer_held or 0)
                    print(f"  round {round_number + 1}: " + ", ".join(
                        f"{n} {figures[n]['shipyard'][-1]:.0f} ms vs {figures[n]['mlflow'][-1]:.0f} ms" for n in pages),
                        flush=True)
            finally:
                browser.close()
    import mlflow

    peer = f"MLflow UI {mlflow.__version__}"
    most_rows = max(rows_in_dom["shipyard"])
    if args.runs >= 200 and most_rows * 2 > args.runs:
        raise RuntimeError(f"the run list held {most_rows} rows in the DOM for {args.runs} runs: not virtual")
    result = [measured(f"first meaningful paint: overview ({args.runs:,} runs)", peer, "ms",
                       figures["overview"]["shipyard"], figures["overview"]["mlflow"], higher_is_better=False,
                       digits=0),
              measured(f"first meaningful paint: run list of {args.runs:,} runs", peer, "ms",
                       figures["run list"]["shipyard"], figures["run list"]["mlflow"], higher_is_better=False,
                       digits=0),
              Row(f"run list rows in the DOM ({args.runs:,} runs)", peer, f"{max(rows_in_dom['shipyard'])}",
                  f"{max(rows_in_dom['mlflow'])}", None, "")]
    ours_kb, theirs_kb = gzipped_kb(STATIC), gzipped_kb(mlflow_ui_folder())
    result.append(Row("UI bundle, every script and stylesheet, gzipped", peer, f"{ours_kb:,.0f} KB",
                      f"{theirs_kb:,.0f} KB", theirs_kb / ours_kb))
    worst = max(statistics.median(figures[n]["shipyard"]) for n in pages)
    print(f"goals: first meaningful paint ≤ {PAINT_GOAL_MS} ms: {'met' if worst <= PAINT_GOAL_MS else 'MISSED'} "
          f"({worst:.0f} ms); bundle ≤ {BUNDLE_GOAL_KB} KB gzipped: "
          f"{'met' if ours_kb <= BUNDLE_GOAL_KB else 'MISSED'} ({ours_kb:.0f} KB)")
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--results", type=Path)
    args = parser.parse_args()
    if not (STATIC / "index.html").exists():
        sys.exit("the dashboard is not built: make web")
    if not Path(CHROMIUM).exists():
        sys.exit(f"{CHROMIUM} is missing: apt-get install -y chromium")
    rows = bench(args)
    print(render_text(rows))
    if args.results:
        save_rows(args.results, rows)


if __name__ == "__main__":
    main()
