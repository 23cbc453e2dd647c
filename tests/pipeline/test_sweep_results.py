"""A finished sweep's trials read back from its stored result."""

import pytest

from shipyard.config import load_settings
from shipyard.errors import NotFoundError
from shipyard.pipeline.artifacts import open_artifact_store
from shipyard.pipeline.serialization import save_value
from shipyard.pipeline.sweep_results import sweep_trials
from shipyard.store import runs

RESULT = {"metric": "roc_auc", "direction": "maximize", "best_params": {"C": 0.5}, "best_value": 0.91,
          "best_trial": 1, "n_trials": 2, "study": "shipyard:churn:abc",
          "trials": [{"number": 0, "params": {"C": 5.0}, "value": 0.8, "state": "complete", "duration_s": 0.2,
                      "intermediate": {"0": 0.79}},
                     {"number": 1, "params": {"C": 0.5}, "value": 0.91, "state": "complete", "duration_s": 0.3,
                      "intermediate": {}}]}


def _run(run_id):
    runs.create_run(run_id=run_id, pipeline="churn", spec_path=None, spec_text="name: churn", spec_digest="f" * 64,
                    options={})


def test_the_trials_of_a_finished_sweep(database_url):
    settings = load_settings()
    _run("sw1aaaaaaaaa")
    ref = save_value(open_artifact_store(settings), RESULT).ref()
    runs.save_step("sw1aaaaaaaaa", "sweep", kind="sweep", position=3, state="succeeded", outputs={"result": ref})
    sweep = sweep_trials("sw1a", settings=settings)
    assert sweep["run_id"] == "sw1aaaaaaaaa" and sweep["step"] == "sweep" and sweep["best_trial"] == 1
    assert [t["value"] for t in sweep["trials"]] == [0.8, 0.91] and sweep["direction"] == "maximize"


def test_no_sweep_or_an_unfinished_one_is_not_found(database_url):
    settings = load_settings()
    _run("sw2aaaaaaaaa")
    with pytest.raises(NotFoundError, match="has no sweep step"):
        sweep_trials("sw2aaaaaaaaa", settings=settings)
    runs.save_step("sw2aaaaaaaaa", "sweep", kind="sweep", position=3, state="running")
    with pytest.raises(NotFoundError, match="has not finished"):
        sweep_trials("sw2aaaaaaaaa", settings=settings)
