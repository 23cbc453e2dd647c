"""A finished sweep's trials, read back from the artifact its step stored."""

from __future__ import annotations

from typing import Any

from shipyard.config import Settings
from shipyard.errors import NotFoundError
from shipyard.pipeline.artifacts import open_artifact_store
from shipyard.pipeline.serialization import load_value
from shipyard.store import runs as store

SWEEP_KIND = "sweep"


def sweep_trials(run_id: str, *, settings: Settings) -> dict[str, Any]:
    """The run's sweep: its metric, direction, best trial and every trial (number, params, value, state, duration).

    Raises NotFoundError when the run has no sweep step or its sweep has not finished.
    """
    record = store.get_run(run_id, settings=settings)
    step = next((s for s in record.steps if s.kind == SWEEP_KIND), None)
    if step is None:
        raise NotFoundError(f"run {record.id} has no sweep step (its spec has no sweep: section)",
                            headline="no sweep in this run",
                            hint="a pipeline sweeps when its spec has a sweep: section; `shipyard runs show "
                                 f"{record.id}` lists its steps")
    ref = step.outputs.get("result")
    if step.state != "succeeded" or not isinstance(ref, dict):
        raise NotFoundError(f"the sweep of run {record.id} has not finished (it is {step.state})",
                            headline="sweep not finished", hint="its trials are readable once the sweep step succeeds")
    result = load_value(open_artifact_store(settings), ref)
    return {"run_id": record.id, "step": step.name, "metric": result["metric"], "direction": result["direction"],
            "best_trial": result["best_trial"], "best_value": result["best_value"],
            "best_params": result["best_params"], "trials": result["trials"]}
