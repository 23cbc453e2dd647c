"""The runner's view of one step while a run is under way, and the run's result (and its record's end fields)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any


@dataclass(kw_only=True)
class StepState:
    name: str
    kind: str
    position: int
    state: str = "pending"
    cache_key: str | None = None
    cache_hit: bool = False
    attempts: int = 0
    started_at: float | None = None
    duration_s: float | None = None
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    note: str = ""
    retry_at: float | None = None

    @property
    def display_state(self) -> str:
        return "retrying" if self.state == "pending" and self.attempts else self.state

    @property
    def done(self) -> bool:
        return self.state in ("succeeded", "cached")

    def report(self) -> StepReport:
        return StepReport(name=self.name, kind=self.kind, state=self.state, cache_hit=self.cache_hit,
                          attempts=self.attempts, duration_s=self.duration_s,
                          outputs={k: v["digest"] for k, v in self.outputs.items()},
                          details=self.details, error=self.error)


@dataclass(frozen=True, kw_only=True)
class StepReport:
    name: str
    kind: str
    state: str
    cache_hit: bool
    attempts: int
    duration_s: float | None
    outputs: dict[str, str]
    details: dict[str, Any]
    error: str | None


@dataclass(frozen=True, kw_only=True)
class PipelineRun:
    run_id: str
    pipeline: str
    status: str
    duration_s: float
    steps: tuple[StepReport, ...]
    error: str | None = None
    error_kind: str | None = None
    exit_code: int = 0
    registration: dict[str, Any] | None = None
    metrics: dict[str, Any] | None = None
    spec_path: str | None = None

    @property
    def resume_command(self) -> str | None:
        if self.status not in ("failed", "cancelled"):
            return None
        return resume_command(self.run_id, spec_error=self.error_kind == "SpecError", spec_path=self.spec_path)

    @property
    def cache_hits(self) -> int:
        return sum(1 for s in self.steps if s.cache_hit)

    def step(self, name: str) -> StepReport:
        return next(s for s in self.steps if s.name == name)

    def to_dict(self) -> dict[str, Any]:
        from dataclasses import asdict

        data = asdict(self)
        data["resume_command"] = self.resume_command
        data["cache_hits"] = self.cache_hits
        return data


def resume_command(run_id: str, *, spec_error: bool = False, spec_path: str | None = None) -> str:
    """After a spec error the resume needs the fixed file, since the stored spec fails the same way."""
    if spec_error:
        return f"shipyard run --resume {run_id} --spec {spec_path or 'FIXED_PIPELINE_YAML'}"
    return f"shipyard run --resume {run_id}"


def run_result_fields(outputs: dict[str, dict[str, dict[str, str]]], error: Any, *,
                      settings: Any) -> dict[str, Any]:
    """The run record's end fields from the outputs of its done steps (``{step: {output: ref}}``)."""
    from shipyard.pipeline.artifacts import open_artifact_store
    from shipyard.pipeline.serialization import load_value

    artifacts = open_artifact_store(settings)

    def json_output(step: str, output: str) -> dict[str, Any] | None:
        ref = outputs.get(step, {}).get(output)
        return load_value(artifacts, ref) if ref is not None else None

    registration = json_output("register", "registration")
    metrics = json_output("evaluate", "metrics")
    result = {"metrics": (metrics or {}).get("overall"), "evaluation": metrics, "registration": registration,
              "error_kind": type(error).__name__ if error else None}
    if registration and registration.get("tracking"):
        result["tracking"] = registration["tracking"]
    fields: dict[str, Any] = {"finished_at": datetime.now(timezone.utc), "result": result,
                              "error": error.render() if error else None}
    if registration and registration.get("model_version") is not None:
        fields.update(mlflow_run_id=registration.get("mlflow_run_id"), model_name=registration.get("model_name"),
                      model_version=str(registration.get("model_version")))
    return fields
