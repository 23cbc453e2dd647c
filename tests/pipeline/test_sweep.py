"""The sweep controller: trials persist in the database and an interrupted sweep resumes."""

import numpy as np
import pandas as pd
import pytest

from shipyard.config import load_settings
from shipyard.pipeline.artifacts import open_artifact_store
from shipyard.pipeline.dag import StepNode
from shipyard.pipeline.serialization import save_value
from shipyard.pipeline.steps.sweep import run_trial
from shipyard.pipeline.sweep import SweepController


def _frame(n=400, seed=0):
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    y = (x1 + 0.5 * x2 + rng.normal(scale=0.5, size=n) > 0).astype(int)
    return pd.DataFrame({"x1": x1, "x2": x2, "color": rng.choice(["r", "g"], size=n), "y": y})


@pytest.fixture
def sweep_node():
    params = {
        "sweep": {"n_trials": 4, "metric": "roc_auc", "direction": "maximize", "timeout": None, "pruning": True,
                  "cv_folds": 3, "sampler_seed": 0,
                  "space": {"C": {"type": "float", "low": 0.01, "high": 10.0, "log": True, "step": None}}},
        "model": {"flavor": "sklearn", "estimator": "LogisticRegression", "task": None, "params": {}},
        "features": [{"name": None, "columns": ["x1", "x2"], "function": None,
                      "transforms": [{"kind": "scale", "method": "standard"}]}],
        "target": "y", "task": "classification", "pipeline": "t",
    }
    return StepNode(name="sweep", kind="sweep", impl="shipyard.pipeline.steps.sweep:run_trial",
                    inputs={"train": "split.train"}, params=params, ref_inputs=("train",))


def _controller(node, ref, settings):
    return SweepController(node=node, train_ref=ref, study_name="shipyard:t:abc", storage_url=settings.database_url,
                           settings=settings)


def _run_one(controller):
    task_id, kwargs = controller.next_task()
    value = run_trial(**kwargs)
    controller.on_outcome(task_id, True, value, None)
    return value


def test_interrupted_sweep_resumes_with_finished_trials(shipyard_home, sweep_node):
    settings = load_settings()
    from shipyard.store.db import get_engine

    get_engine(settings)
    ref = save_value(open_artifact_store(settings), _frame()).ref()
    first = _controller(sweep_node, ref, settings)
    assert first.resumed == 0
    for _ in range(2):
        result = _run_one(first)
        assert result["state"] in ("complete", "pruned")
        assert 0.5 < result["value"] <= 1.0
    first.next_task()  # asked, never told: the process "died" here

    second = _controller(sweep_node, ref, settings)
    assert second.resumed == 2
    states = [t.state.name for t in second.study.get_trials(deepcopy=False)]
    assert states.count("FAIL") == 1
    runs = 0
    while second.wants_more():
        _run_one(second)
        runs += 1
    assert runs == 2
    assert second.done()
    summary = second.result()
    assert summary["best_params"]["C"] > 0
    assert summary["n_trials"] == 4
    assert len(summary["trials"]) == 4, "the interrupted trial is not reported; its parameters ran again"
    assert {t["state"] for t in summary["trials"]} <= {"complete", "pruned"}


def test_a_resumed_sweep_runs_exactly_n_trials_and_no_parameters_twice(shipyard_home, sweep_node):
    """Killed with two trials running: they run once more each, new draws fill the rest, none repeats."""
    from optuna.trial import TrialState

    settings = load_settings()
    from shipyard.store.db import get_engine

    get_engine(settings)
    ref = save_value(open_artifact_store(settings), _frame()).ref()
    first = _controller(sweep_node, ref, settings)
    _run_one(first)
    cut_short = [first.next_task()[1]["trial_params"] for _ in range(2)]  # running when the process died

    second = _controller(sweep_node, ref, settings)
    assert second.resumed == 1
    while second.wants_more():
        _run_one(second)
    summary = second.result()
    assert summary["n_trials"] == sweep_node.params["sweep"]["n_trials"] == 4
    finished = [t for t in second.study.get_trials(deepcopy=False)
                if t.state in (TrialState.COMPLETE, TrialState.PRUNED)]
    assert len(finished) == 4
    values = [t.params["C"] for t in finished]
    assert len(set(values)) == 4, f"parameters ran twice: {values}"
    assert all(params["C"] in values for params in cut_short)

    third = _controller(sweep_node, ref, settings)
    assert third.resumed == 4 and not third.wants_more()


def test_sweep_with_only_failures_fails_clearly(shipyard_home, sweep_node):
    from shipyard.errors import StepFailedError

    settings = load_settings()
    ref = save_value(open_artifact_store(settings), _frame()).ref()
    controller = _controller(sweep_node, ref, settings)
    while controller.wants_more():
        task_id, _ = controller.next_task()
        controller.on_outcome(task_id, False, None, "bad params")
    with pytest.raises(StepFailedError, match="no successful trial: trial 0: bad params"):
        controller.result()


def test_a_regression_sweep_minimizes_its_error_metric_without_being_told(shipyard_home):
    import optuna

    settings = load_settings()
    rng = np.random.default_rng(1)
    x1, x2 = rng.normal(size=300), rng.normal(size=300)
    frame = pd.DataFrame({"x1": x1, "x2": x2, "y": 50 + 10 * x1 - 4 * x2 + rng.normal(scale=2, size=300)})
    params = {
        "sweep": {"n_trials": 3, "metric": "mae", "pruning": False, "cv_folds": 3,
                  "space": {"alpha": {"type": "float", "low": 0.01, "high": 1000.0, "log": True}}},
        "model": {"flavor": "sklearn", "estimator": "Ridge", "task": None, "params": {}},
        "features": [{"name": None, "columns": ["x1", "x2"], "function": None,
                      "transforms": [{"kind": "scale", "method": "standard"}]}],
        "target": "y", "task": "regression", "pipeline": "r",
    }
    node = StepNode(name="sweep", kind="sweep", impl="shipyard.pipeline.steps.sweep:run_trial",
                    inputs={"train": "split.train"}, params=params, ref_inputs=("train",))
    controller = SweepController(node=node, train_ref=save_value(open_artifact_store(settings), frame).ref(),
                                 study_name="shipyard:r:abc", storage_url=settings.database_url, settings=settings)
    assert controller.study.direction == optuna.study.StudyDirection.MINIMIZE
    while controller.wants_more():
        _run_one(controller)
    summary = controller.result()
    assert summary["direction"] == "minimize"
    assert summary["best_value"] == min(t["value"] for t in summary["trials"])


def test_a_capped_sweep_runs_fewer_trials_at_once_but_all_of_them(shipyard_home, sweep_node):
    settings = load_settings()
    ref = save_value(open_artifact_store(settings), _frame()).ref()
    controller = SweepController(node=sweep_node, train_ref=ref, study_name="shipyard:t:capped",
                                 storage_url=settings.database_url, settings=settings, max_parallel=2)
    widest = 0
    while not controller.done():
        started = []
        while controller.wants_more() and controller.has_room():
            started.append(controller.next_task())
        widest = max(widest, len(controller.running))
        for task_id, kwargs in started:
            controller.on_outcome(task_id, True, run_trial(**kwargs), None)
    assert widest == 2
    assert controller.result()["n_trials"] == 4
