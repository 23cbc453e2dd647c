"""Repository functions for runs, steps, artifacts and the step cache.

Each opens its own short session unless one is passed, and returns frozen
records, never live ORM objects.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from shipyard.config import Settings
from shipyard.errors import NotFoundError, RefusedError
from shipyard.store.db import masked, session_scope
from shipyard.store.leases import Holder
from shipyard.store.models import (RUN_STATUSES, STEP_STATES, Artifact, CacheEntry, ModelOwner, PipelineRun,
                                   RunAdmission, StepRun, utcnow)

MIN_PREFIX = 4
_RUN_FIELDS = frozenset({"status", "started_at", "finished_at", "error", "result", "mlflow_run_id", "model_name",
                         "model_version", "options", "spec_path", "spec_text", "spec_digest"})
_STEP_FIELDS = frozenset({"kind", "position", "cache_key", "state", "cache_hit", "attempts", "started_at",
                          "finished_at", "duration_s", "error", "outputs", "details"})


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
    owner: str | None = None
    heartbeat_at: datetime | None = None
    lease_expires_at: datetime | None = None
    started_by: str | None = None
    """The identity that started the run."""
    steps: list[StepRecord] = field(default_factory=list)

    @property
    def holder(self) -> Holder:
        return Holder(owner=self.owner, heartbeat_at=self.heartbeat_at, expires_at=self.lease_expires_at)

    @property
    def shown_status(self) -> str:
        """The status, except that a run whose owner is gone is ``interrupted`` rather than ``running``/``queued``."""
        driven_by_steps = (self.options or {}).get("driven_by") == "steps"  # no owner process by design
        if self.status in ("pending", "queued", "running") and not self.holder.alive() and not driven_by_steps:
            return "interrupted"
        return self.status

    @property
    def resumable(self) -> bool:
        return self.shown_status in ("failed", "cancelled", "interrupted")


@dataclass(frozen=True, kw_only=True)
class ArtifactRecord:
    digest: str
    format: str
    size_bytes: int
    created_at: datetime
    meta: dict[str, Any]


@dataclass(frozen=True, kw_only=True)
class CacheRecord:
    cache_key: str
    step_kind: str
    outputs: dict[str, Any]
    run_id: str
    created_at: datetime
    details: dict[str, Any] | None


def create_run(*, run_id: str, pipeline: str, spec_path: str | None, spec_text: str, spec_digest: str,
               options: dict[str, Any], owner: str | None = None, lease_s: float = 0.0,
               started_by: str | None = None, settings: Settings | None = None,
               session: Session | None = None) -> None:
    """A new pending run; with ``owner``, held by it for ``lease_s`` seconds from now."""
    lease: dict[str, Any] = {}
    if owner is not None:
        now = utcnow()
        lease = {"owner": owner, "heartbeat_at": now, "lease_expires_at": now + timedelta(seconds=lease_s)}
    with _session(settings, session) as s:
        if s.get(PipelineRun, run_id) is not None:
            raise RefusedError(f"a run with id '{run_id}' already exists; resume it or start a new run")
        s.add(PipelineRun(id=run_id, pipeline=pipeline, spec_path=spec_path, spec_text=spec_text,
                          spec_digest=spec_digest, status="pending", options=options, started_by=started_by,
                          **lease))
        s.flush()


def update_run(run_id: str, *, settings: Settings | None = None, session: Session | None = None,
               **fields: Any) -> None:
    _check_fields(fields, _RUN_FIELDS, "run")
    _check_value(fields, "status", RUN_STATUSES)
    with _session(settings, session) as s:
        if not fields:
            found = s.get(PipelineRun, run_id) is not None
        else:
            found = s.execute(update(PipelineRun).where(PipelineRun.id == run_id).values(**fields)
                              .execution_options(synchronize_session=False)).rowcount > 0
        if not found:
            raise NotFoundError(f"cannot update run '{run_id}': there is no such run in the metadata store at "
                                f"{_where(s)}")


def save_step(run_id: str, name: str, *, settings: Settings | None = None, session: Session | None = None,
              **fields: Any) -> None:
    """Insert or update the step ``name`` of a run; the first save must give ``kind`` and ``position``."""
    _check_fields(fields, _STEP_FIELDS, "step")
    _check_value(fields, "state", STEP_STATES)
    with _session(settings, session) as s:
        if fields:
            changed = s.execute(update(StepRun).where(StepRun.run_id == run_id, StepRun.name == name)
                                .values(**fields).execution_options(synchronize_session=False)).rowcount
            if changed:
                return
        elif s.scalar(select(StepRun.id).where(StepRun.run_id == run_id, StepRun.name == name)) is not None:
            return
        if s.get(PipelineRun, run_id) is None:
            raise NotFoundError(f"cannot save step '{name}': there is no run '{run_id}' in the metadata store at "
                                f"{_where(s)}")
        missing = sorted({"kind", "position"} - set(fields))
        if missing:
            raise TypeError(f"the first save of step '{name}' must give {', '.join(missing)}")
        s.add(StepRun(run_id=run_id, name=name, **{"state": "pending", "cache_hit": False, "attempts": 0,
                                                    "outputs": {}, **fields}))
        s.flush()


def add_steps(run_id: str, steps: list[dict[str, Any]], *, settings: Settings | None = None,
              session: Session | None = None) -> None:
    """Insert the steps of a run that has none yet, in one statement; each gives ``name``, ``kind`` and
    ``position`` (the other fields as :func:`save_step` takes them)."""
    for fields in steps:
        _check_fields({k: v for k, v in fields.items() if k != "name"}, _STEP_FIELDS, "step")
        _check_value(fields, "state", STEP_STATES)
        missing = sorted({"name", "kind", "position"} - set(fields))
        if missing:
            raise TypeError(f"a new step must give {', '.join(missing)}")
    if not steps:
        return
    with _session(settings, session) as s:
        if s.get(PipelineRun, run_id) is None:
            raise NotFoundError(f"cannot add steps: there is no run '{run_id}' in the metadata store at "
                                f"{_where(s)}")
        s.execute(insert(StepRun), [{"run_id": run_id, "state": "pending", "cache_hit": False, "attempts": 0,
                                     "outputs": {}, **fields} for fields in steps])


def get_run(run_id: str, *, settings: Settings | None = None, session: Session | None = None) -> RunRecord:
    """The run with this id, or with the one id that starts with it (at least 4 characters)."""
    with _session(settings, session) as s:
        query = select(PipelineRun).options(selectinload(PipelineRun.steps))
        row = s.scalar(query.where(PipelineRun.id == run_id))
        if row is None and len(run_id) >= MIN_PREFIX:
            matches = s.scalars(query.where(PipelineRun.id.startswith(run_id, autoescape=True))
                                .order_by(PipelineRun.id).limit(6)).all()
            if len(matches) > 1:
                shown = ", ".join(m.id for m in matches[:5]) + (", ..." if len(matches) > 5 else "")
                raise NotFoundError(f"run id prefix '{run_id}' is ambiguous: it matches {shown}",
                                    headline="ambiguous run id", hint="give more characters of the id")
            row = matches[0] if matches else None
        if row is None:
            raise _no_such_run(s, run_id)
        return _run_record(row, steps=True)


def list_runs(*, pipeline: str | None = None, limit: int = 20, settings: Settings | None = None,
              session: Session | None = None) -> list[RunRecord]:
    """The newest runs first, without their steps."""
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    with _session(settings, session) as s:
        query = select(PipelineRun).order_by(PipelineRun.created_at.desc(), PipelineRun.id.desc()).limit(limit)
        if pipeline is not None:
            query = query.where(PipelineRun.pipeline == pipeline)
        return [_run_record(row, steps=False) for row in s.scalars(query)]


RUN_SORT_KEYS = {"created_at": PipelineRun.created_at, "started_at": PipelineRun.started_at,
                 "finished_at": PipelineRun.finished_at, "pipeline": PipelineRun.pipeline,
                 "status": PipelineRun.status}


def page_runs(*, pipeline: str | None = None, status: str | None = None, model: str | None = None,
              team: str | None = None, since: datetime | None = None,
              sort: str = "created_at", descending: bool = True, offset: int = 0, limit: int = 50,
              settings: Settings | None = None) -> tuple[list[RunRecord], int]:
    """One page of runs (without their steps) and how many match in all; ``sort`` is one of :data:`RUN_SORT_KEYS`.

    ``status`` is the stored status (``running`` includes runs whose owner is gone, shown as ``interrupted``).
    ``team`` keeps the runs of the models the team owns (by pipeline or registered model name) and the runs
    admitted under its quota; ``since`` the runs created at or after that time.
    """
    if sort not in RUN_SORT_KEYS:
        raise ValueError(f"sort must be one of {', '.join(RUN_SORT_KEYS)}, got {sort!r}")
    conditions = []
    if pipeline is not None:
        conditions.append(PipelineRun.pipeline == pipeline)
    if status is not None:
        conditions.append(PipelineRun.status == status)
    if model is not None:
        conditions.append(PipelineRun.model_name == model)
    if team is not None:
        owned = select(ModelOwner.model).where(ModelOwner.team == team)
        admitted = select(RunAdmission.run_id).where(RunAdmission.team == team)
        conditions.append(or_(PipelineRun.pipeline.in_(owned), PipelineRun.model_name.in_(owned),
                              PipelineRun.id.in_(admitted)))
    if since is not None:
        conditions.append(PipelineRun.created_at >= since)
    column = RUN_SORT_KEYS[sort]
    order = (column.desc(), PipelineRun.id.desc()) if descending else (column.asc(), PipelineRun.id.asc())
    with session_scope(settings) as s:
        total = s.scalar(select(func.count()).select_from(PipelineRun).where(*conditions))
        rows = s.scalars(select(PipelineRun).where(*conditions).order_by(*order).offset(offset).limit(limit))
        return [_run_record(row, steps=False) for row in rows], int(total or 0)


def runs_with_tracking(tracking: str, *, settings: Settings | None = None,
                       session: Session | None = None) -> list[RunRecord]:
    """The finished runs whose result says ``tracking`` (``pending-sync``: logged while MLflow was out), oldest
    first, without their steps."""
    with _session(settings, session) as s:
        query = (select(PipelineRun).where(PipelineRun.result["tracking"].as_string() == tracking)
                 .order_by(PipelineRun.created_at, PipelineRun.id))
        return [_run_record(row, steps=False) for row in s.scalars(query)]


def latest_run_for_model(model_name: str, version: str | int, *, settings: Settings | None = None,
                         session: Session | None = None) -> RunRecord | None:
    """The newest run that registered this model version, with its steps."""
    with _session(settings, session) as s:
        row = s.scalar(select(PipelineRun).options(selectinload(PipelineRun.steps))
                       .where(PipelineRun.model_name == model_name, PipelineRun.model_version == str(version))
                       .order_by(PipelineRun.created_at.desc(), PipelineRun.id.desc()).limit(1))
        return None if row is None else _run_record(row, steps=True)


def delete_run(run_id: str, *, settings: Settings | None = None, session: Session | None = None) -> None:
    with _session(settings, session) as s:
        if s.execute(delete(PipelineRun).where(PipelineRun.id == run_id)).rowcount == 0:
            raise _no_such_run(s, run_id)


def record_artifact(digest: str, format: str, size_bytes: int, meta: dict[str, Any], *,
                    settings: Settings | None = None, session: Session | None = None) -> None:
    """Record an artifact once; recording the same digest again, even concurrently, changes nothing."""
    values = {"digest": digest, "format": format, "size_bytes": size_bytes, "meta": meta, "created_at": utcnow()}
    with _session(settings, session) as s:
        _upsert(s, Artifact, values, keys=("digest",), replace=())


def get_artifact(digest: str, *, settings: Settings | None = None,
                 session: Session | None = None) -> ArtifactRecord | None:
    with _session(settings, session) as s:
        row = s.get(Artifact, digest)
        if row is None:
            return None
        return ArtifactRecord(digest=row.digest, format=row.format, size_bytes=row.size_bytes,
                              created_at=row.created_at, meta=row.meta)


def cache_get(cache_key: str, *, settings: Settings | None = None,
              session: Session | None = None) -> CacheRecord | None:
    with _session(settings, session) as s:
        row = s.get(CacheEntry, cache_key)
        if row is None:
            return None
        return CacheRecord(cache_key=row.cache_key, step_kind=row.step_kind, outputs=row.outputs,
                           run_id=row.run_id, created_at=row.created_at, details=row.details)


def cache_put(cache_key: str, *, step_kind: str, outputs: dict[str, Any], run_id: str,
              details: dict[str, Any] | None = None, settings: Settings | None = None,
              session: Session | None = None) -> None:
    """Insert or replace the cache entry; the last writer wins."""
    values = {"cache_key": cache_key, "step_kind": step_kind, "outputs": outputs, "run_id": run_id,
              "details": details, "created_at": utcnow()}
    with _session(settings, session) as s:
        _upsert(s, CacheEntry, values, keys=("cache_key",),
                replace=("step_kind", "outputs", "run_id", "details", "created_at"))


@contextlib.contextmanager
def _session(settings: Settings | None, session: Session | None) -> Iterator[Session]:
    if session is not None:
        yield session
        return
    with session_scope(settings) as own:
        yield own


def _upsert(session: Session, model: type, values: dict[str, Any], *, keys: tuple[str, ...],
            replace: tuple[str, ...]) -> None:
    dialect = session.get_bind().dialect.name
    if dialect in ("postgresql", "sqlite"):
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        statement = insert(model).values(**values)
        if replace:
            statement = statement.on_conflict_do_update(
                index_elements=list(keys), set_={name: statement.excluded[name] for name in replace})
        else:
            statement = statement.on_conflict_do_nothing(index_elements=list(keys))
        session.execute(statement)
        return
    _portable_upsert(session, model, values, keys=keys, replace=replace)


def _portable_upsert(session: Session, model: type, values: dict[str, Any], *, keys: tuple[str, ...],
                     replace: tuple[str, ...]) -> None:
    identity = tuple(values[k] for k in keys)
    for _ in range(2):
        row = session.get(model, identity if len(identity) > 1 else identity[0])
        if row is not None:
            for name in replace:
                setattr(row, name, values[name])
            session.flush()
            return
        try:
            with session.begin_nested():
                session.add(model(**values))
        except IntegrityError:
            continue  # inserted concurrently: the next pass finds it
        return


def _check_fields(fields: dict[str, Any], allowed: frozenset[str], what: str) -> None:
    unknown = sorted(set(fields) - allowed)
    if unknown:
        raise TypeError(f"not {what} fields: {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}")


def _check_value(fields: dict[str, Any], name: str, allowed: tuple[str, ...]) -> None:
    if name in fields and fields[name] not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(allowed)}, got {fields[name]!r}")


def _where(session: Session) -> str:
    return masked(session.get_bind().url)


def _no_such_run(session: Session, run_id: str) -> NotFoundError:
    recent = session.execute(select(PipelineRun.id, PipelineRun.pipeline, PipelineRun.status)
                             .order_by(PipelineRun.created_at.desc(), PipelineRun.id.desc()).limit(5)).all()
    if recent:
        listed = "; the most recent are " + ", ".join(f"{i} ({p}, {st})" for i, p, st in recent)
    else:
        listed = "; it holds no runs yet"
    short = f" (a prefix needs at least {MIN_PREFIX} characters)" if len(run_id) < MIN_PREFIX else ""
    return NotFoundError(f"there is no run '{run_id}'{short} in the metadata store at {_where(session)}{listed}. "
                         "`shipyard runs list` shows all runs",
                         hint="check SHIPYARD_HOME / SHIPYARD_DATABASE_URL if you expected the run here")


def _step_record(row: StepRun) -> StepRecord:
    return StepRecord(**{name: getattr(row, name) for name in StepRecord.__dataclass_fields__})


def _run_record(row: PipelineRun, *, steps: bool) -> RunRecord:
    values = {name: getattr(row, name) for name in RunRecord.__dataclass_fields__ if name != "steps"}
    return RunRecord(**values, steps=[_step_record(s) for s in row.steps] if steps else [])
