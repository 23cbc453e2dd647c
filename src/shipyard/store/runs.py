"""Repository functions for runs, steps, artifacts and the step cache.

They are SQLAlchemy Core statements on the store's tables, so the ORM is not loaded. Each opens its own
short transaction unless a ``connection`` (from :func:`~shipyard.store.db.connection_scope`) is passed, and
returns frozen records.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Table, delete, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from shipyard.config import Settings
from shipyard.errors import NotFoundError, RefusedError
from shipyard.store.db import connection_scope, masked
from shipyard.store.leases import Holder
from shipyard.store.tables import (RUN_STATUSES, STEP_STATES, artifacts, cache_entries, model_owners, pipeline_runs,
                                   run_admissions, step_runs, utcnow)

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
               connection: Connection | None = None) -> None:
    """A new pending run; with ``owner``, held by it for ``lease_s`` seconds from now."""
    lease: dict[str, Any] = {}
    if owner is not None:
        now = utcnow()
        lease = {"owner": owner, "heartbeat_at": now, "lease_expires_at": now + timedelta(seconds=lease_s)}
    with _connection(settings, connection) as c:
        if _run_exists(c, run_id):
            raise RefusedError(f"a run with id '{run_id}' already exists; resume it or start a new run")
        c.execute(insert(pipeline_runs).values(id=run_id, pipeline=pipeline, spec_path=spec_path, spec_text=spec_text,
                                               spec_digest=spec_digest, status="pending", options=options,
                                               started_by=started_by, **lease))


def update_run(run_id: str, *, settings: Settings | None = None, connection: Connection | None = None,
               **fields: Any) -> None:
    _check_fields(fields, _RUN_FIELDS, "run")
    _check_value(fields, "status", RUN_STATUSES)
    with _connection(settings, connection) as c:
        if not fields:
            found = _run_exists(c, run_id)
        else:
            found = c.execute(update(pipeline_runs).where(pipeline_runs.c.id == run_id).values(**fields)).rowcount > 0
        if not found:
            raise NotFoundError(f"cannot update run '{run_id}': there is no such run in the metadata store at "
                                f"{_where(c)}")


def save_step(run_id: str, name: str, *, settings: Settings | None = None, connection: Connection | None = None,
              **fields: Any) -> None:
    """Insert or update the step ``name`` of a run; the first save must give ``kind`` and ``position``."""
    _check_fields(fields, _STEP_FIELDS, "step")
    _check_value(fields, "state", STEP_STATES)
    this_step = (step_runs.c.run_id == run_id, step_runs.c.name == name)
    with _connection(settings, connection) as c:
        if fields:
            if c.execute(update(step_runs).where(*this_step).values(**fields)).rowcount:
                return
        elif c.scalar(select(step_runs.c.id).where(*this_step)) is not None:
            return
        if not _run_exists(c, run_id):
            raise NotFoundError(f"cannot save step '{name}': there is no run '{run_id}' in the metadata store at "
                                f"{_where(c)}")
        missing = sorted({"kind", "position"} - set(fields))
        if missing:
            raise TypeError(f"the first save of step '{name}' must give {', '.join(missing)}")
        c.execute(insert(step_runs).values(run_id=run_id, name=name, **{
            "state": "pending", "cache_hit": False, "attempts": 0, "outputs": {}, **fields}))


def add_steps(run_id: str, steps: list[dict[str, Any]], *, settings: Settings | None = None,
              connection: Connection | None = None) -> None:
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
    with _connection(settings, connection) as c:
        if not _run_exists(c, run_id):
            raise NotFoundError(f"cannot add steps: there is no run '{run_id}' in the metadata store at "
                                f"{_where(c)}")
        c.execute(insert(step_runs), [{**_NEW_STEP, "run_id": run_id, **fields} for fields in steps])


_NEW_STEP = {"cache_key": None, "state": "pending", "cache_hit": False, "attempts": 0, "started_at": None,
             "finished_at": None, "duration_s": None, "error": None, "outputs": {}, "details": None}
"""Every column of a new step, so that the steps of one insert share its parameters whatever each gives."""


def get_run(run_id: str, *, settings: Settings | None = None, connection: Connection | None = None) -> RunRecord:
    """The run with this id, or with the one id that starts with it (at least 4 characters)."""
    record = _read_run(run_id, settings, connection)
    if connection is None and record.shown_status != record.status:
        # its process was found gone after the read: it may have recorded the run's end in between, which a
        # fresh read (a new snapshot) sees; a run still active then was truly interrupted
        record = _read_run(record.id, settings, None)
    return record


def _read_run(run_id: str, settings: Settings | None, connection: Connection | None) -> RunRecord:
    with _connection(settings, connection) as c:
        row = c.execute(select(pipeline_runs).where(pipeline_runs.c.id == run_id)).first()
        if row is None and len(run_id) >= MIN_PREFIX:
            matches = c.execute(select(pipeline_runs).where(pipeline_runs.c.id.startswith(run_id, autoescape=True))
                                .order_by(pipeline_runs.c.id).limit(6)).all()
            if len(matches) > 1:
                shown = ", ".join(m.id for m in matches[:5]) + (", ..." if len(matches) > 5 else "")
                raise NotFoundError(f"run id prefix '{run_id}' is ambiguous: it matches {shown}",
                                    headline="ambiguous run id", hint="give more characters of the id")
            row = matches[0] if matches else None
        if row is None:
            raise _no_such_run(c, run_id)
        return _run_record(row, steps=_steps_of(c, row.id))


def list_runs(*, pipeline: str | None = None, limit: int = 20, settings: Settings | None = None,
              connection: Connection | None = None) -> list[RunRecord]:
    """The newest runs first, without their steps."""
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    with _connection(settings, connection) as c:
        query = (select(pipeline_runs).order_by(pipeline_runs.c.created_at.desc(), pipeline_runs.c.id.desc())
                 .limit(limit))
        if pipeline is not None:
            query = query.where(pipeline_runs.c.pipeline == pipeline)
        return [_run_record(row) for row in c.execute(query)]


RUN_SORT_KEYS = {"created_at": pipeline_runs.c.created_at, "started_at": pipeline_runs.c.started_at,
                 "finished_at": pipeline_runs.c.finished_at, "pipeline": pipeline_runs.c.pipeline,
                 "status": pipeline_runs.c.status}


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
    runs = pipeline_runs.c
    conditions = []
    if pipeline is not None:
        conditions.append(runs.pipeline == pipeline)
    if status is not None:
        conditions.append(runs.status == status)
    if model is not None:
        conditions.append(runs.model_name == model)
    if team is not None:
        owned = select(model_owners.c.model).where(model_owners.c.team == team)
        admitted = select(run_admissions.c.run_id).where(run_admissions.c.team == team)
        conditions.append(or_(runs.pipeline.in_(owned), runs.model_name.in_(owned), runs.id.in_(admitted)))
    if since is not None:
        conditions.append(runs.created_at >= since)
    column = RUN_SORT_KEYS[sort]
    order = (column.desc(), runs.id.desc()) if descending else (column.asc(), runs.id.asc())
    with connection_scope(settings) as c:
        total = c.scalar(select(func.count()).select_from(pipeline_runs).where(*conditions))
        rows = c.execute(select(pipeline_runs).where(*conditions).order_by(*order).offset(offset).limit(limit))
        return [_run_record(row) for row in rows], int(total or 0)


def runs_with_tracking(tracking: str, *, settings: Settings | None = None,
                       connection: Connection | None = None) -> list[RunRecord]:
    """The finished runs whose result says ``tracking`` (``pending-sync``: logged while MLflow was out), oldest
    first, without their steps."""
    with _connection(settings, connection) as c:
        query = (select(pipeline_runs).where(pipeline_runs.c.result["tracking"].as_string() == tracking)
                 .order_by(pipeline_runs.c.created_at, pipeline_runs.c.id))
        return [_run_record(row) for row in c.execute(query)]


def latest_run_for_model(model_name: str, version: str | int, *, settings: Settings | None = None,
                         connection: Connection | None = None) -> RunRecord | None:
    """The newest run that registered this model version, with its steps."""
    with _connection(settings, connection) as c:
        row = c.execute(select(pipeline_runs)
                        .where(pipeline_runs.c.model_name == model_name,
                               pipeline_runs.c.model_version == str(version))
                        .order_by(pipeline_runs.c.created_at.desc(), pipeline_runs.c.id.desc()).limit(1)).first()
        return None if row is None else _run_record(row, steps=_steps_of(c, row.id))


def delete_run(run_id: str, *, settings: Settings | None = None, connection: Connection | None = None) -> None:
    with _connection(settings, connection) as c:
        if c.execute(delete(pipeline_runs).where(pipeline_runs.c.id == run_id)).rowcount == 0:
            raise _no_such_run(c, run_id)


def record_artifact(digest: str, format: str, size_bytes: int, meta: dict[str, Any], *,
                    settings: Settings | None = None, connection: Connection | None = None) -> None:
    """Record an artifact once; recording the same digest again, even concurrently, changes nothing."""
    values = {"digest": digest, "format": format, "size_bytes": size_bytes, "meta": meta, "created_at": utcnow()}
    with _connection(settings, connection) as c:
        _upsert(c, artifacts, values, keys=("digest",), replace=())


def get_artifact(digest: str, *, settings: Settings | None = None,
                 connection: Connection | None = None) -> ArtifactRecord | None:
    with _connection(settings, connection) as c:
        row = c.execute(select(artifacts).where(artifacts.c.digest == digest)).first()
        if row is None:
            return None
        return ArtifactRecord(digest=row.digest, format=row.format, size_bytes=row.size_bytes,
                              created_at=row.created_at, meta=row.meta)


def cache_get(cache_key: str, *, settings: Settings | None = None,
              connection: Connection | None = None) -> CacheRecord | None:
    with _connection(settings, connection) as c:
        row = c.execute(select(cache_entries).where(cache_entries.c.cache_key == cache_key)).first()
        if row is None:
            return None
        return CacheRecord(cache_key=row.cache_key, step_kind=row.step_kind, outputs=row.outputs,
                           run_id=row.run_id, created_at=row.created_at, details=row.details)


def cache_put(cache_key: str, *, step_kind: str, outputs: dict[str, Any], run_id: str,
              details: dict[str, Any] | None = None, settings: Settings | None = None,
              connection: Connection | None = None) -> None:
    """Insert or replace the cache entry; the last writer wins."""
    values = {"cache_key": cache_key, "step_kind": step_kind, "outputs": outputs, "run_id": run_id,
              "details": details, "created_at": utcnow()}
    with _connection(settings, connection) as c:
        _upsert(c, cache_entries, values, keys=("cache_key",),
                replace=("step_kind", "outputs", "run_id", "details", "created_at"))


@contextlib.contextmanager
def _connection(settings: Settings | None, connection: Connection | None) -> Iterator[Connection]:
    if connection is not None:
        yield connection
        return
    with connection_scope(settings) as own:
        yield own


def _run_exists(connection: Connection, run_id: str) -> bool:
    return connection.scalar(select(pipeline_runs.c.id).where(pipeline_runs.c.id == run_id)) is not None


def _steps_of(connection: Connection, run_id: str) -> list[Any]:
    return connection.execute(select(step_runs).where(step_runs.c.run_id == run_id)
                              .order_by(step_runs.c.position)).all()


def _upsert(connection: Connection, table: Table, values: dict[str, Any], *, keys: tuple[str, ...],
            replace: tuple[str, ...]) -> None:
    dialect = connection.dialect.name
    if dialect in ("postgresql", "sqlite"):
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        statement = insert(table).values(**values)
        if replace:
            statement = statement.on_conflict_do_update(
                index_elements=list(keys), set_={name: statement.excluded[name] for name in replace})
        else:
            statement = statement.on_conflict_do_nothing(index_elements=list(keys))
        connection.execute(statement)
        return
    _portable_upsert(connection, table, values, keys=keys, replace=replace)


def _portable_upsert(connection: Connection, table: Table, values: dict[str, Any], *, keys: tuple[str, ...],
                     replace: tuple[str, ...]) -> None:
    identity = [table.c[k] == values[k] for k in keys]
    for _ in range(2):
        if connection.scalar(select(func.count()).select_from(table).where(*identity)):
            if replace:
                connection.execute(update(table).where(*identity).values({name: values[name] for name in replace}))
            return
        try:
            with connection.begin_nested():
                connection.execute(insert(table).values(**values))
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


def _where(connection: Connection) -> str:
    return masked(connection.engine.url)


def _no_such_run(connection: Connection, run_id: str) -> NotFoundError:
    recent = connection.execute(select(pipeline_runs.c.id, pipeline_runs.c.pipeline, pipeline_runs.c.status)
                                .order_by(pipeline_runs.c.created_at.desc(), pipeline_runs.c.id.desc())
                                .limit(5)).all()
    if recent:
        listed = "; the most recent are " + ", ".join(f"{i} ({p}, {st})" for i, p, st in recent)
    else:
        listed = "; it holds no runs yet"
    short = f" (a prefix needs at least {MIN_PREFIX} characters)" if len(run_id) < MIN_PREFIX else ""
    return NotFoundError(f"there is no run '{run_id}'{short} in the metadata store at {_where(connection)}{listed}. "
                         "`shipyard runs list` shows all runs",
                         hint="check SHIPYARD_HOME / SHIPYARD_DATABASE_URL if you expected the run here")


def _step_record(row: Any) -> StepRecord:
    return StepRecord(**{name: getattr(row, name) for name in StepRecord.__dataclass_fields__})


def _run_record(row: Any, *, steps: list[Any] = ()) -> RunRecord:
    """The record of a ``pipeline_runs`` row, with the ``step_runs`` rows given (in order)."""
    values = {name: getattr(row, name) for name in RunRecord.__dataclass_fields__ if name != "steps"}
    return RunRecord(**values, steps=[_step_record(s) for s in steps])
