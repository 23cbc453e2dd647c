"""A sweep's trials as tasks of their own (`step run --plan-trials`, `--trial N`, then the gathering `step run`),
as Airflow's mapped tasks run them: the same trials, best trial and model as a local sweep."""

import json
from pathlib import Path

import pytest

from shipyard.cli import main
from shipyard.pipeline import api
from shipyard.pipeline.progress import NullReporter
from shipyard.pipeline.runner import RunOptions
from shipyard.store import runs as store

from churn_project import swept_spec, write_churn_project

ROOT = Path(__file__).resolve().parents[2]
N_TRIALS = 3


@pytest.fixture
def swept(tmp_path, shipyard_home):
    return write_churn_project(tmp_path, swept_spec(N_TRIALS, sampler_seed=7), rows=600, seed=3)


@pytest.fixture
def cli(capsys):
    def call(*args):
        code = main(list(args))
        captured = capsys.readouterr()
        return code, captured.out, captured.err
    return call


def _steps(run_id: str) -> dict:
    return {step.name: step for step in store.get_run(run_id).steps}


def _study_trials(run_id: str) -> list:
    import optuna

    from shipyard.config import load_settings
    from shipyard.pipeline.runner import sweep_study_name

    sweep = _steps(run_id)["sweep"]
    study = optuna.load_study(study_name=sweep_study_name("swept", sweep.cache_key, None),
                              storage=load_settings().database_url)
    return study.get_trials()


def test_planned_trials_run_one_by_one_and_gather_into_the_local_sweeps_best_model(swept, cli):
    code, out, err = cli("runs", "create", str(swept))
    assert code == 0, err
    run_id = out.strip()
    names = list(_steps(run_id))
    for name in names[:names.index("sweep")]:
        assert cli("step", "run", run_id, name, "--once")[0] == 0

    code, out, err = cli("step", "run", run_id, "sweep", "--plan-trials")
    assert code == 0, err
    assert json.loads(out) == list(range(N_TRIALS))
    assert cli("step", "run", run_id, "sweep", "--plan-trials")[1].strip() == json.dumps(list(range(N_TRIALS)))
    for index in range(N_TRIALS):
        code, out, err = cli("step", "run", run_id, "sweep", "--trial", str(index), "--once")
        assert code == 0, err
        assert f"trial {index} complete" in err
    code, _, err = cli("step", "run", run_id, "sweep", "--trial", "1")
    assert code == 0 and "trial 1 has ended" in err, "a retried trial task finds its trial done"
    trials = _study_trials(run_id)
    assert len(trials) == N_TRIALS and all(t.state.name == "COMPLETE" for t in trials)

    code, _, err = cli("step", "run", run_id, "sweep", "--once")
    assert code == 0, err
    assert len(_study_trials(run_id)) == N_TRIALS, "the gathering run finds every trial done and runs none"
    for name in names[names.index("sweep") + 1:names.index("train") + 1]:
        assert cli("step", "run", run_id, name, "--once")[0] == 0
    gathered = _steps(run_id)

    local = api.run(swept, options=RunOptions(no_cache=True), reporter=NullReporter())
    assert local.status == "succeeded", local.error
    local_steps = _steps(local.run_id)
    for key in ("best_params", "best_value", "trials", "metric"):
        assert gathered["sweep"].details[key] == local_steps["sweep"].details[key], key
    assert gathered["train"].outputs["model"]["digest"] == local_steps["train"].outputs["model"]["digest"]


def test_trial_options_are_for_sweep_steps_only(swept, cli):
    code, out, err = cli("runs", "create", str(swept))
    run_id = out.strip()
    code, _, err = cli("step", "run", run_id, "ingest", "--trial", "0")
    assert code == 2 and "are for a sweep step" in err
    code, _, err = cli("step", "run", run_id, "sweep", "--trial", "0", "--plan-trials")
    assert code == 2 and "give one of them" in err
    code, _, err = cli("step", "run", run_id, "sweep", "--plan-trials")
    assert code == 6 and "upstream step not done" in err
    assert _steps(run_id)["sweep"].state == "pending"


def test_failed_trial_tasks_fail_and_the_gathering_run_counts_them_without_running_more(swept, cli):
    swept.write_text(swept_spec(N_TRIALS, sampler_seed=7).replace("low: 0.001, high: 10, log: true", "low: -2.0, high: -1.0"))  # C must be > 0
    code, out, err = cli("runs", "create", str(swept))
    assert code == 0, err
    run_id = out.strip()
    names = list(_steps(run_id))
    for name in names[:names.index("sweep")]:
        assert cli("step", "run", run_id, name, "--once")[0] == 0
    assert cli("step", "run", run_id, "sweep", "--plan-trials")[0] == 0
    for index in range(N_TRIALS):
        code, _, err = cli("step", "run", run_id, "sweep", "--trial", str(index), "--once")
        assert code == 7 and f"trial {index} of step 'sweep' failed" in err
    assert cli("step", "run", run_id, "sweep", "--trial", "0")[0] == 0, "a failed trial is not run again"

    code, _, err = cli("step", "run", run_id, "sweep", "--once")
    assert code == 7 and "no successful trial" in err
    assert len(_study_trials(run_id)) == N_TRIALS and all(t.state.name == "FAIL" for t in _study_trials(run_id))
    assert _steps(run_id)["sweep"].state == "failed"
