"""A sweep exported to Airflow 3 runs its trials as dynamically mapped tasks (`airflow dags test`), gathered into
the best trial and model a local run finds."""

import sqlite3
import sys
from pathlib import Path

import pytest

from shipyard.cli import main as shipyard
from shipyard.config import load_settings
from shipyard.pipeline import api
from shipyard.pipeline.progress import NullReporter
from shipyard.pipeline.runner import RunOptions
from shipyard.pipeline.sweep_results import sweep_trials
from shipyard.store import runs as store

from churn_project import swept_spec, write_churn_project

ROOT = Path(__file__).resolve().parents[2]
N_TRIALS = 3
pytestmark = [pytest.mark.airflow, pytest.mark.slow, pytest.mark.timeout(900)]


@pytest.fixture
def swept(tmp_path, shipyard_home):
    return write_churn_project(tmp_path / "swept", swept_spec(N_TRIALS, sampler_seed=11), rows=600, seed=4)


def test_sweep_trials_run_as_mapped_airflow_tasks_and_find_the_local_best(airflow, swept, shipyard_home, capsys):
    executable = Path(sys.executable).parent / "shipyard"
    assert shipyard(["airflow", "export", str(swept), "--out", str(airflow.dags), "--shipyard", str(executable),
                     "--env", f"PYTHONPATH={ROOT / 'src'}"]) == 0
    capsys.readouterr()

    done = airflow("dags", "test", "shipyard_swept", extra={"SHIPYARD_HOME": str(shipyard_home)})
    assert done.returncode == 0, (done.stdout + done.stderr)[-5000:]
    with sqlite3.connect(airflow.home / "airflow.db") as airflow_db:
        mapped = sorted(airflow_db.execute("SELECT map_index, state FROM task_instance "
                                           "WHERE dag_id = 'shipyard_swept' AND task_id = 'sweep_trial'"))
        (dag_state,) = airflow_db.execute("SELECT state FROM dag_run WHERE dag_id = 'shipyard_swept'").fetchone()
    assert mapped == [(index, "success") for index in range(N_TRIALS)] and dag_state == "success"

    (listed,) = store.list_runs(pipeline="swept")
    on_airflow = store.get_run(listed.id)
    assert on_airflow.status == "succeeded"
    steps = {step.name: step for step in on_airflow.steps}
    assert steps["sweep"].state == "succeeded" and steps["sweep"].details["trials"] == N_TRIALS
    airflow_sweep = sweep_trials(on_airflow.id, settings=load_settings())
    assert len(airflow_sweep["trials"]) == N_TRIALS, "the gathering task ran no trial of its own"

    local = api.run(swept, options=RunOptions(no_cache=True), reporter=NullReporter())
    assert local.status == "succeeded", local.error
    local_sweep = sweep_trials(local.run_id, settings=load_settings())
    for key in ("best_trial", "best_params", "best_value"):
        assert airflow_sweep[key] == local_sweep[key], key
    assert [t["params"] for t in airflow_sweep["trials"]] == [t["params"] for t in local_sweep["trials"]]
    local_train = next(step for step in store.get_run(local.run_id).steps if step.name == "train")
    assert steps["train"].outputs["model"]["digest"] == local_train.outputs["model"]["digest"]
