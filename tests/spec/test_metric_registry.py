"""shipyard.spec.metrics, the metric registry: names per task, directions, defaults, what an evaluation computes."""

import pytest

from shipyard.spec.metrics import (METRICS, computed_metrics, default_metrics, direction_of, metric_names,
                                   task_metrics)
from shipyard.spec.models import EvaluationSpec, SweepSpec

SPACE = {"alpha": {"type": "float", "low": 0.1, "high": 1.0}}


def test_every_metric_has_a_task_and_a_direction():
    assert task_metrics("classification") == {
        "roc_auc": "maximize", "pr_auc": "maximize", "log_loss": "minimize", "accuracy": "maximize",
        "precision": "maximize", "recall": "maximize", "f1": "maximize", "brier": "minimize"}
    assert task_metrics("regression") == {"rmse": "minimize", "mae": "minimize", "r2": "maximize",
                                          "mape": "minimize"}
    assert metric_names() == tuple(METRICS)
    assert METRICS["rmse"].better == "lower" and METRICS["r2"].better == "higher"


def test_defaults_and_what_an_evaluation_section_computes():
    assert default_metrics("regression") == ("rmse", "mae", "r2")
    assert "brier" not in default_metrics("classification")
    assert computed_metrics("regression") == {"rmse": "minimize", "mae": "minimize", "r2": "maximize"}
    assert computed_metrics("regression", EvaluationSpec()) == computed_metrics("regression")
    chosen = EvaluationSpec(metrics=["mape", "roc_auc"])
    assert computed_metrics("regression", chosen) == {"mape": "minimize"}
    assert computed_metrics("classification", chosen) == {"roc_auc": "maximize"}


@pytest.mark.parametrize("name", list(METRICS))
def test_a_sweep_without_a_direction_optimizes_the_registered_one(name):
    assert SweepSpec(metric=name, space=SPACE).direction == direction_of(name)


def test_a_sweep_direction_contradicting_the_metric_is_refused():
    with pytest.raises(ValueError, match="'mae' is lower-is-better, so the sweep must minimize it"):
        SweepSpec(metric="mae", direction="maximize", space=SPACE)
