"""Repository functions for runs, steps, artifacts and the step cache.

They return frozen records, never live ORM objects.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from shipyard.config import Settings
from shipyard.errors import NotFoundError
from shipyard.store.db import session_scope
from shipyard.store.models import Artifact, CacheEntry, PipelineRun, StepRun

_RUN_FIELDS = {"status", "started_at", "finished_at", "error", "result", "mlflow_run_id", "model_name",
               "model_version", "options"}
_STEP_FIELDS = {"kind", "position", "cache_key", "state", "cache_hit", "attempts", "started_at", "finished_at",
                "duration_s", "error", "outputs", "details"}


@dataclass(frozen=True, kw_only=True)
class StepRecord:
    name: str
    kind: str
    position: int
    state: str
    cache_key: str | None
    cache_hit: bool
    attempts: int
    started_at: datetime | None
    finished_at: datetime | None
    duration_s: float | None
    error: str | None
    outputs: dict[str, Any]
    details: dict[str, Any] | None


@dataclass(frozen=True, kw_only=True)
class RunRecord:
    id: str
    pipeline: str
    spec_path: str | None
    spec_text: str
    spec_digest: str
    status: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    options: dict[str, Any]
    error: str | None
    result: dict[str, Any] | None
    mlflow_run_id: str | None
    model_name: str | None
    model_version: str | None
    steps: tuple[StepRecord, ...] = field(default=())


@dataclass(frozen=True, kw_only=True)
class CacheRecord:
    cache_key: str
    step_kind: str
    outputs: dict[str, Any]
    run_id: str
    details: dict[str, Any] | None


@dataclass(frozen=True, kw_only=True)
class ArtifactRecord:
    digest: str
    format: str
    size_bytes: int
    meta: dict[str, Any]


def _step_record(row: StepRun) -> StepRecord:
    return StepRecord(**{name: getattr(row, name) for name in StepRecord.__dataclass_fields__})


def _run_record(row: PipelineRun, *, with_steps: bool) -> RunRecord:
    values = {name: getattr(row, name) for name in RunRecord.__dataclass_fields__ if name != "steps"}
    steps = tuple(_step_record(s) for s in row.steps) if with_steps else ()
    return RunRecord(**values, steps=steps)


def create_run(*, run_id: str, pipeline: str, spec_path: str | None, spec_text: str, spec_digest: str,
               options: dict[str, Any], settings: Settings | None = None) -> None:
    with session_scope(settings) as session:
        session.add(PipelineRun(id=run_id, pipeline=pipeline, spec_path=spec_path, spec_text=spec_text,
                                spec_digest=spec_digest, status="pending", options=options))


def update_run(run_id: str, *, settings: Settings | None = None, **fields: Any) -> None:
    unknown = set(fields) - _RUN_FIELDS
    if unknown:
        raise ValueError(f"not run fields: {sorted(unknown)}")
    with session_scope(settings) as session:
        row = session.get(PipelineRun, run_id)
        if row is None:
            raise NotFoundError(f"there is no run {run_id}", hint="`shipyard runs list` shows the runs")
        for key, value in fields.items():
            setattr(row, key, value)


def save_step(run_id: str, name: str, *, settings: Settings | None = None, **fields: Any) -> None:
    unknown = set(fields) - _STEP_FIELDS
    if unknown:
        raise ValueError(f"not step fields: {sorted(unknown)}")
    with session_scope(settings) as session:
        row = session.scalar(select(StepRun).where(StepRun.run_id == run_id, StepRun.name == name))
        if row is None:
            defaults = {"kind": "user", "position": 0, "state": "pending", "cache_hit": False, "attempts": 0,
                        "outputs": {}}
            row = StepRun(run_id=run_id, name=name, **{**defaults, **fields})
            session.add(row)
            return
        for key, value in fields.items():
            setattr(row, key, value)


def get_run(run_id: str, *, settings: Settings | None = None) -> RunRecord:
    with session_scope(settings) as session:
        row = session.get(PipelineRun, run_id)
        if row is None and len(run_id) >= 4:
            matches = session.scalars(select(PipelineRun).where(PipelineRun.id.startswith(run_id, autoescape=True))
                                      .limit(5)).all()
            if len(matches) > 1:
                raise NotFoundError(f"run id prefix '{run_id}' is ambiguous: it matches "
                                    f"{', '.join(m.id for m in matches)}", hint="give more characters of the id")
            row = matches[0] if matches else None
        if row is None:
            recent = session.scalars(select(PipelineRun.id).order_by(PipelineRun.created_at.desc()).limit(5)).all()
            shown = f"recent runs: {', '.join(recent)}; " if recent else ""
            raise NotFoundError(f"there is no run '{run_id}'",
                                hint=f"{shown}`shipyard runs list` shows all runs")
        return _run_record(row, with_steps=True)


def list_runs(*, pipeline: str | None = None, limit: int = 20, settings: Settings | None = None) -> list[RunRecord]:
    with session_scope(settings) as session:
        query = select(PipelineRun).order_by(PipelineRun.created_at.desc()).limit(limit)
        if pipeline:
            query = query.where(PipelineRun.pipeline == pipeline)
        return [_run_record(row, with_steps=False) for row in session.scalars(query)]


def delete_run(run_id: str, *, settings: Settings | None = None) -> None:
    with session_scope(settings) as session:
        session.execute(delete(PipelineRun).where(PipelineRun.id == run_id))


def record_artifact(digest: str, format: str, size_bytes: int, meta: dict[str, Any], *,
                    settings: Settings | None = None) -> None:
    try:
        with session_scope(settings) as session:
            if session.get(Artifact, digest) is None:
                session.add(Artifact(digest=digest, format=format, size_bytes=size_bytes, meta=meta))
    except IntegrityError:
        pass  # recorded concurrently by another process: same digest, same bytes


def get_artifact(digest: str, *, settings: Settings | None = None) -> ArtifactRecord | None:
    with session_scope(settings) as session:
        row = session.get(Artifact, digest)
        if row is None:
            return None
        return ArtifactRecord(digest=row.digest, format=row.format, size_bytes=row.size_bytes, meta=row.meta)


def cache_get(cache_key: str, *, settings: Settings | None = None) -> CacheRecord | None:
    with session_scope(settings) as session:
        row = session.get(CacheEntry, cache_key)
        if row is None:
            return None
        return CacheRecord(cache_key=row.cache_key, step_kind=row.step_kind, outputs=row.outputs, run_id=row.run_id,
                           details=row.details)


def cache_put(cache_key: str, *, step_kind: str, outputs: dict[str, Any], run_id: str,
              details: dict[str, Any] | None = None, settings: Settings | None = None) -> None:
    try:
        with session_scope(settings) as session:
            row = session.get(CacheEntry, cache_key)
            if row is None:
                session.add(CacheEntry(cache_key=cache_key, step_kind=step_kind, outputs=outputs, run_id=run_id,
                                       details=details))
            else:
                row.outputs, row.run_id, row.details = outputs, run_id, details
    except IntegrityError:
        pass
