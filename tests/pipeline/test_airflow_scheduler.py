"""The churn DAG under a real Airflow 3 scheduler with the LocalExecutor (`airflow standalone`, parallelism 2):
a step's process killed with -9 mid-run is retried by Airflow, shipyard records the second attempt, and the run
ends with the model a local run trains."""

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from shipyard.cli import main as shipyard
from shipyard.pipeline import airflow_dag, api
from shipyard.pipeline.progress import NullReporter
from shipyard.pipeline.runner import RunOptions
from shipyard.store import runs as store

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.airflow, pytest.mark.slow, pytest.mark.timeout(1200)]
DAG_ID = "shipyard_churn"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def scheduler(airflow):
    """Airflow's API server, scheduler (LocalExecutor, two tasks at once) and DAG processor, on the fixture's home,
    with no trace of the DAG runs other modules sharing that home made of this DAG id."""
    airflow("dags", "delete", DAG_ID, "--yes")
    port = _free_port()
    env = {**airflow.env, "PATH": f"{airflow.python.parent}{os.pathsep}{os.environ['PATH']}",
           "AIRFLOW__CORE__EXECUTOR": "LocalExecutor", "AIRFLOW__CORE__PARALLELISM": "2",
           "AIRFLOW__API__HOST": "127.0.0.1", "AIRFLOW__API__PORT": str(port),
           "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
           "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "2", "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "1"}
    log = (airflow.home / "standalone.log").open("w")
    process = subprocess.Popen([str(airflow.python.parent / "airflow"), "standalone"], env=env, stdout=log,
                               stderr=subprocess.STDOUT, start_new_session=True)
    try:
        yield airflow, env
    finally:  # the whole group: standalone's components outlive it when it ends first
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait()
        log.close()


def _airflow(env, *args) -> subprocess.CompletedProcess:
    return subprocess.run([env["PATH"].split(os.pathsep)[0] + "/airflow", *args], env=env, capture_output=True,
                          text=True, timeout=300)


def _task_states(home: Path) -> dict:
    with sqlite3.connect(home / "airflow.db") as db:
        rows = db.execute("SELECT task_id, map_index, state, try_number FROM task_instance WHERE dag_id = ?",
                          (DAG_ID,)).fetchall()
    return {(task, index): (state, tries) for task, index, state, tries in rows}


def _dag_parsed(home: Path) -> bool:
    with sqlite3.connect(home / "airflow.db") as db:
        return db.execute("SELECT 1 FROM dag WHERE dag_id = ?", (DAG_ID,)).fetchone() is not None


def _dag_state(home: Path) -> str | None:
    with sqlite3.connect(home / "airflow.db") as db:
        row = db.execute("SELECT state FROM dag_run WHERE dag_id = ?", (DAG_ID,)).fetchone()
    return row[0] if row else None


def _step_processes(run_id: str, step: str) -> list[int]:
    """The `shipyard step run RUN STEP` processes of this run (not their workers)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        words = [a.decode(errors="replace") for a in argv if a]
        if "step" in words and "run" in words and run_id in words and step in words and "--once" in words:
            found.append(int(entry.name))
    return found


def _wait(condition, what: str, timeout: float, home: Path):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.05)
    log = (home / "standalone.log").read_text()[-4000:]
    raise AssertionError(f"{what} within {timeout:g}s; tasks: {_task_states(home)}\n{log}")


@pytest.mark.postgres
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="finds the step's process in /proc")
def test_a_step_killed_mid_run_is_retried_by_airflow_and_the_run_ends_with_the_same_model(scheduler, churn,
                                                                                           postgres_store, capsys,
                                                                                           monkeypatch):
    monkeypatch.setattr(airflow_dag, "RETRY_DELAY_S", 1)  # the killed step's retry need not wait ten seconds
    airflow, env = scheduler
    executable = Path(sys.executable).parent / "shipyard"
    assert shipyard(["airflow", "export", str(churn), "--out", str(airflow.dags), "--shipyard", str(executable),
                     "--env", f"PYTHONPATH={ROOT / 'src'}",
                     *[f"--env={key}={value}" for key, value in postgres_store.items()]]) == 0
    capsys.readouterr()
    home = airflow.home
    _wait(lambda: _dag_parsed(home), "the DAG parsed", 300, home)
    assert _airflow(env, "dags", "unpause", DAG_ID).returncode == 0
    triggered = _airflow(env, "dags", "trigger", DAG_ID)
    assert triggered.returncode == 0, triggered.stderr[-3000:]

    def train_running():
        runs = store.list_runs(pipeline="churn")
        if not runs:
            return None
        train = next(s for s in store.get_run(runs[0].id).steps if s.name == "train")
        pids = _step_processes(runs[0].id, "train") if train.state == "running" else []
        return (runs[0].id, pids) if pids else None

    run_id, pids = _wait(train_running, "the train step running", 600, home)
    for pid in pids:
        os.kill(pid, signal.SIGKILL)
    _wait(lambda: _dag_state(home) in ("success", "failed"), "the DAG run ended", 600, home)

    states = _task_states(home)
    assert _dag_state(home) == "success", states
    assert states[("train", -1)] == ("success", 2), "Airflow retried the killed step"
    assert states[("sweep_trial", 0)][0] == states[("sweep_trial", 1)][0] == "success"
    record = store.get_run(run_id)
    assert record.status == "succeeded"
    steps = {step.name: step for step in record.steps}
    assert steps["train"].state == "succeeded" and steps["train"].attempts == 2, "shipyard counted the retry"
    assert all(step.attempts == 1 for name, step in steps.items() if name != "train")

    local = api.run(churn, options=RunOptions(no_cache=True), reporter=NullReporter())
    assert local.status == "succeeded", local.error
    local_train = next(step for step in store.get_run(local.run_id).steps if step.name == "train")
    assert steps["train"].outputs["model"]["digest"] == local_train.outputs["model"]["digest"]
    assert json.dumps(record.result["metrics"], sort_keys=True) == json.dumps(
        store.get_run(local.run_id).result["metrics"], sort_keys=True)
