"""The shipyard run behind an Airflow DAG run: opened by the DAG's first task, closed by its last.

Between the two, each step task runs ``shipyard step run RUN_ID STEP`` and records its
step exactly as the local runner would. Opening is idempotent (a retried first task
finds the run it opened), and the run remembers the DAG run it stands for.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from shipyard.config import Settings, load_settings
from shipyard.errors import NotFoundError, RefusedError, ShipyardError, StepFailedError
from shipyard.pipeline.airflow_dag import shipyard_run_id
from shipyard.pipeline.api import authorize_run, plan_spec
from shipyard.pipeline.runner import Runner
from shipyard.spec.loader import load_spec, parse_spec
from shipyard.store import leases
from shipyard.store import runs as store

DONE = ("succeeded", "cached")


@dataclass(frozen=True, kw_only=True)
class Closed:
    run_id: str
    status: str
    exit_code: int
    error: str | None


def begin(spec_path: str | Path, *, dag_id: str, dag_run_id: str, settings: Settings | None = None) -> str:
    """Open (or find, on a retry) the run for this DAG run; its steps are recorded as pending."""
    settings = settings or load_settings()
    run_id = shipyard_run_id(dag_id, dag_run_id)
    link = {"dag_id": dag_id, "dag_run_id": dag_run_id}
    try:
        existing = store.get_run(run_id, settings=settings)
    except NotFoundError:
        existing = None
    if existing is not None:
        if (existing.options or {}).get("airflow") != link:
            raise RefusedError(f"run {run_id} exists but does not stand for Airflow DAG run {dag_id}/{dag_run_id}",
                               hint="this should not happen; look at the run with `shipyard runs show`")
        return run_id
    loaded = load_spec(spec_path)
    authorize_run(loaded, settings)
    runner = Runner(plan_spec(loaded), settings=settings, new_id=run_id)
    runner._take_ownership()
    runner._open_record()
    options = {"no_cache": False, "from_step": None, "executor": "airflow", "airflow": link}
    leases.release(run_id, runner.owner, settings=settings, options=options)
    return run_id


def finish(run_id: str, *, settings: Settings | None = None) -> Closed:
    """Close the run from what its steps recorded: succeeded when every step did, failed otherwise."""
    settings = settings or load_settings()
    record = store.get_run(run_id, settings=settings)
    if record.status in ("succeeded", "failed", "cancelled"):
        return Closed(run_id=record.id, status=record.status, exit_code=0 if record.status == "succeeded" else
                      StepFailedError.exit_code, error=record.error)
    base_dir = Path(record.spec_path).parent if record.spec_path else Path.cwd()
    loaded = parse_spec(record.spec_text, source=record.spec_path or "<run spec>", base_dir=base_dir)
    runner = Runner(plan_spec(loaded), settings=settings, run_id=record.id)
    runner._take_ownership()
    by_name = {step.name: step for step in record.steps}
    failure: ShipyardError | None = None
    for name, state in runner.states.items():
        step = by_name.get(name)
        if step is None:
            continue
        state.state, state.cache_key, state.cache_hit = step.state, step.cache_key, step.cache_hit
        state.attempts, state.duration_s, state.error = step.attempts, step.duration_s, step.error
        state.outputs, state.details = dict(step.outputs or {}), dict(step.details or {})
        if step.state not in DONE and step.state != "pending" and failure is None:
            failure = StepFailedError(f"step '{name}': {step.error or step.state}")
    pending = [name for name, state in runner.states.items() if state.state == "pending"]
    if failure is None and pending:
        failure = StepFailedError(f"steps {', '.join(pending)} never ran",
                                  hint="look at the Airflow DAG run for the tasks that did not start")
    started = record.started_at or datetime.now(timezone.utc)
    started = started if started.tzinfo else started.replace(tzinfo=timezone.utc)
    duration = (datetime.now(timezone.utc) - started).total_seconds()
    finished = runner._finish("failed" if failure else "succeeded", failure, duration)
    return Closed(run_id=finished.run_id, status=finished.status, exit_code=finished.exit_code,
                  error=finished.error)
