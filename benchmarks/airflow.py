"""The churn pipeline on Apache Airflow 3 (`airflow dags test`) against the same pipeline run locally.

    python benchmarks/airflow.py [--rows 20000] [--airflow-venv .airflow-venv]

Both sides start from an empty store (no cache), in the same run, on the same data. The local
side is `shipyard run` (one process, a warm worker pool); the Airflow side is the exported DAG,
each step one `shipyard step run` process started by Airflow's BashOperator. Per step, the
overhead is the Airflow task's wall time (from Airflow's own task record) minus the step's
recorded duration; the run-level figure divides the difference of the two totals by the steps.
Needs `make airflow-venv`.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "churn"


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SHIPYARD_", "MLFLOW_", "AIRFLOW"))}
    env["SHIPYARD_HOME"] = str(home)
    return env


def _timed(command: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"{' '.join(command[:4])} failed:\n{(done.stdout + done.stderr)[-3000:]}")
    return time.perf_counter() - start


def _steps(home: Path) -> dict[str, float]:
    """Each step's recorded duration in the (only) run of the store under ``home``."""
    with sqlite3.connect(home / "shipyard.db") as db:
        return {name: duration or 0.0 for name, duration in
                db.execute("SELECT name, duration_s FROM step_runs ORDER BY position")}


def _airflow_tasks(airflow_home: Path) -> dict[str, float]:
    with sqlite3.connect(airflow_home / "airflow.db") as db:
        rows = db.execute("SELECT task_id, start_date, end_date FROM task_instance").fetchall()
    return {task: (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()
            for task, start, end in rows if start and end}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=20000)
    parser.add_argument("--airflow-venv", type=Path, default=ROOT / ".airflow-venv")
    args = parser.parse_args()
    airflow = args.airflow_venv / "bin" / "airflow"
    if not airflow.is_file():
        sys.exit(f"no Airflow at {args.airflow_venv}: run `make airflow-venv` first")
    shipyard = [sys.executable, "-m", "shipyard"]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "data").mkdir()
        text = (EXAMPLE / "pipeline.yaml").read_text()
        (work / "pipeline.yaml").write_text(text[:text.index("# A version that passes its gates")])
        subprocess.run([sys.executable, str(EXAMPLE / "generate.py"), "--rows", str(args.rows),
                        "--out", str(work / "data" / "churn.csv")], check=True, capture_output=True)

        local_home = work / "local"
        local = _timed([*shipyard, "run", str(work / "pipeline.yaml")], _env(local_home))

        airflow_home, dags, remote_home = work / "airflow", work / "dags", work / "remote"
        env = _env(remote_home)
        source = str(ROOT / "src")
        subprocess.run([*shipyard, "airflow", "export", str(work / "pipeline.yaml"), "--out", str(dags),
                        "--shipyard", str(Path(sys.executable).parent / "shipyard"), "--env",
                        f"PYTHONPATH={source}"], env={**env, "PYTHONPATH": source}, check=True, capture_output=True)
        airflow_env = {k: v for k, v in env.items() if not k.startswith("PYTHON")}
        airflow_env.update(AIRFLOW_HOME=str(airflow_home), AIRFLOW__CORE__DAGS_FOLDER=str(dags),
                           AIRFLOW__CORE__LOAD_EXAMPLES="False")
        _timed([str(airflow), "db", "migrate"], airflow_env)
        on_airflow = _timed([str(airflow), "dags", "test", "shipyard_churn"], airflow_env)

        local_steps, remote_steps = _steps(local_home), _steps(remote_home)
        tasks = _airflow_tasks(airflow_home)
    rows = [(name, local_steps.get(name, 0.0), remote_steps[name], tasks.get(name, 0.0)) for name in remote_steps]
    print(f"churn example ({args.rows} rows, 6-trial sweep, no rollout), cold, empty store")
    print(f"{'step':12}{'local step':>12}{'airflow step':>14}{'airflow task':>14}{'task overhead':>15}")
    for name, here, there, task in rows:
        print(f"{name:12}{here:>11.2f}s{there:>13.2f}s{task:>13.2f}s{task - there:>14.2f}s")
    overhead = [task - there for _, _, there, task in rows]
    print(f"{'begin/finish':12}{'':>12}{'':>14}{tasks.get('begin', 0) + tasks.get('finish', 0):>13.2f}s")
    print(f"whole run: local {local:.1f}s, airflow dags test {on_airflow:.1f}s; "
          f"{(on_airflow - local) / len(rows):.1f}s more per step; median task overhead "
          f"{sorted(overhead)[len(overhead) // 2]:.2f}s")
    print(json.dumps({"local_s": local, "airflow_s": on_airflow, "steps": len(rows)}))


if __name__ == "__main__":
    main()
