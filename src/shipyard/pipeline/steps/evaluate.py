from __future__ import annotations

from shipyard.errors import DataError
from shipyard.pipeline.task import StepContext, StepResult
from shipyard.spec.models import EvaluationSpec


def run(context: StepContext, model, holdout) -> StepResult:
    from shipyard.pipeline.metrics import evaluate_model, metrics_for

    evaluation = EvaluationSpec.model_validate(context.params["evaluation"])
    task = context.params["task"]
    missing = [c for c in evaluation.slices if c not in holdout.columns]
    if missing:
        raise DataError(f"evaluation.slices names column(s) {missing} that the data does not have",
                        hint=f"columns: {', '.join(map(str, holdout.columns))}")
    report = evaluate_model(model, holdout, target=context.params["target"], task=task,
                            names=metrics_for(task, evaluation.metrics), slices=evaluation.slices,
                            threshold=evaluation.threshold)
    shown = {k: round(v, 4) for k, v in report["overall"].items() if v is not None}
    return StepResult(outputs={"metrics": report}, details={"metrics": shown})
