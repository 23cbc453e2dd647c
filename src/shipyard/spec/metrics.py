"""The metric registry: every holdout metric shipyard computes, its task and its direction.

Sweeps, threshold rules, champion and slice gates, model cards and version
comparisons all read a metric's direction from here, so that "better" means
the same thing everywhere. A ``direction`` written in the spec is only a
restatement; one that contradicts this registry is a spec error.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from shipyard.spec.models import EvaluationSpec

Direction = Literal["maximize", "minimize"]
Task = Literal["classification", "regression"]
TASKS: tuple[Task, ...] = ("classification", "regression")


@dataclass(frozen=True, kw_only=True)
class Metric:
    name: str
    task: Task
    direction: Direction
    default: bool
    """Computed on the holdout when ``evaluation.metrics`` is omitted."""
    meaning: str

    @property
    def better(self) -> str:
        """'higher' or 'lower'."""
        return "higher" if self.direction == "maximize" else "lower"


def _metric(name: str, task: Task, direction: Direction, meaning: str, *, default: bool = True) -> Metric:
    return Metric(name=name, task=task, direction=direction, default=default, meaning=meaning)


METRICS: Mapping[str, Metric] = MappingProxyType({m.name: m for m in (
    _metric("roc_auc", "classification", "maximize",
            "area under the ROC curve; multiclass: one-vs-rest, macro-averaged over classes"),
    _metric("pr_auc", "classification", "maximize",
            "average precision of the positive class; binary labels only"),
    _metric("log_loss", "classification", "minimize", "cross-entropy of the predicted probabilities"),
    _metric("accuracy", "classification", "maximize", "share of correctly predicted labels"),
    _metric("precision", "classification", "maximize",
            "binary: of the positive class; multiclass: macro average (unweighted mean over classes)"),
    _metric("recall", "classification", "maximize",
            "binary: of the positive class; multiclass: macro average (unweighted mean over classes)"),
    _metric("f1", "classification", "maximize",
            "binary: of the positive class; multiclass: macro average (unweighted mean over classes)"),
    _metric("brier", "classification", "minimize",
            "mean squared error of the positive-class probability; binary labels only", default=False),
    _metric("rmse", "regression", "minimize", "root mean squared error"),
    _metric("mae", "regression", "minimize", "mean absolute error"),
    _metric("r2", "regression", "maximize", "coefficient of determination"),
    _metric("mape", "regression", "minimize", "mean absolute percentage error, as a fraction", default=False),
)})


def metric(name: str) -> Metric | None:
    return METRICS.get(name)


def direction_of(name: str) -> Direction:
    """The registered direction; KeyError for a name the registry does not know."""
    return METRICS[name].direction


def metric_names(task: str | None = None) -> tuple[str, ...]:
    """Every known metric, or those of one task, in registry order."""
    return tuple(m.name for m in METRICS.values() if task is None or m.task == task)


def default_metrics(task: str) -> tuple[str, ...]:
    return tuple(m.name for m in METRICS.values() if m.task == task and m.default)


def task_metrics(task: str) -> dict[str, Direction]:
    """``{name: direction}`` of every metric the task can compute.

    Gates and threshold rules may name any of these: the gate computes its
    metric on the holdout even when ``evaluation.metrics`` leaves it out.
    """
    return {m.name: m.direction for m in METRICS.values() if m.task == task}


def computed_metrics(task: str, evaluation: EvaluationSpec | None = None) -> dict[str, Direction]:
    """``{name: direction}`` of the metrics the evaluate step records for this task and evaluation section.

    Names in ``evaluation.metrics`` that belong to the other task are left out:
    they are never computed.
    """
    requested = evaluation.metrics if evaluation is not None else None
    names = requested if requested else default_metrics(task)
    return {name: METRICS[name].direction for name in names if name in METRICS and METRICS[name].task == task}


# ---------------------------------------------------------------- spec validation helpers


def fill_direction(data: Any) -> Any:
    """For a ``mode="before"`` validator: a missing ``direction`` takes the registered one of ``metric``."""
    if isinstance(data, dict) and data.get("direction") is None and data.get("metric") in METRICS:
        return {**data, "direction": METRICS[data["metric"]].direction}
    return data


def unknown_metric(name: str) -> str | None:
    """Why ``name`` is not a metric (with the closest known name), or None when it is one."""
    if name in METRICS:
        return None
    import difflib

    close = difflib.get_close_matches(name, list(METRICS), n=1, cutoff=0.6)
    suggestion = f"; did you mean '{close[0]}'?" if close else ""
    return f"unknown metric '{name}'{suggestion} (allowed: {', '.join(METRICS)})"


def contradiction(name: str, direction: str, what: str) -> str | None:
    """Why ``direction`` contradicts the registered direction of ``name`` for ``what``, or None."""
    known = METRICS.get(name)
    if known is None or known.direction == direction:
        return None
    return (f"'{name}' is {known.better}-is-better, so {what} must {known.direction} it; "
            f"set 'direction: {known.direction}' or leave 'direction' out")
