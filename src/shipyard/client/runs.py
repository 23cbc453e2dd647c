"""Pipeline runs through the API, as the store's own :class:`RunRecord`."""

from __future__ import annotations

import sys
import time
from itertools import islice
from typing import TYPE_CHECKING

from shipyard.client.remote import rebuild, segment
from shipyard.governance.admission import QueueEntry
from shipyard.pipeline.state import PipelineRun, StepState
from shipyard.store.runs import RunRecord

if TYPE_CHECKING:
    from shipyard.client.http import ApiClient
    from shipyard.pipeline.progress import Reporter
    from shipyard.spec.loader import LoadedSpec

FINISHED = ("succeeded", "failed", "cancelled", "interrupted")
POLL_S = 0.5


def list_runs(api: ApiClient, *, pipeline: str | None = None, limit: int = 20) -> list[RunRecord]:
    """The newest ``limit`` runs (of ``pipeline``), newest first, as ``store.list_runs`` gives them."""
    items = islice(api.pages("/runs", page_size=limit, pipeline=pipeline, sort="-created_at"), limit)
    return [run_record(item) for item in items]


def get_run(api: ApiClient, run_id: str) -> RunRecord:
    """A run with its steps (``run_id`` or a unique prefix).

    A run the server read as active whose process is gone by the time the answer is here is read again: the
    process may have recorded the run's end after the server's read and exited since. Only a run still active
    then is interrupted."""
    record = run_record(api.get(f"/runs/{segment(run_id)}"))
    if record.shown_status != record.status:
        record = run_record(api.get(f"/runs/{segment(record.id)}"))
    return record


def queue(api: ApiClient, *, team: str | None = None) -> list[QueueEntry]:
    """The runs waiting for their team's quota, by team and position, as ``admission.queue`` gives them."""
    return rebuild(list[QueueEntry], list(api.pages("/queue", team=team)))


def run_record(data: dict) -> RunRecord:
    """An API run as the store's record; a list item has no spec text."""
    return rebuild(RunRecord, {"spec_text": "", **data})


def start_run(api: ApiClient, spec: LoadedSpec, *, no_cache: bool = False, no_deploy: bool = False,
              from_step: str | None = None) -> str:
    """Start a run of ``spec`` on the server; its id."""
    body = {"spec": spec.text, "no_cache": no_cache, "no_deploy": no_deploy, "from_step": from_step,
            "base_dir": str(spec.base_dir)}
    return api.post("/runs", body)["id"]


def resume_run(api: ApiClient, run_id: str, *, spec: LoadedSpec | None = None, no_cache: bool = False,
               from_step: str | None = None) -> str:
    """Continue the run on the server, with a fixed ``spec`` (its text and folder are sent) and the options."""
    body = {"no_cache": no_cache, "from_step": from_step}
    if spec is not None:
        body |= {"spec": spec.text, "base_dir": str(spec.base_dir)}
    return api.post(f"/runs/{segment(run_id)}/resume", {k: v for k, v in body.items() if v is not None})["id"]


def follow_run(api: ApiClient, run_id: str, reporter: Reporter) -> PipelineRun:
    """Report the run's steps as they change until it ends; its result as ``shipyard run`` shows it.

    The run is under way while its process holds its lease; the report starts once it is running (by then
    every step is recorded) and the run is over once the lease is released. Ctrl-C asks the server to cancel
    the run, as it cancels a run in-process.
    """
    seen: dict[str, tuple] = {}
    started = False
    try:
        while True:
            record = get_run(api, run_id)
            holding = record.holder.alive()
            if not started and (record.status == "running" or not holding):
                states = [_step_state(step) for step in record.steps]
                reporter.start(record.id, record.pipeline, states)
                for state in states:
                    if not state.done and state.state != "pending":  # start shows the completed ones
                        reporter.update(state)
                seen = {s.name: _shown(s) for s in states}
                started = True
            elif started:
                for state in (_step_state(step) for step in record.steps):
                    if seen.get(state.name, _PENDING) != _shown(state):
                        seen[state.name] = _shown(state)
                        reporter.update(state)
                reporter.tick()
            if started and not holding and record.shown_status in FINISHED:
                return _result(record)
            time.sleep(POLL_S)
    except KeyboardInterrupt:
        _cancel(api, run_id)
        raise
    finally:
        if started:
            reporter.stop()


def _cancel(api: ApiClient, run_id: str) -> None:
    from shipyard.errors import ShipyardError

    try:
        api.post(f"/runs/{segment(run_id)}/cancel")
    except ShipyardError as exc:
        print(f"could not cancel run {run_id}: {exc.render()}", file=sys.stderr)
    else:
        print(f"asked the server to cancel run {run_id}", file=sys.stderr)


_PENDING = ("pending", 0, None, False)


def _shown(state: StepState) -> tuple:
    return state.state, state.attempts, state.duration_s, state.cache_hit


def _step_state(step) -> StepState:
    from shipyard.pipeline.runner import step_note

    details = step.details or {}
    return StepState(name=step.name, kind=step.kind, position=step.position, state=step.state,
                     cache_key=step.cache_key, cache_hit=step.cache_hit, attempts=step.attempts,
                     duration_s=step.duration_s, outputs=step.outputs or {}, details=details, error=step.error,
                     note=step_note(step.kind, details) if step.state in ("succeeded", "cached") else "")


def _result(record: RunRecord) -> PipelineRun:
    from shipyard.errors import ShipyardError, kind_for_slug, kind_slug

    result = record.result or {}
    error_kind = result.get("error_kind")
    kind = kind_for_slug(kind_slug(error_kind)) if error_kind else None
    exit_code = 0 if record.shown_status == "succeeded" else (kind or ShipyardError).exit_code
    duration = (record.finished_at - record.started_at).total_seconds() \
        if record.started_at and record.finished_at else 0.0
    overall = result.get("metrics")
    evaluation = result.get("evaluation") or ({"overall": overall} if overall is not None else None)
    steps = tuple(_step_state(step).report() for step in sorted(record.steps, key=lambda s: s.position))
    return PipelineRun(run_id=record.id, pipeline=record.pipeline, status=record.shown_status, duration_s=duration,
                       steps=steps, error=record.error, error_kind=error_kind, exit_code=exit_code,
                       registration=result.get("registration"),
                       metrics=evaluation, spec_path=record.spec_path)
