"""Checks that need the ML libraries, run in a worker before the first step executes:
the estimator exists and takes its parameters, metrics fit the task, user functions import."""

from __future__ import annotations

from shipyard.errors import SpecError
from shipyard.spec.models import PipelineSpec


def check(*, spec: PipelineSpec) -> None:
    from shipyard.data.usercode import resolve_function
    from shipyard.pipeline.estimators import check_task, make_estimator
    from shipyard.pipeline.metrics import metrics_for

    task = spec.task()
    estimator = make_estimator(spec.model)
    check_task(spec.model, task, declared=spec.model.task is not None)
    metrics_for(task, spec.evaluation.metrics)
    if spec.sweep is not None:
        metrics_for(task, [spec.sweep.metric])
        accepted = set(estimator.get_params(deep=False))
        unknown = sorted(set(spec.sweep.space) - accepted)
        if unknown and spec.model.flavor not in ("lightgbm", "xgboost"):
            raise SpecError(f"sweep.space tunes {unknown}, which {type(estimator).__name__} does not take",
                            hint=f"it takes: {', '.join(sorted(accepted))}")
    for ref in [g.function for g in spec.features if g.function] + [s.function for s in spec.steps]:
        resolve_function(ref)
