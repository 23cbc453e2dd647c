from __future__ import annotations

from shipyard.pipeline.task import StepContext, StepResult
from shipyard.spec.models import ExpectationsSpec


def run(context: StepContext, frame) -> StepResult:
    from shipyard.data.expectations import validate_frame

    expectations = ExpectationsSpec.model_validate(context.params["expectations"])
    valid, report = validate_frame(frame, expectations, target=context.params["target"],
                                   timestamp=context.params["timestamp"])
    return StepResult(outputs={"frame": valid, "report": report},
                      details={"rows_in": report.get("rows_in"), "rows_dropped": report.get("rows_dropped")})
