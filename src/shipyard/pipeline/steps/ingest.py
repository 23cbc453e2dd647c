from __future__ import annotations

from shipyard.pipeline.task import StepContext, StepResult
from shipyard.spec.models import DataSpec


def run(context: StepContext) -> StepResult:
    from shipyard.data.sources import read_source

    data = DataSpec.model_validate(context.params["data"])
    frame = read_source(data, context.base_dir)
    return StepResult(outputs={"frame": frame},
                      details={"rows": int(len(frame)), "columns": int(frame.shape[1]),
                               "source_digest": context.params["source_digest"]})
