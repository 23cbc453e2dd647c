"""``/api/v1/runs``: list, show, start, cancel and resume pipeline runs."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime, timezone
from typing import Literal

from fastapi import APIRouter, Depends, Query

from shipyard.config import Settings
from shipyard.governance.admission import positions
from shipyard.server.auth import Caller, caller
from shipyard.server.pagination import Page, Window, parse_sort, sort_query, window
from shipyard.server.problems import problem_responses
from shipyard.server.schemas import (ResumeIn, RunAccepted, RunDetail, RunFromRun, RunFromSpec, RunLogOut,
                                     RunOut, SweepOut)
from shipyard.server.settings import app_settings
from shipyard.store.runs import RUN_SORT_KEYS

router = APIRouter(prefix="/runs", tags=["runs"])

LOG_TAIL_BYTES = 64 * 1024
MAX_LOG_TAIL_BYTES = 1024 * 1024
RunStatus = Literal["pending", "queued", "running", "succeeded", "failed", "cancelled"]


def run_out(record, *, steps: bool = False, position: int | None = None) -> dict:
    from shipyard.pipeline.compile import upstream_steps
    from shipyard.pipeline.state import resume_command

    data = asdict(record)
    data["status"] = record.shown_status
    data["queue_position"] = position
    data["resume_command"] = resume_command(
        record.id, spec_error=(record.result or {}).get("error_kind") == "SpecError",
        spec_path=record.spec_path) if record.resumable else None
    if steps:
        upstream = upstream_steps(record.spec_text) or {}
        for step in data["steps"]:
            step["upstream"] = upstream.get(step["name"])
    else:
        data.pop("steps")
    return data


@router.get("", response_model=Page[RunOut], summary="Pipeline runs, newest first by default",
            responses=problem_responses(400, 401, 403, 422, 503))
def list_runs(pipeline: str | None = None, status: RunStatus | None = Query(None, description="The stored status."),
              model: str | None = Query(None, description="Runs that registered a version of this model."),
              team: str | None = Query(None, description="Runs of the models this team owns, or admitted under "
                                                         "its quota."),
              since: datetime | None = Query(None, description="Runs created at or after this time (UTC unless "
                                                               "an offset is given)."),
              sort: str = sort_query("-created_at", RUN_SORT_KEYS),
              page: Window = Depends(window), who: Caller = Depends(caller),
              settings: Settings = Depends(app_settings)) -> dict:
    from shipyard.store import runs as store

    order = parse_sort(sort, RUN_SORT_KEYS)
    if since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=timezone.utc)
    with who.acting():
        records, total = store.page_runs(pipeline=pipeline, status=status, model=model, team=team, since=since,
                                         sort=order.key, descending=order.descending, offset=page.offset,
                                         limit=page.limit, settings=settings)
        places = positions([r.id for r in records if r.shown_status == "queued"], settings=settings)
    return page.page([run_out(r, position=places.get(r.id)) for r in records], total)


@router.get("/{run_id}", response_model=RunDetail, summary="One run with its steps",
            responses=problem_responses(401, 403, 404, 503))
def show_run(run_id: str, who: Caller = Depends(caller), settings: Settings = Depends(app_settings)) -> dict:
    from shipyard.store import runs as store

    with who.acting():
        record = store.get_run(run_id, settings=settings)
        position = positions([record.id], settings=settings).get(record.id) if record.shown_status == "queued" \
            else None
        return run_out(record, steps=True, position=position)


@router.get("/{run_id}/sweep", response_model=SweepOut, summary="The run's sweep: every trial and the best one",
            responses=problem_responses(401, 403, 404, 503))
def show_sweep(run_id: str, who: Caller = Depends(caller), settings: Settings = Depends(app_settings)) -> dict:
    from shipyard.pipeline.sweep_results import sweep_trials

    with who.acting():
        return sweep_trials(run_id, settings=settings)


@router.get("/{run_id}/logs", response_model=RunLogOut,
            summary="The end of a run's log, or of one step's own output (what it printed, and its traceback when "
                    "it failed)", responses=problem_responses(401, 403, 404, 422, 503))
def show_logs(run_id: str, step: str | None = Query(None, description="One of the run's steps."),
              max_bytes: int = Query(LOG_TAIL_BYTES, ge=1, le=MAX_LOG_TAIL_BYTES,
                                     description="Answer at most this many bytes of the log's end."),
              who: Caller = Depends(caller), settings: Settings = Depends(app_settings)) -> dict:
    from shipyard.errors import NotFoundError
    from shipyard.pipeline import step_logs
    from shipyard.store import runs as store

    with who.acting():
        record = store.get_run(run_id, settings=settings)
    if step is None:
        path = step_logs.run_log_path(record.id, settings)
    elif step in {s.name for s in record.steps}:
        path = step_logs.step_log_path(record.id, step, settings)
    else:
        raise NotFoundError(f"run {record.id} has no step '{step}'",
                            hint=f"its steps are: {', '.join(s.name for s in record.steps) or 'none yet'}")
    found = step_logs.tail(path, max_bytes)
    return {"run_id": record.id, "step": step, "text": found.text, "size_bytes": found.size_bytes,
            "truncated": found.truncated}


@router.post("", response_model=RunAccepted, status_code=202,
             summary="Start a run of an uploaded spec, or of a stored run's spec, in the background",
             responses=problem_responses(400, 401, 403, 404, 409, 422, 503))
def start_run(body: RunFromSpec | RunFromRun, who: Caller = Depends(caller),
              settings: Settings = Depends(app_settings)) -> dict:
    from shipyard.pipeline import background

    with who.acting():
        if isinstance(body, RunFromSpec):
            run_id = background.start_uploaded(body.spec, actor=who.name, no_cache=body.no_cache,
                                               no_deploy=body.no_deploy, from_step=body.from_step,
                                               base_dir=body.base_dir, settings=settings)
        else:
            run_id = background.start_again(body.from_run, actor=who.name, no_cache=body.no_cache,
                                            no_deploy=body.no_deploy, settings=settings)
    return _accepted(run_id, settings)


@router.post("/{run_id}/cancel", response_model=RunAccepted, status_code=202,
             summary="Stop a running run; it is recorded as cancelled",
             responses=problem_responses(401, 403, 404, 409, 503))
def cancel_run(run_id: str, who: Caller = Depends(caller), settings: Settings = Depends(app_settings)) -> dict:
    from shipyard.pipeline import background

    with who.acting():
        return _accepted(background.cancel(run_id, settings=settings), settings)


@router.post("/{run_id}/resume", response_model=RunAccepted, status_code=202,
             summary="Continue a failed, cancelled or interrupted run in the background (with a fixed spec, "
                     "without the cache, or from a step)",
             responses=problem_responses(400, 401, 403, 404, 409, 422, 503))
def resume_run(run_id: str, body: ResumeIn | None = None, who: Caller = Depends(caller),
               settings: Settings = Depends(app_settings)) -> dict:
    from shipyard.pipeline import background

    body = body or ResumeIn()
    with who.acting():
        return _accepted(background.resume(run_id, actor=who.name, spec_text=body.spec, base_dir=body.base_dir,
                                           no_cache=body.no_cache, from_step=body.from_step, settings=settings),
                         settings)


def _accepted(run_id: str, settings: Settings) -> dict:
    from shipyard.store import runs as store

    record = store.get_run(run_id, settings=settings)
    return {"id": record.id, "status": record.shown_status, "url": f"/api/v1/runs/{record.id}"}
