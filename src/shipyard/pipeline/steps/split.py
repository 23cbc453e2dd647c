from __future__ import annotations

from shipyard.pipeline.task import StepContext, StepResult
from shipyard.spec.models import SplitSpec


def run(context: StepContext, frame) -> StepResult:
    from shipyard.data.split import split_frame

    split = SplitSpec.model_validate(context.params["split"])
    train, holdout = split_frame(frame, split, target=context.params["target"],
                                 timestamp=context.params["timestamp"])
    return StepResult(outputs={"train": train, "holdout": holdout},
                      details={"train_rows": int(len(train)), "holdout_rows": int(len(holdout))})
